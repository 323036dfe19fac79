import { Context } from '@temporalio/activity';
import type { Client, Connection } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { searchAttributesRegistered } from '../services/temporal/search-attributes.js';
import type { Database } from '../services/db/schema.js';
import { planIncident, type IncidentPlan } from '../services/incident/plan.js';
import {
  recordIncidentClassified,
  recordIncidentOpened,
  reopenIncidentRow,
  type IncidentTransition,
  type TransitionOrder,
} from '../services/incident/repository.js';
import type { IncidentStart, IncidentState } from '../services/incident/schema.js';
import { confirmTransition, recordTransition } from '../services/incident/transition.js';
import { findRunbookVersion } from '../services/runbook/repository.js';
import type { TimelineEventKind } from '../services/timeline/kinds.js';
import { appendTimelineEvent, withIncidentLock } from '../services/timeline/repository.js';

export interface IncidentActivityDependencies {
  db: Kysely<Database>;
  client: Client;
}

/**
 * This activity's place in its workflow's order: Temporal numbers a run's activities (the default
 * activity id) in the order the workflow schedules them. Undefined outside an activity, or for an
 * activity given an id of its own.
 */
function transitionOrder(): TransitionOrder | undefined {
  let info;
  try {
    info = Context.current().info;
  } catch {
    return undefined;
  }
  const ordinal = Number(info.activityId);
  if (!info.workflowExecution || !/^\d+$/.test(info.activityId) || !Number.isSafeInteger(ordinal)) return undefined;
  return { runId: info.workflowExecution.runId, ordinal, scheduledAt: new Date(info.scheduledTimestampMs).toISOString() };
}

export function createIncidentActivities({ db, client }: IncidentActivityDependencies) {
  /** The incident's rules from the runbook version it started under (immutable, so replay-safe). */
  const prepareIncident = async (runbookVersion: string): Promise<IncidentPlan> => {
    const runbook = await findRunbookVersion(db, runbookVersion);
    if (!runbook) throw new Error(`runbook version ${runbookVersion} is not recorded in the database`);
    return {
      ...planIncident(runbook, runbookVersion),
      searchAttributes: await searchAttributesRegistered(client.connection as Connection, client.options.namespace),
    };
  };
  return {
    prepareIncident,
    /**
     * Both of the above in one activity, the opening recorded once the rules are read: the incident is
     * on record, and people may act on it, one round trip to the server sooner.
     */
    async openIncident(incident: IncidentStart & { workflowId: string }): Promise<IncidentPlan> {
      const plan = await prepareIncident(incident.runbookVersion);
      await recordIncidentOpened(db, incident);
      return plan;
    },
    /** Projects the opened incident into PostgreSQL; idempotent, so a retry or replay writes nothing twice. */
    async recordIncidentOpened(incident: IncidentStart & { workflowId: string }): Promise<void> {
      await recordIncidentOpened(db, incident);
    },
    /** Any other fact on the incident's timeline (an escalation exhausted, a missed ratification…). */
    async recordIncidentEvent(event: {
      incidentId: string;
      kind: TimelineEventKind;
      actor: string;
      data: Record<string, unknown>;
      idempotencyKey: string;
      state?: IncidentState;
    }): Promise<void> {
      const { state, ...entry } = event;
      await withIncidentLock(db, event.incidentId, async (trx) => {
        // A re-opened incident is live again: its row says so (unless a later transition got there first).
        if (state) await reopenIncidentRow(trx, event.incidentId, state, transitionOrder());
        await appendTimelineEvent(trx, { ...entry, occurredAt: new Date() });
      });
    },
    /** Responders (re)classified the incident: the projection and the timeline, with the reason. */
    async recordIncidentClassified(c: {
      incidentId: string;
      actor: string;
      at: string;
      from: string[];
      to: string[];
      reason: string;
      revision: number;
    }): Promise<void> {
      await recordIncidentClassified(db, c);
    },
    /** `writtenByCaller`: earlier changes a caller wrote before answering, confirmed first (written if it died first). */
    async recordIncidentTransition(transition: IncidentTransition & { writtenByCaller?: IncidentTransition[] }): Promise<void> {
      const { writtenByCaller = [], ...t } = transition;
      for (const earlier of writtenByCaller) await confirmTransition(db, earlier);
      const order = transitionOrder();
      await recordTransition(db, { ...t, ...(order ? { order } : {}) });
    },
    /** Changes a caller wrote before answering, which no later record of the incident has confirmed: written if it died first. */
    async confirmIncidentTransitions(transitions: IncidentTransition[]): Promise<void> {
      for (const t of transitions) await confirmTransition(db, t);
    },
  };
}
