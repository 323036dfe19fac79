import { sql, type ColumnType, type Generated, type Kysely, type Transaction } from 'kysely';
import { z } from 'zod';
import { authenticate } from '../access/repository.js';
import type { Database, Timestamp } from '../db/schema.js';
import { jsonb } from '../db/jsonb.js';
import { InvalidInput } from '../errors.js';
import { appendTimelineEvent } from '../timeline/repository.js';
import { SenderTimestamp } from './pagerduty.js';

const Text = (max: number) => z.string().max(max, `must be at most ${max} characters`);

/**
 * PagerDuty's Change Events API (`POST /v2/change/enqueue`), as its clients send it (pdpyras's
 * `ChangeEventsAPISession.submit` / `send_change_event`): something changed about the service (a
 * deploy, a config push, a feature flag). Context for incidents, never an alert: it opens, pages and
 * resolves nothing. Fields PagerDuty does not know are let through, as on `/v2/enqueue`.
 */
export const PagerDutyChangeEvent = z.object({
  routing_key: z.string().length(32, 'must be the 32-character integration key'),
  payload: z.object(
    {
      summary: z
        .string({ error: (issue) => (issue.input === undefined ? 'is required' : undefined) })
        .max(1024, 'must be at most 1024 characters')
        .min(1, 'is required'),
      timestamp: SenderTimestamp.optional().describe(
        'When the change happened (ISO 8601, with or without a zone; read as UTC without). Default: when Correx received it',
      ),
      source: Text(255).min(1).optional(),
      custom_details: z.record(z.string(), z.unknown()).optional(),
    },
    { error: (issue) => (issue.input === undefined ? 'is required' : undefined) },
  ),
  links: z.array(z.object({ href: z.string().min(1), text: z.string().optional() })).optional(),
});
export type PagerDutyChangeEvent = z.infer<typeof PagerDutyChangeEvent>;

/** PagerDuty's answer to a change event, plus the id Correx stored it under (which pdpyras's `send_change_event` returns). */
export const PagerDutyChangeAccepted = z.strictObject({
  status: z.literal('success'),
  message: z.literal('Change event processed'),
  id: z.uuid().describe("Correx's id for the stored change event (an addition to PagerDuty's answer; pdpyras returns it)"),
});

/**
 * The system a PagerDuty `routing_key` sends for: an integration key (an `ingest` token bound to one
 * system), as on `/v2/enqueue`. Anything else is refused as PagerDuty refuses an unknown key: 400
 * `Invalid routing key`, in its format (the route's errorFormat).
 */
export async function integrationKeySender(db: Kysely<Database>, routingKey: string): Promise<{ systemId: string; owner: string }> {
  const auth = await authenticate(db, routingKey);
  if (!('principal' in auth) || !auth.principal.systemId || !auth.principal.roles.includes('ingest')) {
    throw new InvalidInput([{ path: '', message: 'Invalid routing key' }]);
  }
  return { systemId: auth.principal.systemId, owner: auth.principal.owner };
}

/** How long after a change an incident that opens on its system still gets it on its timeline. */
export const changeContextWindowMs = 60 * 60 * 1000;

interface ChangeEventsTable {
  id: Generated<string>;
  system_id: string;
  summary: string;
  source: string | null;
  custom_details: ColumnType<Record<string, unknown> | null, unknown, unknown>;
  links: ColumnType<{ href: string; text?: string }[], unknown, unknown>;
  sent_by: string;
  occurred_at: Timestamp;
  received_at: ColumnType<Date, Date | string | undefined, never>;
}
type ChangeEventRow = {
  id: string;
  summary: string;
  source: string | null;
  custom_details: Record<string, unknown> | null;
  links: { href: string; text?: string }[];
  sent_by: string;
  occurred_at: Date;
};

/**
 * A change event and an incident opening on the same system at the same moment must not miss each
 * other (each reading before the other committed). Recording a change takes this lock exclusively,
 * an opening shared (openings do not wait for each other), so one of the two always sees the other.
 * Both take it first in their transaction, before any incident's row, so they cannot deadlock.
 */
