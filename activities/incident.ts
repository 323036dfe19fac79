import type { Kysely } from 'kysely';
import type { Database } from '../services/db/schema.js';
import { acknowledgePages } from '../services/escalation/repository.js';
import { planIncident, type IncidentPlan } from '../services/incident/plan.js';
import { recordIncidentOpened, recordIncidentTransition, type IncidentTransition } from '../services/incident/repository.js';
import type { IncidentStart } from '../services/incident/schema.js';
import { findRunbookVersion } from '../services/runbook/repository.js';
import { appendTimelineEvent } from '../services/timeline/repository.js';

export interface IncidentActivityDependencies {
  db: Kysely<Database>;
}

export function createIncidentActivities({ db }: IncidentActivityDependencies) {
  return {
    /** The incident's rules from the runbook version it started under (immutable, so replay-safe). */
    async prepareIncident(runbookVersion: string): Promise<IncidentPlan> {
      const runbook = await findRunbookVersion(db, runbookVersion);
      if (!runbook) throw new Error(`runbook version ${runbookVersion} is not recorded in the database`);
      return planIncident(runbook, runbookVersion);
    },
    /** Projects the opened incident into PostgreSQL; idempotent, so a retry or replay writes nothing twice. */
    async recordIncidentOpened(incident: IncidentStart & { workflowId: string }): Promise<void> {
      await recordIncidentOpened(db, incident);
    },
    /** Any other fact on the incident's timeline (an escalation exhausted, a missed ratification…). */
    async recordIncidentEvent(event: { incidentId: string; kind: string; actor: string; data: Record<string, unknown>; idempotencyKey: string }): Promise<void> {
      await appendTimelineEvent(db, { ...event, occurredAt: new Date() });
    },
    async recordIncidentTransition(transition: IncidentTransition): Promise<void> {
      await recordIncidentTransition(db, transition);
      if (transition.state === 'acknowledged') await acknowledgePages(db, transition.incidentId, transition.actor, transition.at ?? new Date().toISOString());
    },
  };
}
