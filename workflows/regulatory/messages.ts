// The regulatory workflow's messages, shared by the workflow and its client. Updates are for human decisions
// that need an answer (validated, and refused with a reason); signals for facts; queries for live state.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Person } from '../../services/correction/authority.js';
import type { ReportState } from '../../services/notification/kinds.js';
import type { Regime } from '../../services/regulatory/regime.js';
import type { ClockSnapshot, RegulatoryClockSnapshot } from '../../services/regulatory/schema.js';

/** What a regulator clock needs to know of its incident; the incident sends it again whenever it changes. */
export interface IncidentContext {
  classes: string[];
  /** When the current classification was made (the determination / classification moment). */
  classifiedAt: string | undefined;
  commander: string | undefined;
  resolvedAt: string | undefined;
  revision: number;
  /** When the organisation became aware, once someone has set it earlier than the opening (absent before 2026-12-02). */
  awareness?: { at: string; by: string; reason: string };
}
export const incidentContextSignal = defineSignal<[IncidentContext]>('incidentContext');

export interface RegulatoryClockStart {
  /** Its incident's search attributes are registered: it carries CorrexIncidentId, system and severity (absent before 2026-12-02). */
  indexed?: boolean;
  incident: { incidentId: string; systemId: string; title: string; severity: string };
  incidentWorkflowId: string;
  runbookVersion: string;
  regime: Regime;
  recipients: string[];
  /** Recipients of some clocks' reports instead of `recipients`, by clock id (absent before 2026-12-02). */
  clockRecipients?: Record<string, string[]>;
  approvers: Person[];
  people: Person[];
  reminders: number[];
  atRisk: number;
  awarenessAt: string;
  /** When the regime became applicable: its determination and classification moment. */
  applicableSince: string;
  context: IncidentContext;
}

export type { ReportState };

/** The clock's live state; its shape is the API's (services/regulatory/schema.ts), which checks what it sends. */
export type { ClockSnapshot, RegulatoryClockSnapshot };

export interface ReportApproval {
  actor: string;
  at: string;
  clockId: string;
  /** Fields compliance changed or completed. */
  edits?: Record<string, string>;
  /** Required once the deadline has passed: sent with the late report. */
  lateReason?: string;
}
/** A report made outside Correx (a portal, a phone call): its real time starts the clocks that chain from it. */
export interface SubmissionDeclaration {
  actor: string;
  at: string;
  clockId: string;
  /** When it was submitted. */
  submittedAt: string;
  /** What shows it was: a portal reference, a call log. */
  evidence: string;
}

export const regulatoryClockQuery = defineQuery<RegulatoryClockSnapshot>('regulatoryClock');
export const declareSubmissionUpdate = defineUpdate<RegulatoryClockSnapshot, [SubmissionDeclaration]>('declareSubmission');
export const approveReportUpdate = defineUpdate<RegulatoryClockSnapshot, [ReportApproval]>('approveReport');
