import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { Batched } from '../db/batch.js';
import { jsonb } from '../db/jsonb.js';
import { appendTimelineEvent, withIncidentLock } from '../timeline/repository.js';
import type { SignalInput } from './signal.js';

/** A signal as stored: its row, whether this receipt made it, and which receipt of it this was. */
export interface StoredSignal {
  signalId: string;
  at: string;
  fresh: boolean;
  /** 1 for the receipt that stored it, n for its n-th (a repeat with the same idempotency key). */
  occurrence: number;
}

interface PendingSignal {
  key: string;
  signal: SignalInput;
  receivedAt: Date;
  runbookVersion: string | undefined;
}

/**
 * Stores signals once per idempotency key, counting repeats on the stored row, in group commits
 * (services/db/batch.ts): an alert storm costs PostgreSQL one statement per batch rather than a round
 * trip or two per alert, and each caller still learns its signal is stored before it answers.
 */
export class SignalWriter {
  private readonly batches: Batched<PendingSignal, StoredSignal>;

  constructor(db: Kysely<Database>) {
    this.batches = new Batched((batch) => writeSignals(db, batch));
  }

  store(signal: SignalInput, receivedAt: Date, runbookVersion?: string): Promise<StoredSignal> {
    return this.batches.submit({ key: `${signal.systemId}:${signal.source}:${signal.idempotencyKey ?? randomUUID()}`, signal, receivedAt, runbookVersion });
  }
}

/**
 * One statement for a batch: new keys inserted, known ones counted as repeats. Rows go in key order,
 * so concurrent batches lock shared keys in the same order and cannot deadlock; a key twice in one
 * batch is one row counted twice (PostgreSQL refuses to touch a row twice in one statement).
 */
async function writeSignals(db: Kysely<Database>, batch: PendingSignal[]): Promise<StoredSignal[]> {
  const byKey = new Map<string, PendingSignal[]>();
  for (const pending of batch) byKey.set(pending.key, [...(byKey.get(pending.key) ?? []), pending]);
  const keys = [...byKey.keys()].sort();
  const rows = await db
    .insertInto('signals')
    .values(
      keys.map((key) => {
        const receipts = byKey.get(key)!;
        const { signal, receivedAt, runbookVersion } = receipts[0]!;
        return {
          ...signalRow(signal, key, receivedAt, runbookVersion),
          occurrences: receipts.length,
          last_seen_at: receipts[receipts.length - 1]!.receivedAt,
        };
      }),
    )
    .onConflict((oc) =>
      oc.column('idempotency_key').doUpdateSet({
        occurrences: sql<number>`signals.occurrences + excluded.occurrences`,
        last_seen_at: sql<Date>`greatest(signals.last_seen_at, excluded.last_seen_at)`,
      }),
    )
    // xmax is 0 on a row this statement inserted, the locking transaction on one it updated.
    .returning(['id', 'idempotency_key', 'received_at', 'occurrences', sql<boolean>`xmax = 0`.as('inserted')])
    .execute();
  const stored = new Map<PendingSignal, StoredSignal>();
  for (const row of rows) {
    const receipts = byKey.get(row.idempotency_key)!;
    const before = row.occurrences - receipts.length;
    receipts.forEach((pending, index) =>
      stored.set(pending, {
        signalId: row.id,
        at: row.received_at.toISOString(),
        fresh: row.inserted && index === 0,
        occurrence: before + index + 1,
      }),
    );
  }
  return batch.map((pending) => stored.get(pending)!);
}

/**
 * Stores a signal whose only possible repeat is a retry of the same receipt (an evaluation run's
 * activity retried): a conflict returns the stored row as it is, counted once.
 */
