import type { Kysely, Selectable } from 'kysely';
import type { Database, TasksTable } from '../db/schema.js';
import { appendTimelineEvent, withIncidentLock } from '../timeline/repository.js';

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

/** An incident's tasks, soonest due first. */
export async function listIncidentTasks(db: Kysely<Database>, incidentId: string): Promise<TaskRow[]> {
  return db.selectFrom('tasks').selectAll().where('incident_id', '=', incidentId).orderBy('due_at').execute();
}

/** A person's open tasks, soonest due first, optionally of one incident. */
export async function openTasksOf(db: Kysely<Database>, owner: string, filter: { incidentId?: string } = {}): Promise<TaskRow[]> {
  let query = db.selectFrom('tasks').selectAll().where('owner', '=', owner).where('state', '=', 'open').orderBy('due_at');
  if (filter.incidentId) query = query.where('incident_id', '=', filter.incidentId);
  return query.execute();
}

export interface ReviewTask {
  /** The task's key within its incident: the template id, or `action-<n>` for a corrective action. */
  key: string;
  title: string;
  ownerRole: string;
  owner: string | undefined;
  dueAt: string;
  origin: 'template' | 'corrective-action';
}

const taskKey = (incidentId: string, key: string) => `${incidentId}:task:${key}`;

/** Creates the tasks once; their ids are what people act on. Returns each key's task id. */
export async function recordTasksCreated(db: Kysely<Database>, incidentId: string, tasks: ReviewTask[], actor: string): Promise<Record<string, string>> {
  return withIncidentLock(db, incidentId, async (trx) => {
    const ids: Record<string, string> = {};
    for (const t of tasks) {
      await trx
        .insertInto('tasks')
        .values({
          incident_id: incidentId,
          title: t.title,
          owner_role: t.ownerRole,
          owner: t.owner ?? null,
          state: 'open',
          due_at: t.dueAt,
          origin: t.origin,
          idempotency_key: taskKey(incidentId, t.key),
        })
        .onConflict((oc) => oc.column('idempotency_key').doNothing())
        .execute();
      const row = await trx.selectFrom('tasks').select('id').where('idempotency_key', '=', taskKey(incidentId, t.key)).executeTakeFirstOrThrow();
      ids[t.key] = row.id;
      await appendTimelineEvent(trx, {
        incidentId,
        kind: 'task.created',
        actor,
        occurredAt: new Date(),
        data: { taskId: row.id, key: t.key, title: t.title, ownerRole: t.ownerRole, owner: t.owner, dueAt: t.dueAt, origin: t.origin },
        idempotencyKey: `task:${t.key}:created`,
      });
    }
    return ids;
  });
}

export interface TaskChange {
  incidentId: string;
  taskId: string;
  key: string;
  kind: 'completed' | 'reassigned' | 'dropped' | 'reminded' | 'overdue_escalated';
  actor: string;
  at: string;
  /** The n-th change of this kind to this task (a task may be reassigned twice). */
  occurrence: number;
  data: Record<string, unknown>;
}

/** One change to a task: the row follows, and the timeline says who did it and why. */
export async function recordTaskChange(db: Kysely<Database>, c: TaskChange): Promise<void> {
  await withIncidentLock(db, c.incidentId, async (trx) => {
    const at = new Date(c.at);
    const set =
      c.kind === 'completed'
        ? { state: 'done', completed_at: at, reason: (c.data.note as string | undefined) ?? null }
        : c.kind === 'dropped'
          ? { state: 'not-doing', completed_at: at, reason: c.data.reason as string }
          : c.kind === 'reassigned'
            ? { owner: c.data.to as string }
            : c.kind === 'reminded'
              ? { reminded_at: at }
              : { escalated_at: at };
    await trx
      .updateTable('tasks')
      .set({ ...set, updated_at: new Date() })
      .where('id', '=', c.taskId)
      .execute();
    await appendTimelineEvent(trx, {
      incidentId: c.incidentId,
      kind: `task.${c.kind}`,
      actor: c.actor,
      occurredAt: at,
      data: { taskId: c.taskId, key: c.key, ...c.data },
      idempotencyKey: `task:${c.key}:${c.kind}:${c.occurrence}`,
    });
  });
}
