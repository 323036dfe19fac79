import type { Kysely, Transaction } from 'kysely';
import type { Database, IncidentRow } from '../db/schema.js';
import { jsonb } from '../db/jsonb.js';
import { lockSystemChanges, recordChangesBefore } from '../ingest/change-events.js';
import { appendTimelineEvent, withIncidentLock } from '../timeline/repository.js';
import { incidentStates, type IncidentStart, type IncidentState } from './schema.js';

/** Writes the incident row and its `incident.opened` event; a retry changes nothing. */
export async function recordIncidentOpened(db: Kysely<Database>, incident: IncidentStart & { workflowId: string }): Promise<void> {
  await db.transaction().execute(async (trx) => {
    // First, so that a change event recorded at this moment is either seen below or sees this incident.
    await lockSystemChanges(trx, incident.systemId, 'shared');
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
        ...(incident.awareness ? { awareness: incident.awareness } : {}),
        ...(incident.cause ? { cause: { triggerId: incident.cause.triggerId, group: incident.cause.groupKey, signalIds: incident.cause.signalIds } } : {}),
      },
      idempotencyKey: 'incident.opened',
    });
    // The system's recent changes (deploys, config pushes its tools reported) as the incident's first context.
    await recordChangesBefore(trx, incident);
  });
}

const stampFor: Partial<Record<IncidentState, 'acknowledged_at' | 'mitigated_at' | 'resolved_at' | 'closed_at'>> = {
  acknowledged: 'acknowledged_at',
  mitigated: 'mitigated_at',
  resolved: 'resolved_at',
  closed: 'closed_at',
};

/**
 * Where a state change stands in its workflow's own order. The incident workflow records every
 * transition (and a re-opening) with an activity, and Temporal numbers a run's activities in the
 * order the workflow schedules them, so that number orders the transitions exactly as the workflow
 * made them, whatever order their activities finally run in (retries back off while PostgreSQL is
 * down; the one for `mitigated` can then run after the one for `resolved`).
 */
export interface TransitionOrder {
  runId: string;
  /** The recording activity's sequence number in the run. */
  ordinal: number;
  /** When the workflow scheduled it: the moment of a transition that carries no time of its own. */
  scheduledAt: string;
}

export interface IncidentTransition {
  incidentId: string;
  state: IncidentState;
  actor: string;
  /** When it happened; system transitions leave it out and get the time the workflow scheduled the record (else the activity's clock). */
  at?: string;
  data?: Record<string, unknown>;
  /** Set with the transition (the first acknowledger becomes commander). */
  commander?: string;
  /** The n-th time the incident enters this state (a re-opened incident is resolved again); 1 by default. */
  occurrence?: number;
  /** Its place in the workflow's order (set by the activity); without it, the lifecycle order decides. */
  order?: TransitionOrder;
}

const lifecycle: readonly IncidentState[] = incidentStates;
const rank = (state: string) => lifecycle.indexOf(state as IncidentState);

/**
 * Whether a state change may replace the row's state: the row's state only moves forward in the
 * workflow's order. Within one run the activity sequence numbers decide (a re-opening, scheduled after
 * the resolution it undoes, is later, so it wins although it moves the state back). Without them (a
 * row from before they were recorded, another run after a reset, a caller outside a workflow) the
 * lifecycle order decides, and only an explicit re-opening moves back.
 */
function supersedes(
  row: { state: string; state_run_id: string | null; state_ordinal: number | null },
  change: { state: IncidentState; order?: TransitionOrder; reopen?: boolean },
): boolean {
  const { order } = change;
  if (order && row.state_run_id === order.runId && row.state_ordinal !== null) return order.ordinal >= row.state_ordinal;
  if (change.reopen) return true;
  return rank(change.state) >= rank(row.state);
}

const orderColumns = (order: TransitionOrder | undefined) => (order ? { state_run_id: order.runId, state_ordinal: order.ordinal } : {});

/** The timeline key of a state change: once per state and occurrence. */
export function transitionIdempotencyKey(t: Pick<IncidentTransition, 'state' | 'occurrence'>): string {
  return `incident.${t.state}${t.occurrence && t.occurrence > 1 ? `:${t.occurrence}` : ''}`;
}

/**
 * Moves the incident row to a state and appends `incident.<state>`, once per occurrence. A transition
 * that arrives after a later one was recorded does not move the row back: it only fills what it
 * established and nothing later contradicts (the time it was first mitigated, the commander), and is
 * appended as `incident.transition_superseded`, so the timeline keeps the lifecycle's order and the fact.
 */