export async function storeSignalOnce(db: Kysely<Database>, signal: SignalInput, receivedAt: Date, runbookVersion?: string): Promise<StoredSignal> {
  const key = `${signal.systemId}:${signal.source}:${signal.idempotencyKey ?? randomUUID()}`;
  const inserted = await db
    .insertInto('signals')
    .values({ ...signalRow(signal, key, receivedAt, runbookVersion), last_seen_at: receivedAt })
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .returning(['id', 'received_at'])
    .executeTakeFirst();
  if (inserted) return { signalId: inserted.id, at: inserted.received_at.toISOString(), fresh: true, occurrence: 1 };
  const existing = await db.selectFrom('signals').select(['id', 'received_at']).where('idempotency_key', '=', key).executeTakeFirstOrThrow();
  return { signalId: existing.id, at: existing.received_at.toISOString(), fresh: false, occurrence: 1 };
}

function signalRow(signal: SignalInput, key: string, receivedAt: Date, runbookVersion: string | undefined) {
  return {
    runbook_version: runbookVersion ?? null,
    system_id: signal.systemId,
    source: signal.source,
    dedup_key: signal.labels.alertname ?? signal.source,
    fingerprint: signal.idempotencyKey ?? null,
    status: signal.status,
    severity: signal.severity ?? null,
    summary: signal.summary ?? null,
    labels: jsonb(signal.labels),
    payload: jsonb(signal as unknown as Record<string, unknown>),
    idempotency_key: key,
    received_at: signal.at ?? receivedAt.toISOString(),
  };
}

/**
 * Marks receipts as handed to their monitor (the outbox's mark), in group commits: a storm's hand-overs
 * cost one statement per batch. A mark never goes back, whatever order the marks arrive in.
 */
export class HandOverMarks {
  private readonly batches: Batched<{ signalId: string; occurrence: number }, void>;

  constructor(db: Kysely<Database>) {
    this.batches = new Batched(async (marks) => {
      const latest = new Map<string, number>();
      for (const m of marks) latest.set(m.signalId, Math.max(latest.get(m.signalId) ?? 0, m.occurrence));
      const ids = [...latest.keys()].sort();
      await sql`
        UPDATE signals SET handed_over = greatest(signals.handed_over, marks.occurrence)
        FROM unnest(${ids}::uuid[], ${ids.map((id) => latest.get(id)!)}::int[]) AS marks(id, occurrence)
        WHERE signals.id = marks.id`.execute(db);
      return marks.map((): void => undefined);
    });
  }

  mark(signalId: string, occurrence: number): Promise<void> {
    return this.batches.submit({ signalId, occurrence });
  }
}

/** A stored signal its monitor has not been given, as the sweeper hands it over again. */
export interface SignalAwaitingHandOver {
  signalId: string;
  at: string;
  runbookVersion: string | null;
  input: SignalInput;
}

/**
 * Signals stored at least `olderThanMs` ago whose first receipt no monitor has been given: their API
 * instance stopped (or Temporal was down) between the 202 and the hand-over. Oldest first.
 */
export async function signalsAwaitingHandOver(db: Kysely<Database>, olderThanMs: number, limit: number): Promise<SignalAwaitingHandOver[]> {
  const rows = await db
    .selectFrom('signals')
    .select(['id', 'received_at', 'runbook_version', 'payload'])
    .where('handed_over', '=', 0)
    // At least that old: with 0, a signal stored in the same clock tick as the query is awaiting too
    // (PGlite's clock can give both the same instant).
    .where('created_at', '<=', sql<Date>`now() - make_interval(secs => ${olderThanMs / 1000})`)
    .orderBy('created_at')
    .limit(limit)
    .execute();
  return rows.map((row) => ({
    signalId: row.id,
    at: row.received_at.toISOString(),
    runbookVersion: row.runbook_version,
    input: row.payload as unknown as SignalInput,
  }));
}

/** Links signals to the incident they opened or joined. */
export async function linkSignals(db: Kysely<Database>, signalIds: string[], incidentId: string): Promise<void> {
  if (signalIds.length === 0) return;
  await db.updateTable('signals').set({ incident_id: incidentId }).where('id', 'in', signalIds).execute();
}

/**
 * Signals that joined an open incident, linked to it; those that are alerts new to it (not repeats of
 * one already firing) each on its timeline as `alert.joined`, with what it says. Once per signal.
 */
