import { z } from 'zod';
import { Instant } from '../instant.js';
import type { InsertObject, Kysely, Transaction } from 'kysely';
import type { Database, IncidentRow, TimelineEventRow } from '../db/schema.js';
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
export async function withIncidentLock<T>(
  db: Kysely<Database>,
  incidentId: string,
  work: (trx: Transaction<Database>, incident: IncidentRow | undefined) => Promise<T>,
): Promise<T> {
  return db.transaction().execute(async (trx) => {
    // The row as locked, so that work reading it needs no statement of its own under the lock.
    const locked = await trx.selectFrom('incidents').selectAll().where('id', '=', incidentId).forUpdate().executeTakeFirst();
    if (locked) lockedIncidents.set(trx, incidentId);
    return work(trx, locked);
  });
}

/** The incident whose row each open transaction of withIncidentLock holds: appends there need not lock it again. */
const lockedIncidents = new WeakMap<Transaction<Database>, string>();

/**
 * Appends one event to an incident's hash-chained timeline, exactly once per idempotency key.
 * The incident row is locked for the append so concurrent writers get consecutive sequence numbers.
 */
export async function appendTimelineEvent(db: Kysely<Database> | Transaction<Database>, entry: TimelineEntry): Promise<TimelineEventRow> {
  return (await appendTimelineEvents(db, [entry]))[0]!;
}

/**
 * Appends events of one incident in order, each exactly once per idempotency key: the events already
 * recorded under their keys and the newest event are read in one statement, the new ones written in
 * another, so recording what several people were sent costs the incident's lock two statements, not
 * two per person. Returns each entry's event, in the entries' order.
 */
export async function appendTimelineEvents(db: Kysely<Database> | Transaction<Database>, entries: TimelineEntry[]): Promise<TimelineEventRow[]> {
  const incidentIds = new Set(entries.map((e) => e.incidentId));
  if (incidentIds.size > 1) throw new Error(`events appended together must be of one incident, not ${[...incidentIds].join(', ')}`);
  const [incidentId] = incidentIds;
  if (incidentId === undefined) return [];
  const append = async (trx: Transaction<Database>): Promise<TimelineEventRow[]> => {
    if (lockedIncidents.get(trx) !== incidentId) {
      const incident = await trx.selectFrom('incidents').select('id').where('id', '=', incidentId).forUpdate().executeTakeFirst();
      if (!incident) throw new Error(`cannot append to the timeline of unknown incident ${incidentId}`);
    }
    // The events already recorded under these keys, and the newest event, in one statement (read after
    // the lock is held, so no append can come between it and the insert).
    const found = await trx
      .selectFrom('timeline_events')
      .selectAll()
      .where('incident_id', '=', incidentId)
      .where((eb) =>
        eb.or([
          eb('idempotency_key', 'in', [...new Set(entries.map((e) => e.idempotencyKey))]),
          eb(
            'seq',
            '=',
            eb
              .selectFrom('timeline_events')
              .select((m) => m.fn.max('seq').as('seq'))
              .where('incident_id', '=', incidentId),
          ),
        ]),
      )
      .execute();
    const recorded = new Map(found.map((e) => [e.idempotency_key, e]));
    let last = found.reduce<{ seq: number; hash: string } | undefined>((newest, e) => (newest && newest.seq > e.seq ? newest : e), undefined);
    const rows: (InsertObject<Database, 'timeline_events'> & { idempotency_key: string })[] = [];
    for (const entry of entries) {
      if (recorded.has(entry.idempotencyKey) || rows.some((r) => r.idempotency_key === entry.idempotencyKey)) continue;
      const seq = (last?.seq ?? 0) + 1;
      const prevHash = last?.hash ?? GENESIS_HASH;
      const occurredAt = entry.occurredAt.toISOString();
      const hash = timelineEventHash({ incidentId, seq, kind: entry.kind, actor: entry.actor, occurredAt, data: entry.data, prevHash });
      rows.push({
        incident_id: incidentId,
        seq,
        kind: entry.kind,
        actor: entry.actor,
        occurred_at: occurredAt,
        data: jsonb(entry.data),
        idempotency_key: entry.idempotencyKey,
        prev_hash: prevHash,
        hash,
      });
      last = { seq, hash };
    }
    if (rows.length > 0)
      for (const row of await trx.insertInto('timeline_events').values(rows).returningAll().execute()) recorded.set(row.idempotency_key, row);
    return entries.map((e) => recorded.get(e.idempotencyKey)!);
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
