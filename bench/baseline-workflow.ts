// The bare baseline: a workflow that calls one no-op activity, on the same Temporal server as Correx.
// The activity only reports in to the benchmark's timestamping endpoint, as the webhook enforcer does.
import { proxyActivities } from '@temporalio/workflow';

export interface BaselineActivities {
  reportIn(url: string): Promise<void>;
}

const { reportIn } = proxyActivities<BaselineActivities>({ startToCloseTimeout: '15 seconds' });

export async function bareWorkflow(url: string): Promise<void> {
  await reportIn(url);
}
