import type { ActivityOptions } from '@temporalio/workflow';

/**
 * For activities that record or notify idempotently: retrying until the database or mail server is
 * back is always safe, so they never give up.
 */
export const untilDone: ActivityOptions = {
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' },
};
