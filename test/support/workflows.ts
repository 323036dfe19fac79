import type { Client } from '@temporalio/client';

/**
 * Each activity that a running workflow of the client's namespace retries after a failure, as
 * `workflowId: activity attempt n: failure`. An activity that fails is retried, not failed, so its
 * workflow stays running and no response shows it: only this does.
 */
export async function failingActivities(client: Client): Promise<string[]> {
  const failing: string[] = [];
  for await (const execution of client.workflow.list({ query: 'ExecutionStatus = "Running"' })) {
    const description = await client.workflow.getHandle(execution.workflowId, execution.runId).describe();
    for (const activity of description.raw.pendingActivities ?? []) {
      if ((activity.attempt ?? 1) > 1 || activity.lastFailure) {
        failing.push(`${execution.workflowId}: ${activity.activityType?.name} attempt ${activity.attempt}: ${activity.lastFailure?.message ?? ''}`);
      }
    }
  }
  return failing;
}

/**
 * Waits until the namespace's running workflows are done with what they were sent (no workflow task or
 * activity outstanding in any of them), then returns []; an activity still retrying after a failure when
 * `timeoutMs` is up is returned (see failingActivities). An activity on its first attempt may yet fail,
 * and one that failed once may yet succeed: only what is left failing once things settle counts.
 */
export async function failingActivitiesOnceQuiet(client: Client, timeoutMs = 60_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await quiet(client)) return [];
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const failing = await failingActivities(client);
  if (failing.length > 0) return failing;
  throw new Error(`the workflows were still busy after ${timeoutMs} ms, with no activity failing`);
}

async function quiet(client: Client): Promise<boolean> {
  for await (const execution of client.workflow.list({ query: 'ExecutionStatus = "Running"' })) {
    const { raw } = await client.workflow.getHandle(execution.workflowId, execution.runId).describe();
    if (raw.pendingWorkflowTask || (raw.pendingActivities?.length ?? 0) > 0) return false;
  }
  return true;
}