export async function recordAlertsJoined(db: Kysely<Database>, j: { incidentId: string; signalIds: string[]; newAlerts: string[] }): Promise<void> {
  await withIncidentLock(db, j.incidentId, async (trx) => {
    if (j.signalIds.length > 0) await trx.updateTable('signals').set({ incident_id: j.incidentId }).where('id', 'in', j.signalIds).execute();
    if (j.newAlerts.length === 0) return;
    const signals = await trx
      .selectFrom('signals')
      .select(['id', 'source', 'summary', 'labels', 'received_at', sql<string | null>`payload->>'alertKey'`.as('alert_key')])
      .where('id', 'in', j.newAlerts)
      .orderBy('received_at')
      .execute();
    for (const s of signals) {
      await appendTimelineEvent(trx, {
        incidentId: j.incidentId,
        kind: 'alert.joined',
        actor: 'system:monitor',
        occurredAt: s.received_at,
        data: { signalId: s.id, ...(s.alert_key ? { alertKey: s.alert_key } : {}), source: s.source, summary: s.summary, labels: s.labels },
        idempotencyKey: `signal:${s.id}:joined`,
      });
    }
  });
}

/**
 * A resolve from the sender of one of an incident's alerts: linked to the incident and on its timeline,
 * with how many of its alerts still fire. Once per signal, however often it is retried.
 */
export async function recordAlertResolved(
  db: Kysely<Database>,
  r: { signalId: string; incidentId: string; alertKey: string | undefined; remaining: number; at: string },
): Promise<void> {
  await withIncidentLock(db, r.incidentId, async (trx) => {
    const signal = await trx
      .updateTable('signals')
      .set({ incident_id: r.incidentId })
      .where('id', '=', r.signalId)
      .returning(['source', 'summary', 'labels'])
      .executeTakeFirst();
    await appendTimelineEvent(trx, {
      incidentId: r.incidentId,
      kind: 'alert.resolved',
      actor: 'system:monitor',
      occurredAt: new Date(r.at),
      data: {
        signalId: r.signalId,
        ...(r.alertKey ? { alertKey: r.alertKey } : {}),
        ...(signal ? { source: signal.source, summary: signal.summary, labels: signal.labels } : {}),
        remaining: r.remaining,
      },
      idempotencyKey: `signal:${r.signalId}:resolved`,
    });
  });
}

/** Marks a signal as held back by a silence, and says so on the timeline of the incident it would have touched. */
export async function suppressSignal(
  db: Kysely<Database>,
  s: { signalId: string; silenceId: string; owner: string; reason: string; incidentId: string | undefined },
): Promise<void> {
  await db
    .updateTable('signals')
    .set({ suppressed_by: s.silenceId, ...(s.incidentId ? { incident_id: s.incidentId } : {}) })
    .where('id', '=', s.signalId)
    .execute();
  if (s.incidentId) {
    await withIncidentLock(db, s.incidentId, (trx) =>
      appendTimelineEvent(trx, {
        incidentId: s.incidentId!,
        kind: 'signal.suppressed',
        actor: 'system:monitor',
        occurredAt: new Date(),
        data: { signalId: s.signalId, silenceId: s.silenceId, owner: s.owner, reason: s.reason },
        idempotencyKey: `signal:${s.signalId}:suppressed`,
      }),
    );
  }
}

/** The newest firing PagerDuty signal of a system with this dedup key: what a later acknowledge or resolve refers to. */
export async function latestFiringPagerDutySignal(
  db: Kysely<Database>,
  systemId: string,
  dedupKey: string,
): Promise<{ labels: Record<string, string> | null; severity: string | null } | undefined> {
  return db
    .selectFrom('signals')
    .select(['labels', 'severity'])
    .where('system_id', '=', systemId)
    .where('source', '=', 'pagerduty')
    .where('status', '=', 'firing')
    .where(sql<boolean>`labels @> ${JSON.stringify({ dedup_key: dedupKey })}::jsonb`)
    .orderBy('received_at', 'desc')
    .limit(1)
    .executeTakeFirst();
}
