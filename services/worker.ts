import { fileURLToPath } from 'node:url';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { createActivities, type ActivityDependencies } from '../activities/index.js';

/**
 * The workflows' entry, which the worker bundles at start: the compiled `dist/workflows/index.js`
 * when this runs compiled (bin/correx.js), the TypeScript source when it runs from source (vitest, tsx).
 */
export const workflowsPath = fileURLToPath(new URL(`../workflows/index${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url));

export interface CorrexWorkerOptions extends ActivityDependencies {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /** Pre-bundled workflow code (tests bundle once per run); otherwise bundled from `workflows/` at start. */
  workflowBundle?: { code: string };
  identity?: string;
  /** How long a SIGTERM waits for in-flight activities before they are left to another worker's retry. */
  shutdownGraceTime?: string;
}

/** A worker running Correx's workflows and activities on one task queue. */
export async function createCorrexWorker(options: CorrexWorkerOptions): Promise<Worker> {
  const { connection, namespace, taskQueue, workflowBundle, identity, shutdownGraceTime, ...deps } = options;
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    ...(workflowBundle ? { workflowBundle } : { workflowsPath }),
    activities: createActivities(deps),
    ...(identity ? { identity } : {}),
    ...(shutdownGraceTime ? { shutdownGraceTime: shutdownGraceTime as `${number}s` } : {}),
  });
}
