import type { Kysely, Selectable } from 'kysely';
import type { Database, TasksTable } from '../db/schema.js';
import { appendTimelineEvent, withIncidentLock } from '../timeline/repository.js';

export type TaskRow = Selectable<TasksTable>;

export const taskStates = ['open', 'done', 'not-doing'] as const;

export async function listTasks(db: Kysely<Database>, filter: { incidentId?: string; state?: string; owner?: string; limit: number }): Promise<TaskRow[]> {
  let query = db.selectFrom('tasks').selectAll();
  if (filter.incidentId) query = query.where('incident_id', '=', filter.incidentId);
  if (filter.state) query = query.where('state', '=', filter.state);
  if (filter.owner) query = query.where('owner', '=', filter.owner);
  return query.orderBy('due_at').orderBy('created_at').limit(filter.limit).execute();
}

export async function findTask(db: Kysely<Database>, id: string): Promise<TaskRow | undefined> {
  return db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Marks a task done once, recording who did it; completing it again changes nothing. */
export async function completeTask(db: Kysely<Database>, task: TaskRow, by: { actor: string; at: string; note?: string }): Promise<TaskRow> {
  return withIncidentLock(db, task.incident_id, async (trx) => {
    const current = await trx.selectFrom('tasks').selectAll().where('id', '=', task.id).executeTakeFirstOrThrow();
    if (current.state === 'done') return current;
    const done = await trx
      .updateTable('tasks')
      .set({ state: 'done', completed_at: by.at, reason: by.note ?? null, updated_at: new Date() })
      .where('id', '=', task.id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await appendTimelineEvent(trx, {
      incidentId: task.incident_id,
      kind: 'task.completed',
      actor: by.actor,
      occurredAt: new Date(by.at),
      data: { taskId: task.id, title: task.title, ...(by.note ? { note: by.note } : {}) },
      idempotencyKey: `task:${task.id}:completed`,
    });
    return done;
  });
}
