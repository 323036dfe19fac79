// The correction workflow's messages, shared by the workflow and its client. Updates are for human decisions
// that need an answer (validated, and refused with a reason); signals for facts; queries for live state.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AuthorityRule, Person, Vote } from '../../services/correction/authority.js';
import type { CorrectionKind, ProposedCorrection } from '../../services/correction/schema.js';
import type { CorrectionState } from '../../services/correction/states.js';
import type { DownstreamConsumerPlan, EnforcementPlan } from '../../services/incident/plan.js';

export type { CorrectionState };
export { openCorrectionStates } from '../../services/correction/states.js';

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
