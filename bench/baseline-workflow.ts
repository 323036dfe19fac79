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
