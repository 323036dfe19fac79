import type { Kysely } from 'kysely';
import type { Database, IncidentRow } from '../db/schema.js';
import { jsonb } from '../db/jsonb.js';
import { appendTimelineEvent, withIncidentLock } from '../timeline/repository.js';
import type { Attribution, ReviewRecord } from './schema.js';

/** The review record as submitted (a later revision replaces it; the timeline keeps every one). */
export async function recordReview(
  db: Kysely<Database>,
  r: { incidentId: string; actor: string; at: string; revision: number; review: ReviewRecord },
): Promise<void> {
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
    await trx
      .updateTable('after_action_reviews')
      .set({ signed_off_by: s.actor, signed_off_at: s.at, updated_at: new Date() })
      .where('incident_id', '=', s.incidentId)
      .execute();
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

/** Incidents whose review is not signed off yet, optionally just one. */
export async function incidentsAwaitingSignOff(db: Kysely<Database>, filter: { incidentId?: string } = {}): Promise<IncidentRow[]> {
  let query = db
    .selectFrom('after_action_reviews')
    .innerJoin('incidents', 'incidents.id', 'after_action_reviews.incident_id')
    .selectAll('incidents')
    .where('after_action_reviews.signed_off_at', 'is', null);
  if (filter.incidentId) query = query.where('incidents.id', '=', filter.incidentId);
  return query.execute();
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
  const totals = new Map<string, Pick<Attribution, 'stage' | 'actor'> & { attributions: number; incidents: Set<string>; confidence: Record<string, number> }>();
  for (const row of rows) {
    // Written only from a ReviewRecord (recordReview), so within the vocabulary the column type does not state.
    for (const a of row.attribution as Attribution[]) {
      const key = `${a.stage}|${a.actor}`;
      const entry = totals.get(key) ?? { stage: a.stage, actor: a.actor, attributions: 0, incidents: new Set<string>(), confidence: {} };
      entry.attributions += 1;
      entry.incidents.add(row.incident_id);
      entry.confidence[a.confidence] = (entry.confidence[a.confidence] ?? 0) + 1;
      totals.set(key, entry);
    }
  }
  const items = [...totals.values()].map((t) => ({
    stage: t.stage,
    actor: t.actor,
    attributions: t.attributions,
    incidents: t.incidents.size,
    confidence: t.confidence,
  }));
  items.sort((a, b) => b.attributions - a.attributions || a.stage.localeCompare(b.stage) || a.actor.localeCompare(b.actor));
  const sum = (pick: (i: (typeof items)[number]) => string) =>
    Object.entries(items.reduce<Record<string, number>>((acc, i) => ({ ...acc, [pick(i)]: (acc[pick(i)] ?? 0) + i.attributions }), {})).map(
      ([name, attributions]) => ({ name, attributions }),
    );
  return { reviews: rows.length, items, byStage: sum((i) => i.stage), byActor: sum((i) => i.actor) };
}
