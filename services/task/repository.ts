import type { Kysely, Selectable } from 'kysely';
import type { Database, TasksTable } from '../db/schema.js';

export type TaskRow = Selectable<TasksTable>;

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
