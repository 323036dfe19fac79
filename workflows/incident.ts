import { condition, defineQuery, defineSignal, proxyActivities, setHandler, allHandlersFinished, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { IncidentClosing, IncidentSnapshot, IncidentStart, TriggerArrival } from '../services/incident/schema.js';

const { recordIncidentOpened, recordIncidentClosed } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  // Projection writes are idempotent, so retrying until the database is back is always safe.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
});

export const incidentStateQuery = defineQuery<IncidentSnapshot>('incidentState');
/** Every trigger for this system and dedup key, the one that started the workflow included. */
export const triggerArrivedSignal = defineSignal<[TriggerArrival]>('triggerArrived');
export const closeIncidentSignal = defineSignal<[IncidentClosing]>('closeIncident');

/** One incident, from trigger to close. Later stages (escalation, corrections, review) hang off this. */
export async function incidentWorkflow(start: IncidentStart): Promise<IncidentSnapshot> {
  const snapshot: IncidentSnapshot = {
    incidentId: start.incidentId,
    systemId: start.systemId,
    dedupKey: start.dedupKey,
    title: start.title,
    severity: start.severity,
    state: 'triggered',
    openedAt: start.openedAt,
    openedBy: start.openedBy,
    runbookVersion: start.runbookVersion,
    joinedTriggers: 0,
  };
  let closing: IncidentClosing | undefined;

  setHandler(incidentStateQuery, () => snapshot);
  setHandler(triggerArrivedSignal, (arrival) => {
    if (arrival.incidentId !== start.incidentId) snapshot.joinedTriggers += 1;
  });
  setHandler(closeIncidentSignal, (request) => {
    closing ??= request;
  });

  await recordIncidentOpened({ ...start, workflowId: workflowInfo().workflowId });

  await condition(() => closing !== undefined);
  await recordIncidentClosed(start.incidentId, closing!);
  snapshot.state = 'closed';
  await condition(allHandlersFinished);
  return snapshot;
}
