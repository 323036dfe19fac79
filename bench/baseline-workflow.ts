// The bare baseline: a workflow that calls one no-op activity, on the same Temporal server as Correx.
// The activity only reports in to the benchmark's timestamping endpoint, as the webhook enforcer does.
import { condition, defineSignal, defineUpdate, proxyActivities, proxyLocalActivities, setHandler } from '@temporalio/workflow';

export interface BaselineActivities {
  reportIn(url: string): Promise<void>;
  recordNothing(): Promise<void>;
}

const { reportIn } = proxyActivities<BaselineActivities>({ startToCloseTimeout: '15 seconds' });

export async function bareWorkflow(url: string): Promise<void> {
  await reportIn(url);
}

// The bare Update: a person's action as Temporal alone answers it, the floor under acknowledging or
// proposing. The handler records nothing but runs one no-op local activity, as Correx's handlers record.
export const bareAct = defineUpdate<void>('bareAct');
/** The same, its handler awaiting one no-op activity task, as Correx's handlers await their recording. */
export const bareActRemotely = defineUpdate<void>('bareActRemotely');
export const bareEnd = defineSignal('bareEnd');
const { recordNothing } = proxyLocalActivities<BaselineActivities>({ startToCloseTimeout: '15 seconds' });
const remotely = proxyActivities<BaselineActivities>({ startToCloseTimeout: '15 seconds' });

export async function bareUpdateWorkflow(): Promise<void> {
  let ended = false;
  setHandler(bareAct, async () => {
    await recordNothing();
  });
  setHandler(bareActRemotely, async () => {
    await remotely.recordNothing();
  });
  setHandler(bareEnd, () => {
    ended = true;
  });
  await condition(() => ended);
}

// The bare journey: Correx's break-glass journey as Temporal alone answers it, from a running workflow:
// one Update answered in the workflow task that accepts it (the acknowledgement), then one whose workflow
// task schedules the activity that reports in (the proposal, applied at once). No HTTP, no database, no
// opening work beside it: the round trips the journey cannot do without.
export const bareAcknowledge = defineUpdate<void>('bareAcknowledge');
export const barePropose = defineUpdate<void, [string]>('barePropose');

export async function bareJourneyWorkflow(): Promise<void> {
  let applying: Promise<void> | undefined;
  setHandler(bareAcknowledge, () => {});
  setHandler(barePropose, (url) => {
    applying = reportIn(url);
  });
  await condition(() => applying !== undefined);
  await applying;
}
