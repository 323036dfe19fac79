import type { Kysely } from 'kysely';
import type { Database } from '../services/db/schema.js';
import { recordIncidentClosed, recordIncidentOpened } from '../services/incident/repository.js';
import type { IncidentClosing, IncidentStart } from '../services/incident/schema.js';

export interface IncidentActivityDependencies {
  db: Kysely<Database>;
}

export function createIncidentActivities({ db }: IncidentActivityDependencies) {
  return {
    /** Projects the opened incident into PostgreSQL; idempotent, so a retry or replay writes nothing twice. */
    async recordIncidentOpened(incident: IncidentStart & { workflowId: string }): Promise<void> {
      await recordIncidentOpened(db, incident);
    },
    async recordIncidentClosed(incidentId: string, closing: IncidentClosing): Promise<void> {
      await recordIncidentClosed(db, incidentId, closing);
    },
  };
}
