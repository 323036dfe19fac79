import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { InvalidInput } from '../errors.js';
import { incidentWorkflowId, legacyIncidentWorkflowId } from '../identity.js';
import type { RunbookCatalogue } from '../runbook/catalogue.js';
import type { IncidentClient, TriggerOutcome } from './client.js';
import type { IncidentTrigger } from './schema.js';

export interface TriggerDependencies {
  db: Kysely<Database>;
  incidents: IncidentClient;
  runbooks: RunbookCatalogue;
}

/**
 * Opens an incident (or joins the open one) under its system's current runbook, whose version the
 * incident keeps for life. Rejects systems without a runbook and severities the runbook lacks.
 */
export async function triggerIncident(
  deps: TriggerDependencies,
  trigger: IncidentTrigger,
  actor: string,
  options: { recordWithinMs?: number } = {},
): Promise<TriggerOutcome & { runbookVersion: string }> {
  const inUse = await deps.runbooks.find(trigger.systemId);
  if (!inUse) {
    const known = await deps.runbooks.systemIds();
    throw new InvalidInput([{ path: 'systemId', message: `no runbook defines system '${trigger.systemId}' (known: ${known.join(', ') || 'none'})` }]);
  }
  const severities = inUse.runbook.severities.map((s) => s.id);
  if (!severities.includes(trigger.severity)) {
    throw new InvalidInput([
      { path: 'severity', message: `'${trigger.severity}' is not a severity of ${trigger.systemId}'s runbook (${severities.join(', ')})` },
    ]);
  }
  await deps.runbooks.record(deps.db, inUse);
  const outcome = await deps.incidents.trigger(trigger, actor, {
    runbookVersion: inUse.version,
    ...options,
    openWorkflowId: trigger.dedupKey ? await openLegacyWorkflow(deps.db, trigger.systemId, trigger.dedupKey) : undefined,
  });
  return { ...outcome, runbookVersion: inUse.version };
}

/**
 * The workflow of an open incident with this dedup key started under the id scheme before ids were made
 * shell-safe, as recorded with the incident; undefined when the key's id did not change or none is open.
 */
async function openLegacyWorkflow(db: Kysely<Database>, systemId: string, dedupKey: string): Promise<string | undefined> {
  const legacy = legacyIncidentWorkflowId(systemId, dedupKey);
  if (legacy === incidentWorkflowId(systemId, dedupKey)) return undefined;
  const row = await db
    .selectFrom('incidents')
    .select('workflow_id')
    .where('workflow_id', '=', legacy)
    .where('state', '!=', 'closed')
    .limit(1)
    .executeTakeFirst();
  return row?.workflow_id;
}
