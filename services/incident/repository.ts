import type { Kysely } from 'kysely';
import type { Database, IncidentRow } from '../db/schema.js';
import { jsonb } from '../db/jsonb.js';
import { appendTimelineEvent } from '../timeline/repository.js';
import type { IncidentClosing, IncidentStart } from './schema.js';

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
      },
      idempotencyKey: 'incident.opened',
    });
  });
}

export async function recordIncidentClosed(db: Kysely<Database>, incidentId: string, closing: IncidentClosing): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('incidents')
      .set({ state: 'closed', closed_at: closing.at, updated_at: new Date() })
      .where('id', '=', incidentId)
      .execute();
    await appendTimelineEvent(trx, {
      incidentId,
      kind: 'incident.closed',
      actor: closing.actor,
      occurredAt: new Date(closing.at),
      data: { reason: closing.reason },
      idempotencyKey: 'incident.closed',
    });
  });
}

export async function findIncident(db: Kysely<Database>, incidentId: string): Promise<IncidentRow | undefined> {
  return db.selectFrom('incidents').selectAll().where('id', '=', incidentId).executeTakeFirst();
}

export async function listIncidents(db: Kysely<Database>, options: { limit: number }): Promise<IncidentRow[]> {
  return db.selectFrom('incidents').selectAll().orderBy('opened_at', 'desc').orderBy('id').limit(options.limit).execute();
}
