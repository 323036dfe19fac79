import { z } from 'zod';
import { Instant } from '../instant.js';
import type { Kysely, Transaction } from 'kysely';
import type { Database, TimelineEventRow } from '../db/schema.js';
import { jsonb } from '../db/jsonb.js';
import { checkChain, GENESIS_HASH, timelineEventHash, type ChainCheck } from './chain.js';
import type { TimelineEventKind } from './kinds.js';

export interface TimelineEntry {
  incidentId: string;
  kind: TimelineEventKind;
  /** Who did it: a person's id, `system:<component>` for Correx itself. */
  actor: string;
  occurredAt: Date;
  data: Record<string, unknown>;
  /** Unique per incident: a retried write with the same key returns the event already recorded. */
  idempotencyKey: string;
}

/**
 * Runs `work` in a transaction that first locks the incident's row. Every write that touches an
 * incident's timeline goes through here, so they take locks in the same order (incident first) and
 * never deadlock, and concurrent appends get consecutive sequence numbers.
 */
export async function withIncidentLock<T>(db: Kysely<Database>, incidentId: string, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    const locked = await trx.selectFrom('incidents').select('id').where('id', '=', incidentId).forUpdate().executeTakeFirst();
    if (locked) lockedIncidents.set(trx, incidentId);
    return work(trx);
  });
}

/** The incident whose row each open transaction of withIncidentLock holds: appends there need not lock it again. */
const lockedIncidents = new WeakMap<Transaction<Database>, string>();

/**
 * Appends one event to an incident's hash-chained timeline, exactly once per idempotency key.
 * The incident row is locked for the append so concurrent writers get consecutive sequence numbers.
 */
export async function appendTimelineEvent(db: Kysely<Database> | Transaction<Database>, entry: TimelineEntry): Promise<TimelineEventRow> {
  const append = async (trx: Transaction<Database>): Promise<TimelineEventRow> => {
    if (lockedIncidents.get(trx) !== entry.incidentId) {
      const incident = await trx.selectFrom('incidents').select('id').where('id', '=', entry.incidentId).forUpdate().executeTakeFirst();
      if (!incident) throw new Error(`cannot append to the timeline of unknown incident ${entry.incidentId}`);
    }
    // The event already recorded under this key, and the newest event, in one statement (read after the
    // lock is held, so no append can come between it and the insert).
    const found = await trx
      .selectFrom('timeline_events')
      .selectAll()
      .where('incident_id', '=', entry.incidentId)
      .where((eb) =>
        eb.or([
          eb('idempotency_key', '=', entry.idempotencyKey),
          eb(
            'seq',
            '=',
            eb
              .selectFrom('timeline_events')
              .select((m) => m.fn.max('seq').as('seq'))
              .where('incident_id', '=', entry.incidentId),
          ),
        ]),
      )
      .execute();
    const existing = found.find((e) => e.idempotency_key === entry.idempotencyKey);
    if (existing) return existing;
    const last = found[0];
    const seq = (last?.seq ?? 0) + 1;
    const prevHash = last?.hash ?? GENESIS_HASH;
    const occurredAt = entry.occurredAt.toISOString();
    const hash = timelineEventHash({
      incidentId: entry.incidentId,
      seq,
      kind: entry.kind,
      actor: entry.actor,
      occurredAt,
      data: entry.data,
      prevHash,
    });
    return trx
      .insertInto('timeline_events')
      .values({
        incident_id: entry.incidentId,
        seq,
        kind: entry.kind,
        actor: entry.actor,
        occurred_at: occurredAt,
        data: jsonb(entry.data),
        idempotency_key: entry.idempotencyKey,
        prev_hash: prevHash,
        hash,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  };
  return db.isTransaction ? append(db as Transaction<Database>) : db.transaction().execute(append);
}

/** An event as the API and exports show it: the fields its hash covers, in their public names. */
/** One event of an incident's hash-chained timeline, as the API and the exports show it. */
export const TimelineEventView = z.strictObject({
  seq: z.number().int(),
  kind: z.string().describe('An event kind (see docs/incidents.md), e.g. `incident.triggered`, `correction.applied`'),
  actor: z.string(),
  occurredAt: Instant,
  data: z.unknown(),
  prevHash: z.string(),
  hash: z.string(),
});

export function timelineEventView(e: Pick<TimelineEventRow, 'seq' | 'kind' | 'actor' | 'occurred_at' | 'data' | 'prev_hash' | 'hash'>) {
  return { seq: e.seq, kind: e.kind, actor: e.actor, occurredAt: e.occurred_at.toISOString(), data: e.data, prevHash: e.prev_hash, hash: e.hash };
}

export async function listTimeline(db: Kysely<Database>, incidentId: string, page: { afterSeq?: number; limit?: number } = {}): Promise<TimelineEventRow[]> {
  let query = db.selectFrom('timeline_events').selectAll().where('incident_id', '=', incidentId);
  if (page.afterSeq !== undefined) query = query.where('seq', '>', page.afterSeq);
  if (page.limit !== undefined) query = query.limit(page.limit);
  return query.orderBy('seq').execute();
}

/** An incident's newest events, newest first, optionally of one kind. */
export async function newestTimelineEvents(db: Kysely<Database>, incidentId: string, page: { kind?: string; limit: number }): Promise<TimelineEventRow[]> {
  let query = db.selectFrom('timeline_events').selectAll().where('incident_id', '=', incidentId);
  if (page.kind) query = query.where('kind', '=', page.kind);
  return query.orderBy('seq', 'desc').limit(page.limit).execute();
}

/** How many events an incident's timeline holds. */
export async function countTimelineEvents(db: Kysely<Database>, incidentId: string): Promise<number> {
  const row = await db
    .selectFrom('timeline_events')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('incident_id', '=', incidentId)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The kinds of event an incident's timeline holds, alphabetically. */
export async function timelineKinds(db: Kysely<Database>, incidentId: string): Promise<string[]> {
  return (await db.selectFrom('timeline_events').select('kind').distinct().where('incident_id', '=', incidentId).orderBy('kind').execute()).map((r) => r.kind);
}

/** An incident's stored chain, recomputed page by page (see checkChain). */
export async function verifyStoredChain(db: Kysely<Database>, incidentId: string): Promise<ChainCheck> {
  async function* events() {
    for (let afterSeq = 0; ;) {
      const page = await listTimeline(db, incidentId, { afterSeq, limit: 1000 });
      for (const e of page)
        yield { seq: e.seq, kind: e.kind, actor: e.actor, occurredAt: e.occurred_at.toISOString(), data: e.data, prevHash: e.prev_hash, hash: e.hash };
      if (page.length < 1000) return;
      afterSeq = page.at(-1)!.seq;
    }
  }
  return checkChain(incidentId, events());
}
