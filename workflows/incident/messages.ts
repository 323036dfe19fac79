// The incident workflow's messages, shared by the workflow and its client. Updates are for human decisions
// that need an answer (validated, and refused with a reason); signals for facts; queries for live state.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { CorrectionKind, CorrectionScope } from '../../services/correction/schema.js';
import type { IncidentTransition } from '../../services/incident/repository.js';
import type { LiftProgress } from '../../services/incident/rules.js';
import type { AwarenessSetting, IncidentAction, IncidentClassification, IncidentSnapshot, TriggerArrival } from '../../services/incident/schema.js';
import type { CorrectionState } from '../correction/messages.js';
import type { ChatVia } from '../../services/chat/via.js';

export const incidentStateQuery = defineQuery<IncidentSnapshot>('incidentState');
/** Every trigger for this system and dedup key, the one that started the workflow included. */
export const triggerArrivedSignal = defineSignal<[TriggerArrival]>('triggerArrived');
/**
 * The same arrival as an Update, sent with the workflow's start (Update-with-Start): answered once the
 * incident is on record, so that whoever triggered it can act on its id at once.
 */
export const triggerUpdate = defineUpdate<IncidentSnapshot, [TriggerArrival]>('trigger');
/**
 * An acknowledgement; `via` when it was sent from a chat room (recorded on the timeline). With
 * `recordsItself`, the caller writes the acknowledgement's record (the answer's `transition`) before it
 * answers the person, so the incident answers once it has accepted it, instead of once its own activity
 * has written it; the incident confirms the record later (writing it if the caller died first).
 */
export type AcknowledgeAction = IncidentAction & {
  via?: ChatVia;
  recordsItself?: boolean;
  /** With `recordsItself`: the caller can signal the escalation itself (see AcknowledgeAnswer's `stopEscalation`). */
  stopsEscalation?: boolean;
};
/**
 * The incident once acknowledged; `transition` is the record to write when the action said `recordsItself`;
 * `stopEscalation`, the escalation workflow the caller is to send `escalationAcknowledged` (the incident
 * sends it too, once its next record confirms the caller's).
 */
export type AcknowledgeAnswer = IncidentSnapshot & { transition?: IncidentTransition; stopEscalation?: string };
export const acknowledgeUpdate = defineUpdate<AcknowledgeAnswer, [AcknowledgeAction]>('acknowledge');
export const resolveUpdate = defineUpdate<IncidentSnapshot, [IncidentAction]>('resolve');
export const closeUpdate = defineUpdate<IncidentSnapshot, [IncidentAction]>('close');
export const classifyUpdate = defineUpdate<IncidentSnapshot, [IncidentClassification]>('classify');
export const setAwarenessUpdate = defineUpdate<IncidentSnapshot, [AwarenessSetting]>('setAwareness');

export interface CorrectionProposal {
  actor: string;
  at: string;
  kind: CorrectionKind;
  scope: CorrectionScope;
  parameters: Record<string, unknown>;
  reason: string;
  /** The incident commander applies at once, to be ratified within the runbook's window. */
  breakGlass?: boolean;
  /** What customers are told, instead of the runbook's message for the kind. */
  customerMessage?: string;
}
export interface CorrectionLift {
  correctionId: string;
  actor: string;
  at: string;
  rationale: string;
  /** Evidence that each restoration criterion is met; required to lift a severe incident's last correction. */
  restoration?: { criterion: string; evidence: string }[];
}
/** The incident after a lift vote, with where the lift stands: decided, or which votes are still missing and who can give them. */
export type LiftAnswer = IncidentSnapshot & { lift: LiftProgress };
/**
 * A vote to lift a correction. Lifting goes through the incident, which alone knows whether this is its
 * last correction in force; it collects the votes and tells the correction to come off at the quorum.
 */
export const liftCorrectionUpdate = defineUpdate<LiftAnswer, [CorrectionLift]>('liftCorrection');
export const proposeCorrectionUpdate = defineUpdate<{ correctionId: string; workflowId: string }, [CorrectionProposal]>('proposeCorrection');
/** A correction child reports each state it enters to its incident. */
export const correctionChangedSignal = defineSignal<[{ correctionId: string; state: CorrectionState }]>('correctionChanged');
