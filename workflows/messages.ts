// Every message Correx's workflows accept, shared by the workflows and the client. Updates are for
// human decisions that need an answer (validated, and refused with a reason); signals for facts.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AuthorityRule, Person, Vote } from '../services/correction/authority.js';
import type { CorrectionKind, CorrectionScope, ProposedCorrection } from '../services/correction/schema.js';
import type { MonitorPlan, Silence } from '../services/monitoring/matching.js';
import type { ReceivedSignal } from '../services/monitoring/signal.js';
import type { Regime } from '../services/regulatory/regime.js';
import type { DownstreamConsumerPlan, EnforcementPlan } from '../services/incident/plan.js';
import type { IncidentAction, IncidentClassification, IncidentSnapshot, TriggerArrival } from '../services/incident/schema.js';
import type { ReviewTask } from '../services/review/repository.js';
import type { ReviewRecord } from '../services/review/schema.js';

// ---- incident ----
export const incidentStateQuery = defineQuery<IncidentSnapshot>('incidentState');
/** Every trigger for this system and dedup key, the one that started the workflow included. */
export const triggerArrivedSignal = defineSignal<[TriggerArrival]>('triggerArrived');
export const acknowledgeUpdate = defineUpdate<IncidentSnapshot, [IncidentAction]>('acknowledge');
export const resolveUpdate = defineUpdate<IncidentSnapshot, [IncidentAction]>('resolve');
export const closeUpdate = defineUpdate<IncidentSnapshot, [IncidentAction]>('close');
export const classifyUpdate = defineUpdate<IncidentSnapshot, [IncidentClassification]>('classify');

export interface CorrectionProposal {
  actor: string;
  at: string;
  kind: CorrectionKind;
  scope: CorrectionScope;
  parameters: Record<string, unknown>;
  reason: string;
  /** The incident commander applies at once, to be ratified within the runbook's window. */
  breakGlass?: boolean;
}
export interface CorrectionLift {
  correctionId: string;
  actor: string;
  at: string;
  rationale: string;
  /** Evidence that each restoration criterion is met; required to lift a severe incident's last correction. */
  restoration?: { criterion: string; evidence: string }[];
}
/** Lifting goes through the incident, which alone knows whether this is its last correction in force. */
export const liftCorrectionUpdate = defineUpdate<IncidentSnapshot, [CorrectionLift]>('liftCorrection');
export const proposeCorrectionUpdate = defineUpdate<{ correctionId: string; workflowId: string }, [CorrectionProposal]>('proposeCorrection');
/** A correction child reports each state it enters to its incident. */
export const correctionChangedSignal = defineSignal<[{ correctionId: string; state: CorrectionState }]>('correctionChanged');

// ---- escalation ----
export const escalationAcknowledgedSignal = defineSignal<[{ actor: string }]>('escalationAcknowledged');

export interface EscalationStart {
  incidentId: string;
  systemId: string;
  title: string;
  severity: string;
  levels: { people: Person[]; ackTimeoutMs: number }[];
  repeat: number;
}

// ---- correction ----
export type CorrectionState =
  | 'proposed'
  | 'approved'
  | 'rejected'
  | 'expired'
  | 'applying'
  | 'awaiting-ratification'
  | 'active'
  | 'lifting'
  | 'lifted';

/** States in which a correction still needs a decision or is (about to be) in force. */
export const openCorrectionStates: CorrectionState[] = ['proposed', 'approved', 'applying', 'awaiting-ratification', 'active', 'lifting'];

export interface CorrectionStart extends ProposedCorrection {
  incidentWorkflowId: string;
  incidentTitle: string;
  rule: AuthorityRule;
  people: Person[];
  enforcement: EnforcementPlan;
  commander: string | undefined;
  /** Downstream consumers this kind of correction interrupts: notified, and their fallbacks switched. */
  consumers: DownstreamConsumerPlan[];
  fallbackSecretEnv: string | undefined;
}

