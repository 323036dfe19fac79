import { z } from 'zod';
import type { CorrectionKind } from '../correction/schema.js';
import type { CorrectionState } from '../correction/states.js';
import { incidentStates } from './states.js';

export { incidentStates };
export const IncidentState = z.enum(incidentStates);
export type IncidentState = z.infer<typeof IncidentState>;
/** Every state but closed: a resolved incident still has its review, tasks and reports to finish. */
export const openIncidentStates: readonly IncidentState[] = incidentStates.filter((state) => state !== 'closed');

/** A system id as runbooks name it: lowercase letters, digits and dashes. */
export const SystemId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lowercase letters, digits and dashes (at most 63), e.g. assistant-prod');

/** Severity names are defined by each runbook (SEV1 … SEV4 by convention). */
export const Severity = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be a severity name such as SEV2');

export const DedupKey = z.string().min(1).max(255, 'must be at most 255 characters');

/** What a responder or an alert gives to open an incident. */
export const IncidentTrigger = z.strictObject({
  systemId: SystemId,
  title: z.string().trim().min(1, 'must not be empty').max(500, 'must be at most 500 characters'),
  severity: Severity,
  /** Repeated triggers with the same key join the open incident; without one, each trigger opens a new incident. */
  dedupKey: DedupKey.optional(),
  summary: z.string().max(10_000).optional(),
});
export type IncidentTrigger = z.infer<typeof IncidentTrigger>;

/** The incident workflow's start input: everything it must know, fixed when it starts. */
export interface IncidentStart {
  incidentId: string;
  systemId: string;
  dedupKey: string;
  title: string;
  severity: string;
  summary: string | undefined;
  openedBy: string;
  /** ISO 8601; the caller's clock, since workflow code must not read one. */
  openedAt: string;
  runbookVersion: string;
  /** Set when the monitor opened it: which trigger fired, on which signals. */
  cause?: IncidentCause;
  /** A rehearsal: dry-run enforcement, mail to the outbox only, no regulator clocks, kept out of metrics. */
  drill?: boolean;
}

export interface IncidentCause {
  triggerId: string;
  groupKey: string;
  signalIds: string[];
  monitorWorkflowId: string;
}

export interface IncidentSnapshot {
  incidentId: string;
  systemId: string;
  dedupKey: string;
  title: string;
  severity: string;
  state: IncidentState;
  openedAt: string;
  openedBy: string;
  /** The runbook version this incident runs under, fixed at its start. */
  runbookVersion: string;
  /** The first person to acknowledge leads the incident (and may use break-glass). */
  commander: string | undefined;
  /** Each trigger after the first that joined this incident. */
  joinedTriggers: number;
  corrections: { id: string; workflowId: string; kind: CorrectionKind; severity: string; state: CorrectionState; breakGlass: boolean }[];
  /** Incident classes (death, critical-infrastructure…), which decide the regulator regimes that apply. */
  classification: string[];
  regulatoryClocks: { regimeId: string; workflowId: string }[];
  /** The after-action review, once the incident has been resolved. */
  reviewWorkflowId: string | undefined;
}

/** Sent with every trigger (signal-with-start); `incidentId` is the id that trigger would have opened. */
export interface TriggerArrival {
  incidentId: string;
  at: string;
  by: string;
}

/** Responders set or revise the incident's classes, with the reason. */
export interface IncidentClassification {
  actor: string;
  at: string;
  classes: string[];
  reason: string;
}

/** A person's action on an incident: who and when (the caller's clock), and why. */
export interface IncidentAction {
  actor: string;
  at: string;
  reason?: string;
}
