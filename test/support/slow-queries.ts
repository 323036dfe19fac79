/**
 * A workflow interceptor module (bundled into a test worker's workflows) that makes every query take a
 * while to answer. A query answered after a local activity finished, but before the workflow saw its
 * result, splits the workflow task in two (sdk-core completes it with the activity's record and asks
 * for a new one), which replay then reads back differently: this makes that moment likely, so that a
 * test can check that the histories it leaves replay.
 */
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';

/** Busy for a fixed amount of work: time does not move inside a workflow task. */
function busy(): number {
  let sum = 0;
  for (let i = 0; i < 40_000_000; i++) sum += i % 7;
  return sum;
}

export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [
    {
      async handleQuery(input, next) {
        if (busy() < 0) throw new Error('unreachable');
        return next(input);
      },
    },
  ],
});
