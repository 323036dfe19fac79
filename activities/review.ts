import type { Kysely } from 'kysely';
import type { Database } from '../services/db/schema.js';
import { recordReview, recordReviewSignedOff } from '../services/review/repository.js';
import { recordTaskChange, recordTasksCreated, type ReviewTask, type TaskChange } from '../services/task/repository.js';
import type { ReviewRecord } from '../services/review/schema.js';

export interface ReviewActivityDependencies {
  db: Kysely<Database>;
}

export function createReviewActivities({ db }: ReviewActivityDependencies) {
  return {
    async recordTasksCreated(t: { incidentId: string; tasks: ReviewTask[]; actor: string }): Promise<Record<string, string>> {
      return recordTasksCreated(db, t.incidentId, t.tasks, t.actor);
    },
    async recordTaskChange(change: TaskChange): Promise<void> {
      await recordTaskChange(db, change);
    },
    async recordReview(r: { incidentId: string; actor: string; at: string; revision: number; review: ReviewRecord }): Promise<void> {
      await recordReview(db, r);
    },
    async recordReviewSignedOff(s: { incidentId: string; actor: string; role: string; at: string }): Promise<void> {
      await recordReviewSignedOff(db, s);
    },
  };
}
