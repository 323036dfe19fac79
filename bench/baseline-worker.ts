// The bare baseline's worker, a process of its own like `correx worker`.
// Usage: node --import tsx bench/baseline-worker.ts <temporal-address> <task-queue>
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { installWorkerRuntime } from '../services/temporal/runtime.js';
import type { BaselineActivities } from './baseline-workflow.js';

const [address, taskQueue] = process.argv.slice(2);
if (!address || !taskQueue) throw new Error('usage: baseline-worker.ts <temporal-address> <task-queue>');
installWorkerRuntime('warn');

const activities: BaselineActivities = {
  async reportIn(url) {
    const response = await fetch(url, { method: 'POST' });
    await response.arrayBuffer();
  },
  async recordNothing() {},
};

const connection = await NativeConnection.connect({ address });
const worker = await Worker.create({
  connection,
  namespace: 'default',
  taskQueue,
  workflowsPath: fileURLToPath(new URL('./baseline-workflow.ts', import.meta.url)),
  activities,
});
process.once('SIGTERM', () => worker.shutdown());
process.once('SIGINT', () => worker.shutdown());
process.stdout.write('baseline worker: polling\n');
await worker.run();
await connection.close();
process.stdout.write('baseline worker: stopped\n');
