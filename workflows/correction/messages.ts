// The correction workflow's messages, shared by the workflow and its client. Updates are for human decisions
// that need an answer (validated, and refused with a reason); signals for facts; queries for live state.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AuthorityRule, Person } from '../../services/correction/authority.js';
import type { CorrectionSnapshot, DownstreamStatus, ProposedCorrection } from '../../services/correction/schema.js';
import type { CorrectionState } from '../../services/correction/states.js';
import type { DownstreamConsumerPlan, EnforcementPlan } from '../../services/incident/plan.js';
import type { CustomerNoticeContext } from '../../services/notification/templates.js';
import type { ChatVia } from '../../services/chat/via.js';

export type { CorrectionState };
export { openCorrectionStates } from '../../services/correction/states.js';

export interface CorrectionStart extends ProposedCorrection {
  /** Its incident's search attributes are registered: it carries CorrexIncidentId, system and severity (absent before 2026-12-02). */
  indexed?: boolean;
  incidentWorkflowId: string;
  incidentTitle: string;
  rule: AuthorityRule;
  people: Person[];
  enforcement: EnforcementPlan;
  commander: string | undefined;
  /** Downstream consumers this kind of correction interrupts: notified, and their fallbacks switched. */
  consumers: DownstreamConsumerPlan[];
  fallbackSecretEnv: string | undefined;
  /** What customer notices say beyond the correction (absent in runs started before customer notices had their own text). */
  customers?: Omit<CustomerNoticeContext, 'fallbackSwitch'> & { message: string | undefined };
  /**
   * A break-glass correction its incident sends to the enforcer itself, in the workflow task that accepts
   * the proposal: the correction waits for `incidentAppliedSignal`, then verifies (or applies, if the
   * incident's attempt failed). Absent in runs from before, which apply themselves.
   */
  appliedByIncident?: boolean;
}

/** The incident's one attempt at applying a break-glass correction ended: whether the enforcer took it. */
export const incidentAppliedSignal = defineSignal<[{ applied: boolean; error?: string }]>('incidentApplied');

/** The incident closed: a correction stops paging about downstream failures (they stay on record). */
export const incidentClosedSignal = defineSignal<[{ at: string }]>('incidentClosed');

/** The workflow's live state; its shape is the API's (services/correction/schema.ts), which checks what it sends. */
export type { CorrectionSnapshot, DownstreamStatus };

export interface CorrectionDecision {
  actor: string;
  at: string;
  decision: 'approve' | 'reject';
  rationale: string;
  /** Sent from a chat room: recorded with the vote on the timeline. */
  via?: ChatVia;
}
export const correctionStateQuery = defineQuery<CorrectionSnapshot>('correctionState');
export const decideCorrectionUpdate = defineUpdate<CorrectionSnapshot, [CorrectionDecision]>('decideCorrection');
export interface LiftRequest {
  /** Whose vote met the lift rule's quorum (or `system:authority` for a break-glass correction not ratified). */
  actor: string;
  at: string;
  rationale: string;
  /** Every vote the lift took, the deciding one last (absent from incidents from before lifts took a quorum). */
  votes?: { actor: string; role: string; rationale: string; at: string }[];
}
/** The incident, having checked the authority and the restoration criteria, tells the correction to come off. */
export const liftRequestedSignal = defineSignal<[LiftRequest]>('liftRequested');
