import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { InvalidInput } from '../errors.js';
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
  const outcome = await deps.incidents.trigger(trigger, actor, { runbookVersion: inUse.version });
  return { ...outcome, runbookVersion: inUse.version };
}