export interface CorrectionSnapshot {
  id: string;
  kind: CorrectionKind;
  state: CorrectionState;
  breakGlass: boolean;
  proposedBy: string;
  rule: AuthorityRule;
  escalated: boolean;
  votes: Vote[];
  /** Enforcement attempts that failed (each surfaced on the timeline and paged). */
  failures: number;
}

export interface CorrectionDecision {
  actor: string;
  at: string;
  decision: 'approve' | 'reject';
  rationale: string;
}
export const correctionStateQuery = defineQuery<CorrectionSnapshot>('correctionState');
export const decideCorrectionUpdate = defineUpdate<CorrectionSnapshot, [CorrectionDecision]>('decideCorrection');
export interface LiftRequest {
  actor: string;
  at: string;
  rationale: string;
}
/** The incident, having checked the authority and the restoration criteria, tells the correction to come off. */
export const liftRequestedSignal = defineSignal<[LiftRequest]>('liftRequested');

// ---- regulatory clocks ----
/** What a regulator clock needs to know of its incident; the incident sends it again whenever it changes. */
export interface IncidentContext {
  classes: string[];
  /** When the current classification was made (the determination / classification moment). */
  classifiedAt: string | undefined;
  commander: string | undefined;
  resolvedAt: string | undefined;
  revision: number;
}
export const incidentContextSignal = defineSignal<[IncidentContext]>('incidentContext');

export interface RegulatoryClockStart {
  incident: { incidentId: string; systemId: string; title: string; severity: string };
  incidentWorkflowId: string;
  runbookVersion: string;
  regime: Regime;
  recipients: string[];
  approvers: Person[];
  people: Person[];
  reminders: number[];
  atRisk: number;
  awarenessAt: string;
  /** When the regime became applicable: its determination and classification moment. */
  applicableSince: string;
  context: IncidentContext;
}

export type ReportState = 'waiting' | 'drafted' | 'approved' | 'sent' | 'sent-late' | 'withdrawn';

export interface ClockSnapshot {
  clockId: string;
  report: string;
  occurrence: number;
  startAt: string | undefined;
  dueAt: string | undefined;
  state: ReportState;
  submittedAt: string | undefined;
  late: boolean;
}

export interface RegulatoryClockSnapshot {
  regimeId: string;
  regimeName: string;
  withdrawn: boolean;
  clocks: ClockSnapshot[];
}

export interface ReportApproval {
  actor: string;
  at: string;
  clockId: string;
  /** Fields compliance changed or completed. */
  edits?: Record<string, string>;
  /** Required once the deadline has passed: sent with the late report. */
  lateReason?: string;
}
export const regulatoryClockQuery = defineQuery<RegulatoryClockSnapshot>('regulatoryClock');
export const approveReportUpdate = defineUpdate<RegulatoryClockSnapshot, [ReportApproval]>('approveReport');

// ---- monitoring ----
export const signalReceivedSignal = defineSignal<[ReceivedSignal]>('signalReceived');
/** An incident the monitor opened was resolved or closed, so its group may open a new one. */
export const incidentEndedSignal = defineSignal<[{ groupKey: string; incidentId: string; at: string }]>('incidentEnded');
/** A re-fire within the flap window: the monitor re-opens the incident it resolved instead of opening another. */
export const reopenSignal = defineSignal<[{ reason: string; at: string }]>('reopen');
/** The sender acknowledged the problem (its own on-call took it): paging stops. */
export const monitorAcknowledgeSignal = defineSignal<[{ reason: string; at: string }]>('monitorAcknowledge');
/** The monitor resolves an incident it opened (a resolved signal, a heartbeat resumed). */
export const monitorResolveSignal = defineSignal<[{ reason: string; at: string }]>('monitorResolve');

export interface SilenceRequest {
  owner: string;
  reason: string;
  /** ISO 8601; the silence ends then. */
  endsAt: string;
  matchers: Record<string, string>;
  trigger?: string;
}
export const silenceUpdate = defineUpdate<Silence, [SilenceRequest]>('silence');

