import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ActionRefused } from '../errors.js';

/**
 * The server's rejection of an Update that a worker took with its workflow task but did not answer (a
 * worker stopping, or a query beside the task): no handler ran and nothing is on the history, so the
 * same Update is sent again rather than shown to the person as a refusal.
 */
function notProcessed(error: unknown): boolean {
  return error instanceof WorkflowUpdateFailedError && /wasn't processed by worker/.test(error.cause?.message ?? error.message);
}

/** A workflow's validator or handler refused an update: the caller gets the workflow's reason. */
export async function refusalsAsErrors<T>(send: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send();
    } catch (error) {
      if (notProcessed(error) && attempt < 5) {
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
        continue;
      }
      if (error instanceof WorkflowUpdateFailedError) throw new ActionRefused(error.cause?.message ?? error.message);
      throw error;
    }
  }
}
