import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { jsonb } from '../db/jsonb.js';
import { appendTimelineEvent, withIncidentLock } from '../timeline/repository.js';
import type { SignalInput } from './signal.js';

/** Stores a signal once per idempotency key; returns its id and whether it was new. */
export async function storeSignal(db: Kysely<Database>, signal: SignalInput, receivedAt: Date): Promise<{ signalId: string; at: string; fresh: boolean }> {
  const key = `${signal.systemId}:${signal.source}:${signal.idempotencyKey ?? randomUUID()}`;
  const inserted = await db
    .insertInto('signals')
    .values({
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
    })
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .returning(['id', 'received_at'])
    .executeTakeFirst();
  if (inserted) return { signalId: inserted.id, at: inserted.received_at.toISOString(), fresh: true };
  const existing = await db.selectFrom('signals').select(['id', 'received_at']).where('idempotency_key', '=', key).executeTakeFirstOrThrow();
  return { signalId: existing.id, at: existing.received_at.toISOString(), fresh: false };
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
