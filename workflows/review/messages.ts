// The review workflow's messages, shared by the workflow and its client. Updates are for human decisions
// that need an answer (validated, and refused with a reason); signals for facts; queries for live state.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Person } from '../../services/correction/authority.js';
import type { ReviewTask } from '../../services/task/repository.js';
import type { ReviewRecord, ReviewSnapshot, ReviewTaskSnapshot } from '../../services/review/schema.js';

/** A follow-up task as the review creates it. */
export type ReviewTaskPlan = ReviewTask;

export interface ReviewStart {
  /** Its incident's search attributes are registered: it carries CorrexIncidentId, system and severity (absent before 2026-12-02). */
  indexed?: boolean;
  incident: { incidentId: string; systemId: string; title: string; severity: string };
  incidentWorkflowId: string;
  tasks: ReviewTaskPlan[];
  people: Person[];
  /** Role → the role its overdue work escalates to. */
  managers: Record<string, string>;
  /** Roles whose holders may sign the review off (the decision authority at the incident's severity). */
  signOffRoles: string[];
  /** Who leads the incident: they may complete, reassign or drop any of its tasks (absent in runs from before). */
  commander?: string;
  /** A rehearsal: its mail goes to the outbox only. */
  drill: boolean;
}

export type { ReviewSnapshot, ReviewTaskSnapshot };

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
/** The incident ran corrections of another kind after the review started (it reopened): their authority signs off now. */
export const signOffRolesSignal = defineSignal<[{ signOffRoles: string[] }]>('signOffRoles');
/** The review tells its incident it was signed off, which closes the incident. */
export const reviewSignedOffSignal = defineSignal<[{ actor: string; at: string }]>('reviewSignedOff');
