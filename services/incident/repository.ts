import type { Kysely } from 'kysely';
import type { Database, IncidentRow } from '../db/schema.js';
import { jsonb } from '../db/jsonb.js';
import { appendTimelineEvent, withIncidentLock } from '../timeline/repository.js';
import type { IncidentStart, IncidentState } from './schema.js';

/** Writes the incident row and its `incident.opened` event; a retry changes nothing. */
export async function recordIncidentOpened(db: Kysely<Database>, incident: IncidentStart & { workflowId: string }): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('incidents')
      .values({
        id: incident.incidentId,
        workflow_id: incident.workflowId,
        system_id: incident.systemId,
        dedup_key: incident.dedupKey,
        title: incident.title,
        severity: incident.severity,
        state: 'triggered',
        runbook_version: incident.runbookVersion,
        classification: jsonb<string[]>([]),
        opened_by: incident.openedBy,
        opened_at: incident.openedAt,
        drill: incident.drill === true,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    await appendTimelineEvent(trx, {
      incidentId: incident.incidentId,
      kind: 'incident.opened',
      actor: incident.openedBy,
      occurredAt: new Date(incident.openedAt),
      data: {
        systemId: incident.systemId,
        dedupKey: incident.dedupKey,
        title: incident.title,
        severity: incident.severity,
        summary: incident.summary,
        runbookVersion: incident.runbookVersion,
        ...(incident.drill ? { drill: true } : {}),
        ...(incident.cause ? { cause: { triggerId: incident.cause.triggerId, group: incident.cause.groupKey, signalIds: incident.cause.signalIds } } : {}),
      },
      idempotencyKey: 'incident.opened',
    });
  });
}

const stampFor: Partial<Record<IncidentState, 'acknowledged_at' | 'mitigated_at' | 'resolved_at' | 'closed_at'>> = {
  acknowledged: 'acknowledged_at',
  mitigated: 'mitigated_at',
  resolved: 'resolved_at',
  closed: 'closed_at',
};

export interface IncidentTransition {
  incidentId: string;
  state: IncidentState;
  actor: string;
  /** When it happened; system transitions leave it out and get the time the activity records them. */
  at?: string;
  data?: Record<string, unknown>;
  /** Set with the transition (the first acknowledger becomes commander). */
  commander?: string;
  /** The n-th time the incident enters this state (a re-opened incident is resolved again); 1 by default. */
  occurrence?: number;
}

/** Moves the incident row to a state and appends `incident.<state>`, once per occurrence. */
export async function recordIncidentTransition(db: Kysely<Database>, t: IncidentTransition): Promise<void> {
  const at = t.at ?? new Date().toISOString();
  await withIncidentLock(db, t.incidentId, async (trx) => {
    const stamp = stampFor[t.state];
    await trx
      .updateTable('incidents')
      .set({
        state: t.state,
        updated_at: new Date(),
        ...(stamp ? { [stamp]: at } : {}),
        ...(t.commander ? { commander: t.commander } : {}),
      })
      .where('id', '=', t.incidentId)
      .execute();
    await appendTimelineEvent(trx, {
      incidentId: t.incidentId,
      kind: `incident.${t.state}`,
      actor: t.actor,
      occurredAt: new Date(at),
      data: { ...t.data, ...(t.commander ? { commander: t.commander } : {}) },
      idempotencyKey: `incident.${t.state}${t.occurrence && t.occurrence > 1 ? `:${t.occurrence}` : ''}`,
    });
  });
}

export async function findIncident(db: Kysely<Database>, incidentId: string): Promise<IncidentRow | undefined> {
  return db.selectFrom('incidents').selectAll().where('id', '=', incidentId).executeTakeFirst();
}

export interface IncidentFilter {
  systemId?: string;
  states?: IncidentState[];
  severity?: string;
  openedAfter?: string;
  openedBefore?: string;
  limit: number;
  /** Continue after this incident (the last one of the previous page). */
  after?: { openedAt: string; id: string };
}

/** Newest first; pages continue from the last incident seen, so new incidents never shift a page. */
export async function listIncidents(db: Kysely<Database>, filter: IncidentFilter): Promise<IncidentRow[]> {
  let query = db.selectFrom('incidents').selectAll();
  if (filter.systemId) query = query.where('system_id', '=', filter.systemId);
  if (filter.states?.length) query = query.where('state', 'in', filter.states);
  if (filter.severity) query = query.where('severity', '=', filter.severity);
  if (filter.openedAfter) query = query.where('opened_at', '>=', new Date(filter.openedAfter));
  if (filter.openedBefore) query = query.where('opened_at', '<', new Date(filter.openedBefore));
  if (filter.after) {
    const { openedAt, id } = filter.after;
    query = query.where((eb) => eb.or([eb('opened_at', '<', new Date(openedAt)), eb.and([eb('opened_at', '=', new Date(openedAt)), eb('id', '<', id)])]));
  }
  return query.orderBy('opened_at', 'desc').orderBy('id', 'desc').limit(filter.limit).execute();
}

/** Whether an incident is a drill: its mail goes to the outbox, its fallbacks are not switched for real. */
export async function isDrill(db: Kysely<Database>, incidentId: string): Promise<boolean> {
  const row = await db.selectFrom('incidents').select('drill').where('id', '=', incidentId).executeTakeFirst();
  return row?.drill === true;
}