export async function recordIncidentTransition(
  db: Kysely<Database>,
  t: IncidentTransition,
  /** What else the change writes, in the same transaction under the incident's lock. */
  alongside?: (trx: Transaction<Database>) => Promise<void>,
): Promise<void> {
  const at = t.at ?? t.order?.scheduledAt ?? new Date().toISOString();
  const idempotencyKey = transitionIdempotencyKey(t);
  await withIncidentLock(db, t.incidentId, async (trx, row) => {
    await record(trx, row);
    await alongside?.(trx);
  });
  async function record(trx: Transaction<Database>, row: IncidentRow | undefined): Promise<void> {
    const stamp = stampFor[t.state];
    const data = { ...t.data, ...(t.commander ? { commander: t.commander } : {}) };
    if (!row || supersedes(row, t)) {
      await trx
        .updateTable('incidents')
        .set({
          state: t.state,
          updated_at: new Date(),
          ...(stamp ? { [stamp]: at } : {}),
          ...(t.commander ? { commander: t.commander } : {}),
          ...orderColumns(t.order),
        })
        .where('id', '=', t.incidentId)
        .execute();
      await appendTimelineEvent(trx, { incidentId: t.incidentId, kind: `incident.${t.state}`, actor: t.actor, occurredAt: new Date(at), data, idempotencyKey });
      return;
    }
    // Recorded late: the incident has moved on. What the transition established still stands if the
    // row's state is at or past it (a re-opened incident is no longer resolved, so no resolved_at).
    const reached = rank(row.state) >= rank(t.state);
    const fill = {
      ...(stamp && reached && row[stamp] === null ? { [stamp]: at } : {}),
      ...(t.commander && row.commander === null ? { commander: t.commander } : {}),
    };
    if (Object.keys(fill).length > 0)
      await trx
        .updateTable('incidents')
        .set({ ...fill, updated_at: new Date() })
        .where('id', '=', t.incidentId)
        .execute();
    // The same idempotency key: a retry of a transition already recorded as such appends nothing.
    await appendTimelineEvent(trx, {
      incidentId: t.incidentId,
      kind: 'incident.transition_superseded',
      actor: t.actor,
      occurredAt: new Date(at),
      data: { ...data, state: t.state, recordedWhile: row.state },
      idempotencyKey,
    });
  }
}

/**
 * A re-opened incident is live again (`resolved_at` cleared), unless a later transition of its
 * workflow was recorded first. Runs inside the caller's incident lock; returns whether the row moved.
 */
export async function reopenIncidentRow(
  trx: Transaction<Database>,
  incidentId: string,
  state: IncidentState,
  order: TransitionOrder | undefined,
): Promise<boolean> {
  const row = await trx.selectFrom('incidents').select(['state', 'state_run_id', 'state_ordinal']).where('id', '=', incidentId).executeTakeFirst();
  if (row && !supersedes(row, { state, ...(order ? { order } : {}), reopen: true })) return false;
  await trx
    .updateTable('incidents')
    .set({ state, resolved_at: null, updated_at: new Date(), ...orderColumns(order) })
    .where('id', '=', incidentId)
    .execute();
  return true;
}

export async function findIncident(db: Kysely<Database>, incidentId: string): Promise<IncidentRow | undefined> {
  return db.selectFrom('incidents').selectAll().where('id', '=', incidentId).executeTakeFirst();
}

/** The incidents with these ids (in no particular order; unknown ids are left out). */
export async function findIncidents(db: Kysely<Database>, incidentIds: string[]): Promise<IncidentRow[]> {
  const unique = [...new Set(incidentIds)];
  if (unique.length === 0) return [];
  return db.selectFrom('incidents').selectAll().where('id', 'in', unique).execute();
}

/** Responders (re)classified the incident: the row follows, and the timeline says who and why. */
export async function recordIncidentClassified(
  db: Kysely<Database>,
  c: { incidentId: string; actor: string; at: string; from: string[]; to: string[]; reason: string; revision: number },
): Promise<void> {
  await withIncidentLock(db, c.incidentId, async (trx) => {
    await trx
      .updateTable('incidents')
      .set({ classification: jsonb(c.to), updated_at: new Date() })
      .where('id', '=', c.incidentId)
      .execute();
    await appendTimelineEvent(trx, {
      incidentId: c.incidentId,
      kind: 'incident.classified',
      actor: c.actor,
      occurredAt: new Date(c.at),
      data: { from: c.from, to: c.to, reason: c.reason, revision: c.revision },
      idempotencyKey: `incident.classified:${c.revision}`,
    });
  });
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

/** Incidents an export selects, oldest first, with no limit (an export streams them all). */
export async function incidentsForExport(
  db: Kysely<Database>,
  s: { incidentId?: string; systemId?: string; severity?: string; from?: string; to?: string },
): Promise<IncidentRow[]> {
  let query = db.selectFrom('incidents').selectAll();
  if (s.incidentId) query = query.where('id', '=', s.incidentId);
  if (s.systemId) query = query.where('system_id', '=', s.systemId);
  if (s.severity) query = query.where('severity', '=', s.severity);
  if (s.from) query = query.where('opened_at', '>=', new Date(s.from));
  if (s.to) query = query.where('opened_at', '<', new Date(s.to));
  return query.orderBy('opened_at').orderBy('id').execute();
}

/** Whether any incident, drill or not, was ever recorded for a system. */
export async function systemHasIncidents(db: Kysely<Database>, systemId: string): Promise<boolean> {
  return (await db.selectFrom('incidents').select('id').where('system_id', '=', systemId).limit(1).executeTakeFirst()) !== undefined;
}

/** Whether an incident is a drill: its mail goes to the outbox, its fallbacks are not switched for real. */
export async function isDrill(db: Kysely<Database>, incidentId: string): Promise<boolean> {
  const row = await db.selectFrom('incidents').select('drill').where('id', '=', incidentId).executeTakeFirst();
  return row?.drill === true;
}