export interface OpenGroup {
  workflowId: string;
  incidentId: string;
  triggerId: string;
  /** Set when re-opened for flapping: news of its earlier resolution no longer applies. */
  reopenedAt?: string;
}

/** Everything the monitor carries across continue-as-new. */
export interface MonitorState {
  systemId: string;
  runbookVersion: string | undefined;
  plan: MonitorPlan | undefined;
  /** Recent matching signals per trigger group, inside the trigger's window. */
  windows: Record<string, { signalId: string; at: string }[]>;
  open: Record<string, OpenGroup>;
  /** Groups whose incident was resolved lately, for flap suppression. */
  ended: Record<string, OpenGroup & { at: string }>;
  /** How many incidents each group has opened (part of their dedup keys). */
  openings: Record<string, number>;
  silences: Silence[];
  suppressed: { signalId: string; silenceId: string; at: string }[];
  processed: number;
  /** Ids of the latest signals handled: a signal handed over twice (a sender's retry) counts once. */
  recent: string[];
  /** Ids of the Temporal Schedules running this system's evaluations. */
  schedules: string[];
  lastHeartbeatAt: string | undefined;
  runbookHistory: { version: string; at: string }[];
}

export interface MonitorStart {
  systemId: string;
  state?: MonitorState;
  /** Signals handled per run before continuing as new (history stays small). */
  continueAsNewAfter?: number;
}
export const monitorStateQuery = defineQuery<MonitorState>('monitorState');

// ---- after-action review ----
/** A follow-up task as the review creates it. */
export type ReviewTaskPlan = ReviewTask;

export interface ReviewStart {
  incident: { incidentId: string; systemId: string; title: string; severity: string };
  incidentWorkflowId: string;
  tasks: ReviewTaskPlan[];
  people: Person[];
  /** Role → the role its overdue work escalates to. */
  managers: Record<string, string>;
  /** Roles whose holders may sign the review off (the decision authority at the incident's severity). */
  signOffRoles: string[];
  /** A rehearsal: its mail goes to the outbox only. */
  drill: boolean;
}

export interface ReviewTaskSnapshot extends ReviewTaskPlan {
  taskId: string;
  state: 'open' | 'done' | 'not-doing';
  reminded: boolean;
  escalated: boolean;
}

export interface ReviewSnapshot {
  incidentId: string;
  tasks: ReviewTaskSnapshot[];
  review: { submittedBy: string; at: string; revision: number } | undefined;
  signedOff: { actor: string; role: string; at: string } | undefined;
  signOffRoles: string[];
}

export interface TaskAction {
  actor: string;
  at: string;
  taskId: string;
}
export const reviewStateQuery = defineQuery<ReviewSnapshot>('reviewState');
export const completeTaskUpdate = defineUpdate<ReviewSnapshot, [TaskAction & { note?: string }]>('completeTask');
export const reassignTaskUpdate = defineUpdate<ReviewSnapshot, [TaskAction & { to: string }]>('reassignTask');
/** Marked not-doing, with the reason. */
export const dropTaskUpdate = defineUpdate<ReviewSnapshot, [TaskAction & { reason: string }]>('dropTask');
export const submitReviewUpdate = defineUpdate<ReviewSnapshot, [{ actor: string; at: string; review: ReviewRecord }]>('submitReview');
export const signOffReviewUpdate = defineUpdate<ReviewSnapshot, [{ actor: string; at: string }]>('signOffReview');
/** The review tells its incident it was signed off, which closes the incident. */
export const reviewSignedOffSignal = defineSignal<[{ actor: string; at: string }]>('reviewSignedOff');

// ---- drills ----
export interface DrillStep {
  name: string;
  by: string | undefined;
  startedAt: string;
  ms: number | undefined;
  detail: string | undefined;
}
export interface DrillSnapshot {
  drillId: string;
  systemId: string;
  state: 'running' | 'completed' | 'failed';
  incidentId: string | undefined;
  steps: DrillStep[];
  failure: string | undefined;
}
export const drillStateQuery = defineQuery<DrillSnapshot>('drillState');
