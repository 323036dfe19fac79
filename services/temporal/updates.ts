import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ActionRefused } from '../errors.js';

/** A workflow's validator or handler refused an update: the caller gets the workflow's reason. */
export async function refusalsAsErrors<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) throw new ActionRefused(error.cause?.message ?? error.message);
    throw error;
  }
}
