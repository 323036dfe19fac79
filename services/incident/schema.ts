import { z } from 'zod';
import { correctionKinds } from '../correction/kinds.js';
import { correctionStates } from '../correction/states.js';
import { Instant, InstantInput } from '../instant.js';
import { escalationStates, type EscalationProgress } from '../escalation/states.js';
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
  /** The organisation knew before this trigger: regulator clocks that run from awareness run from then. */
  awareSince: z
    .strictObject({
      at: InstantInput.describe('When the organisation became aware (not in the future)'),
      reason: z.string().trim().min(1, 'say how that moment is known').max(2000),
    })
    .optional()
    .describe('Awareness earlier than the trigger, with how it is known; also settable later (POST /v1/incidents/{id}/awareness)'),
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
  /** The organisation became aware before the trigger (absent before 2026-12-02). */
  awareness?: { at: string; by: string; reason: string };
  /** A rehearsal: dry-run enforcement, mail to the outbox only, no regulator clocks, kept out of metrics. */
  drill?: boolean;
}

export interface IncidentCause {
  triggerId: string;
  groupKey: string;
  signalIds: string[];
  monitorWorkflowId: string;
}

/** The incident workflow's live state (its query), as the API and the CLI show it. */
export const IncidentSnapshot = z.strictObject({
  incidentId: z.uuid(),
  systemId: z.string(),
  dedupKey: z.string(),
  title: z.string(),
  severity: z.string(),
  state: IncidentState,
  openedAt: Instant,
  openedBy: z.string(),
  runbookVersion: z.string().describe('The runbook version this incident runs under, fixed at its start'),
  commander: z.string().optional().describe('The first person to acknowledge leads the incident (and may use break-glass)'),
  joinedTriggers: z.number().int().describe('Each trigger after the first that joined this incident'),
  corrections: z.array(
    z.strictObject({
      id: z.uuid(),
      workflowId: z.string(),
      kind: z.enum(correctionKinds),
      severity: z.string(),
      state: z.enum(correctionStates),
      breakGlass: z.boolean(),
    }),
  ),
  classification: z.array(z.string()).describe('Incident classes (death, critical-infrastructure…), which decide the regulator regimes that apply'),
  regulatoryClocks: z.array(z.strictObject({ regimeId: z.string(), workflowId: z.string() })),
  awareness: z
    .strictObject({ at: Instant, by: z.string(), reason: z.string() })
    .optional()
    .describe('When the organisation became aware, set earlier than the opening by this person for this reason: clocks that run from awareness run from it'),
  reviewWorkflowId: z.string().optional().describe('The after-action review, once the incident has been resolved'),
  escalation: z
    .strictObject({
      state: z.enum(escalationStates),
      stoppedBy: z.string().optional().describe('Who stopped the pages: whoever acknowledged, or system:monitor when its source did'),
      pagesSent: z.number().int().describe('Pages sent by the escalation so far (hand-off briefings not counted)'),
    })
    .optional()
    .describe('Whether the escalation still pages; absent when the runbook pages nobody, and for incidents opened before 2026-12-04') satisfies z.ZodType<
    EscalationProgress | undefined
  >,
});
export type IncidentSnapshot = z.infer<typeof IncidentSnapshot>;

/** An incident as recorded (`GET /v1/incidents`). */
export const IncidentView = z.strictObject({
  id: z.uuid(),
  systemId: z.string(),
  title: z.string(),
  severity: z.string(),
  state: IncidentState,
  dedupKey: z.string(),
  commander: z.string().nullable(),
  classification: z.array(z.string()),
  runbookVersion: z.string().nullable(),
  openedBy: z.string(),
  openedAt: Instant,
  acknowledgedAt: Instant.nullable(),
  mitigatedAt: Instant.nullable(),
  resolvedAt: Instant.nullable(),
  closedAt: Instant.nullable(),
});
export type IncidentView = z.infer<typeof IncidentView>;

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

/** The organisation became aware before the incident was opened in Correx: when, and why that moment. */
export interface AwarenessSetting {
  actor: string;
  at: string;
  awareSince: string;
  reason: string;
}

/** A person's action on an incident: who and when (the caller's clock), and why. */
export interface IncidentAction {
  actor: string;
  at: string;
  reason?: string;
}
