import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database, FallbacksTable, NotificationRow } from '../db/schema.js';
import type { FallbackState, NotificationAudience } from './kinds.js';

export type FallbackRow = Selectable<FallbacksTable>;

/**
 * The notifications table holds every message Correx sends about an incident; regulator reports
 * (audience `regulator`) are written by services/regulatory/repository.ts, everything else here.
 */

/** Value-chain notices as drafted, each once per idempotency key (one statement for all). */
export async function recordNoticesDrafted(
  db: Kysely<Database>,
  notices: {
    incidentId: string;
    idempotencyKey: string;
    audience: NotificationAudience;
    recipient: string;
    subject: string;
    body: string;
    correctionId: string | undefined;
  }[],
): Promise<void> {
  if (notices.length === 0) return;
  await db
    .insertInto('notifications')
    .values(
      notices.map((n) => ({
        incident_id: n.incidentId,
        audience: n.audience,
        recipient: n.recipient,
        subject: n.subject,
        body: n.body,
        state: 'drafted' as const,
        correction_id: n.correctionId ?? null,
        idempotency_key: n.idempotencyKey,
      })),
    )
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .execute();
}

/** Which of these notices have gone out (each must have been drafted). */
export async function noticesSent(db: Kysely<Database>, idempotencyKeys: string[]): Promise<Set<string>> {
  if (idempotencyKeys.length === 0) return new Set();
  const rows = await db
    .selectFrom('notifications')
    .select('idempotency_key')
    .where('idempotency_key', 'in', idempotencyKeys)
    .where('sent_at', 'is not', null)
    .execute();
  return new Set(rows.map((r) => r.idempotency_key));
}

export async function recordNoticesSent(db: Kysely<Database>, idempotencyKeys: string[]): Promise<void> {
  if (idempotencyKeys.length === 0) return;
  await db
    .updateTable('notifications')
    .set({ sent_at: new Date(), state: 'sent', updated_at: new Date() })
    .where('idempotency_key', 'in', idempotencyKeys)
    .execute();
}

/** Everything sent or to be sent about an incident (regulator reports included), oldest first. */
export async function listNotifications(db: Kysely<Database>, incidentId: string): Promise<NotificationRow[]> {
  return db.selectFrom('notifications').selectAll().where('incident_id', '=', incidentId).orderBy('created_at').orderBy('id').execute();
}

/** A consumer's fallback is being switched on or off for a correction (one row per correction and consumer). */
export async function recordFallbackSwitching(
  db: Kysely<Database>,
  f: { incidentId: string; correctionId: string; consumerId: string; method: string; action: 'activate' | 'deactivate' },
): Promise<void> {
  const state = f.action === 'activate' ? ('activating' as const) : ('deactivating' as const);
  await db
    .insertInto('fallbacks')
    .values({ incident_id: f.incidentId, correction_id: f.correctionId, consumer_id: f.consumerId, method: f.method, state, action: f.action })
    .onConflict((oc) =>
      // A failing switch keeps showing as failing while it is retried; a new direction starts afresh.
      oc.columns(['correction_id', 'consumer_id']).doUpdateSet((eb) => ({
        state: sql<FallbackState>`case when ${eb.ref('fallbacks.state')} = 'failing' and ${eb.ref('fallbacks.action')} = ${f.action} then 'failing' else ${state} end`,
        failed_attempts: sql<number>`case when ${eb.ref('fallbacks.action')} = ${f.action} then ${eb.ref('fallbacks.failed_attempts')} else 0 end`,
        action: f.action,
        updated_at: new Date(),
      })),
    )
    .execute();
}

/** The switch is done: the fallback is active or inactive since now. */
export async function recordFallbackSwitched(
  db: Kysely<Database>,
  f: { correctionId: string; consumerId: string; action: 'activate' | 'deactivate' },
): Promise<void> {
  const done = f.action === 'activate' ? { state: 'active' as const, activated_at: new Date() } : { state: 'inactive' as const, deactivated_at: new Date() };
  await db
    .updateTable('fallbacks')
    .set({ ...done, last_error: null, next_attempt_at: null, updated_at: new Date() })
    .where('correction_id', '=', f.correctionId)
    .where('consumer_id', '=', f.consumerId)
    .execute();
}

/** Every attempt of a switch failed this round: shown as failing, with the error and the next attempt. */
export async function recordFallbackFailing(
  db: Kysely<Database>,
  f: { correctionId: string; consumerId: string; action: 'activate' | 'deactivate'; attempt: number; error: string; nextAttemptAt: string | null },
): Promise<void> {
  await db
    .updateTable('fallbacks')
    .set({
      state: 'failing',
      action: f.action,
      failed_attempts: f.attempt,
      last_error: f.error,
      next_attempt_at: f.nextAttemptAt ? new Date(f.nextAttemptAt) : null,
      updated_at: new Date(),
    })
    .where('correction_id', '=', f.correctionId)
    .where('consumer_id', '=', f.consumerId)
    .execute();
}

/** An incident's fallback switches, oldest first. */
export async function listFallbacks(db: Kysely<Database>, incidentId: string): Promise<FallbackRow[]> {
  return db.selectFrom('fallbacks').selectAll().where('incident_id', '=', incidentId).orderBy('created_at').execute();
}