export const lockSystemChanges = (trx: Transaction<Database>, systemId: string, mode: 'exclusive' | 'shared') =>
  mode === 'exclusive'
    ? sql`select pg_advisory_xact_lock(hashtext(${`change_events:${systemId}`}))`.execute(trx)
    : sql`select pg_advisory_xact_lock_shared(hashtext(${`change_events:${systemId}`}))`.execute(trx);

/** The `change.recorded` event of one change on one incident's timeline, once per change and incident. */
function appendChange(trx: Transaction<Database>, incidentId: string, change: ChangeEventRow) {
  return appendTimelineEvent(trx, {
    incidentId,
    kind: 'change.recorded',
    actor: 'system:ingest',
    occurredAt: change.occurred_at,
    data: {
      changeId: change.id,
      summary: change.summary,
      ...(change.source ? { source: change.source } : {}),
      ...(change.custom_details ? { customDetails: change.custom_details } : {}),
      ...(change.links.length ? { links: change.links } : {}),
      sentBy: change.sent_by,
    },
    idempotencyKey: `change:${change.id}`,
  });
}

/**
 * Stores a change event of a system and puts it on the timeline of each of the system's incidents
 * that is open now (not resolved or closed; drills left out), in one transaction: answered 202, it is
 * on all of them. Incidents opened within the hour after it get it when they open
 * (`recordChangesBefore`). Returns its id and the incidents it reached.
 */
export async function recordChangeEvent(
  db: Kysely<Database>,
  event: PagerDutyChangeEvent,
  systemId: string,
  sentBy: string,
  receivedAt: Date,
): Promise<{ id: string; incidentIds: string[] }> {
  return db.transaction().execute(async (trx) => {
    await lockSystemChanges(trx, systemId, 'exclusive');
    const change = await trx
      .withTables<{ change_events: ChangeEventsTable }>()
      .insertInto('change_events')
      .values({
        system_id: systemId,
        summary: event.payload.summary,
        source: event.payload.source ?? null,
        custom_details: event.payload.custom_details ? jsonb(event.payload.custom_details) : null,
        links: jsonb(event.links ?? []),
        sent_by: sentBy,
        occurred_at: event.payload.timestamp ?? receivedAt.toISOString(),
        received_at: receivedAt,
      })
      .returning(['id', 'summary', 'source', 'custom_details', 'links', 'sent_by', 'occurred_at'])
      .executeTakeFirstOrThrow();
    // In id order, so that two writers locking several incidents take their locks in the same order.
    const open = await trx
      .selectFrom('incidents')
      .select('id')
      .where('system_id', '=', systemId)
      .where('state', 'not in', ['resolved', 'closed'])
      .where('drill', '=', false)
      .orderBy('id')
      .execute();
    for (const incident of open) await appendChange(trx, incident.id, change);
    return { id: change.id, incidentIds: open.map((i) => i.id) };
  });
}

/**
 * Puts the system's changes of the hour before an incident opened (and any since) on its timeline, as
 * `change.recorded`, oldest first. Called in the transaction that records the incident's opening; a
 * retry adds nothing twice. Drills get none. The transaction took `lockSystemChanges(…, 'shared')` first.
 */
export async function recordChangesBefore(
  trx: Transaction<Database>,
  incident: { incidentId: string; systemId: string; openedAt: string; drill?: boolean },
): Promise<void> {
  if (incident.drill) return;
  const since = new Date(Date.parse(incident.openedAt) - changeContextWindowMs);
  const changes = await trx
    .withTables<{ change_events: ChangeEventsTable }>()
    .selectFrom('change_events')
    .select(['id', 'summary', 'source', 'custom_details', 'links', 'sent_by', 'occurred_at'])
    .where('system_id', '=', incident.systemId)
    .where('occurred_at', '>=', since)
    .orderBy('occurred_at')
    .orderBy('id')
    .execute();
  for (const change of changes) await appendChange(trx, incident.incidentId, change);
}
