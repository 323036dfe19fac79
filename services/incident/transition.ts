import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { acknowledgePages } from '../escalation/repository.js';
import { recordIncidentTransition, transitionIdempotencyKey, type IncidentTransition } from './repository.js';

/** A state change on record; an acknowledgement also marks the incident's pages acknowledged (by whom, when). */
export async function recordTransition(db: Kysely<Database>, t: IncidentTransition): Promise<void> {
  const at = t.at ?? new Date().toISOString();
  await recordIncidentTransition(db, t, t.state === 'acknowledged' ? (trx) => acknowledgePages(trx, t.incidentId, t.actor, at) : undefined);
}

/**
 * A state change that a caller wrote before answering (IncidentClient.acknowledge), written here if it
 * is not on the timeline: the caller died between the incident's answer and its write.
 */
export async function confirmTransition(db: Kysely<Database>, t: IncidentTransition): Promise<void> {
  const recorded = await db
    .selectFrom('timeline_events')
    .select('seq')
    .where('incident_id', '=', t.incidentId)
    .where('idempotency_key', '=', transitionIdempotencyKey(t))
    .executeTakeFirst();
  if (!recorded) await recordTransition(db, t);
}
