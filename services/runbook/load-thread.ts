import { parentPort } from 'node:worker_threads';
import { loadRunbooks, type RunbookSet } from './load.js';

/*
 * The thread in which the runbook catalogue reloads its folder (see LoaderThread in catalogue.ts): one
 * request at a time, answered by its id.
 */
parentPort?.on('message', (request: { id: number; paths: string[] }) => {
  const answer = (message: { id: number; set?: RunbookSet; error?: string }) => parentPort?.postMessage(message);
  loadRunbooks(request.paths).then(
    (set) => answer({ id: request.id, set }),
    (error: unknown) => answer({ id: request.id, error: error instanceof Error ? error.message : String(error) }),
  );
});
