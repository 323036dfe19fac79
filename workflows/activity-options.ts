import type { ActivityOptions, LocalActivityOptions } from '@temporalio/workflow';

/**
 * For activities that record or notify idempotently: retrying until the database or mail server is
 * back is always safe, so they never give up.
 */
export const untilDone: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};

/**
 * The same, run as a local activity: in the worker that runs the workflow task, its result recorded
 * with that task's completion. A step a person waits for costs one workflow task instead of a round
 * trip to the server for the activity and another workflow task for its result. Only for idempotent
 * steps (a local activity may run again if its workflow task is lost), and for short ones: the workflow
 * task waits for it. Retries past a minute's backoff become timers, as the SDK does.
 */
export const untilDoneHere: LocalActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};
