import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { jsonb } from '../db/jsonb.js';
import { appendTimelineEvent, withIncidentLock } from '../timeline/repository.js';
import type { ReviewRecord } from './schema.js';

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
        .values({ incident_id: incidentId, title: t.title, owner_role: t.ownerRole, owner: t.owner ?? null, state: 'open', due_at: t.dueAt, origin: t.origin, idempotency_key: taskKey(incidentId, t.key) })
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
    await trx.updateTable('tasks').set({ ...set, updated_at: new Date() }).where('id', '=', c.taskId).execute();
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

/** The review record as submitted (a later revision replaces it; the timeline keeps every one). */
export async function recordReview(db: Kysely<Database>, r: { incidentId: string; actor: string; at: string; revision: number; review: ReviewRecord }): Promise<void> {
  await withIncidentLock(db, r.incidentId, async (trx) => {
    const values = {
      summary: r.review.summary,
      impact: r.review.impact,
      highlights: jsonb(r.review.highlights),
      root_cause: r.review.rootCause,
      contributing_factors: jsonb(r.review.contributingFactors),
      attribution: jsonb(r.review.attribution),
      runbook_changes: jsonb(r.review.runbookChanges),
      submitted_by: r.actor,
      submitted_at: r.at,
    };
    await trx
      .insertInto('after_action_reviews')
      .values({ incident_id: r.incidentId, ...values })
      .onConflict((oc) => oc.column('incident_id').doUpdateSet({ ...values, updated_at: new Date() }))
      .execute();
    const { correctiveActions, ...record } = r.review;
    await appendTimelineEvent(trx, {
      incidentId: r.incidentId,
      kind: 'review.submitted',
      actor: r.actor,
      occurredAt: new Date(r.at),
      data: { revision: r.revision, ...record, correctiveActions: correctiveActions.length },
      idempotencyKey: `review:submitted:${r.revision}`,
    });
  });
}

export async function recordReviewSignedOff(db: Kysely<Database>, s: { incidentId: string; actor: string; role: string; at: string }): Promise<void> {
  await withIncidentLock(db, s.incidentId, async (trx) => {
    await trx.updateTable('after_action_reviews').set({ signed_off_by: s.actor, signed_off_at: s.at, updated_at: new Date() }).where('incident_id', '=', s.incidentId).execute();
    await appendTimelineEvent(trx, {
      incidentId: s.incidentId,
      kind: 'review.signed_off',
      actor: s.actor,
      occurredAt: new Date(s.at),
      data: { role: s.role },
      idempotencyKey: 'review:signed_off',
    });
  });
}

export async function findReview(db: Kysely<Database>, incidentId: string) {
  return db.selectFrom('after_action_reviews').selectAll().where('incident_id', '=', incidentId).executeTakeFirst();
}

/** Attributions across incidents (drills left out), counted by lifecycle stage and value-chain actor. */
export async function attributionTotals(db: Kysely<Database>, filter: { systemId?: string; from?: string; to?: string }) {
  let query = db
    .selectFrom('after_action_reviews as r')
    .innerJoin('incidents as i', 'i.id', 'r.incident_id')
    .select(['r.incident_id', 'r.attribution', 'i.system_id', 'i.severity', 'r.signed_off_at'])
    .where('i.drill', '=', false);
  if (filter.systemId) query = query.where('i.system_id', '=', filter.systemId);
  if (filter.from) query = query.where('i.opened_at', '>=', new Date(filter.from));
  if (filter.to) query = query.where('i.opened_at', '<', new Date(filter.to));
  const rows = await query.execute();
  const totals = new Map<string, { stage: string; actor: string; attributions: number; incidents: Set<string>; confidence: Record<string, number> }>();
  for (const row of rows) {
    for (const a of row.attribution) {
      const key = `${a.stage}|${a.actor}`;
      const entry = totals.get(key) ?? { stage: a.stage, actor: a.actor, attributions: 0, incidents: new Set<string>(), confidence: {} };
      entry.attributions += 1;
      entry.incidents.add(row.incident_id);
      entry.confidence[a.confidence] = (entry.confidence[a.confidence] ?? 0) + 1;
      totals.set(key, entry);
    }
  }
  const items = [...totals.values()].map((t) => ({ stage: t.stage, actor: t.actor, attributions: t.attributions, incidents: t.incidents.size, confidence: t.confidence }));
  items.sort((a, b) => b.attributions - a.attributions || a.stage.localeCompare(b.stage) || a.actor.localeCompare(b.actor));
  const sum = (pick: (i: (typeof items)[number]) => string) =>
    Object.entries(items.reduce<Record<string, number>>((acc, i) => ({ ...acc, [pick(i)]: (acc[pick(i)] ?? 0) + i.attributions }), {})).map(([name, attributions]) => ({ name, attributions }));
  return { reviews: rows.length, items, byStage: sum((i) => i.stage), byActor: sum((i) => i.actor) };
}
