import type { Client } from '@temporalio/client';
import {
  completeTaskUpdate,
  dropTaskUpdate,
  reassignTaskUpdate,
  reviewStateQuery,
  signOffReviewUpdate,
  submitReviewUpdate,
  type ReviewSnapshot,
  type TaskAction,
} from '../../workflows/review/messages.js';
import { refusalsAsErrors } from '../temporal/updates.js';
import type { ReviewRecord } from './schema.js';

/** How the API, the console and drills drive an after-action review: its tasks, its record, its sign-off. */
export class ReviewClient {
  constructor(private readonly client: Client) {}

  state(reviewWorkflowId: string): Promise<ReviewSnapshot> {
    return this.client.workflow.getHandle(reviewWorkflowId).query(reviewStateQuery);
  }

  completeTask(reviewWorkflowId: string, action: TaskAction & { note?: string }): Promise<ReviewSnapshot> {
    return refusalsAsErrors(() => this.client.workflow.getHandle(reviewWorkflowId).executeUpdate(completeTaskUpdate, { args: [action] }));
  }

  reassignTask(reviewWorkflowId: string, action: TaskAction & { to: string }): Promise<ReviewSnapshot> {
    return refusalsAsErrors(() => this.client.workflow.getHandle(reviewWorkflowId).executeUpdate(reassignTaskUpdate, { args: [action] }));
  }

  dropTask(reviewWorkflowId: string, action: TaskAction & { reason: string }): Promise<ReviewSnapshot> {
    return refusalsAsErrors(() => this.client.workflow.getHandle(reviewWorkflowId).executeUpdate(dropTaskUpdate, { args: [action] }));
  }

  submitReview(reviewWorkflowId: string, submission: { actor: string; at: string; review: ReviewRecord }): Promise<ReviewSnapshot> {
    return refusalsAsErrors(() => this.client.workflow.getHandle(reviewWorkflowId).executeUpdate(submitReviewUpdate, { args: [submission] }));
  }

  signOff(reviewWorkflowId: string, signOff: { actor: string; at: string }): Promise<ReviewSnapshot> {
    return refusalsAsErrors(() => this.client.workflow.getHandle(reviewWorkflowId).executeUpdate(signOffReviewUpdate, { args: [signOff] }));
  }
}
