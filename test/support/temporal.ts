import { randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { NativeConnection, bundleWorkflowCode, type Worker } from '@temporalio/worker';
import type { Kysely } from 'kysely';
import { inject } from 'vitest';
import type { Database } from '../../services/db/schema.js';
import { createMailer, type Mailer } from '../../services/notification/mailer.js';
import { installWorkerRuntime } from '../../services/temporal/runtime.js';
import { createCorrexWorker, workflowsPath } from '../../services/worker.js';

let bundle: Promise<{ code: string }> | undefined;
/** The run's bundle, or one of this file's own with workflow interceptors (a few seconds to build). */
function workflowBundle(interceptorModules: string[] = []): Promise<{ code: string }> {
  if (interceptorModules.length > 0) return bundleWorkflowCode({ workflowsPath, workflowInterceptorModules: interceptorModules, logger: quiet });
  bundle ??= readFile(inject('workflowBundlePath'), 'utf8').then((code) => ({ code }));
  return bundle;
}
const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error };

export interface RunningWorker {
  worker: Worker;
  client: Client;
  connection: Connection;
  taskQueue: string;
  stop(): Promise<void>;
}

export interface WorkerOptions {
  /** Where pages and notices go; by default an outbox folder in the temp directory. */
  mailer?: Mailer;
  /** Where drills' mail goes (an outbox by default). */
  drillMailer?: Mailer;
  /** The console origin in pages' and notices' links (the stack's API when it has one). */
  publicUrl?: () => string;
  /** Secrets by environment variable name (webhook HMAC keys). */
  secrets?: Record<string, string>;
  /** Poll this task queue (a restarted worker takes over its predecessor's); a fresh one by default. */
  taskQueue?: string;
  /** Workflow interceptor modules (files) bundled with the workflows, e.g. to slow a workflow's queries down. */
  workflowInterceptorModules?: string[];
}

let claimed: Promise<string> | undefined;

/** This test file's namespace on the shared dev server, claimed once (an exclusive file per namespace). */
export function testNamespace(): Promise<string> {
  claimed ??= (async () => {
    const { count, claims } = inject('temporalNamespaces');
    for (let i = 1; i <= count; i++) {
      try {
        await writeFile(path.join(claims, `test-${i}`), String(process.pid), { flag: 'wx' });
        return `test-${i}`;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
    throw new Error(`all ${count} test namespaces are taken: raise namespaceCount in test/support/global-setup.ts`);
  })();
  return claimed;
}

async function runWorker(
  connections: { client: Client; connection: Connection; native: NativeConnection; closeConnections: () => Promise<void>; namespace: string },
  db: Kysely<Database>,
  options: WorkerOptions,
): Promise<RunningWorker> {
  installWorkerRuntime('warn');
  const taskQueue = options.taskQueue ?? `test-${randomUUID()}`;
  const worker = await createCorrexWorker({
    connection: connections.native,
    namespace: connections.namespace,
    taskQueue,
    db,
    mailer: options.mailer ?? createMailer({ smtpUrl: undefined, outboxDir: path.join(os.tmpdir(), `correx-outbox-${taskQueue}`), from: 'correx@test.local' }),
    drillMailer:
      options.drillMailer ??
      createMailer({ smtpUrl: undefined, outboxDir: path.join(os.tmpdir(), `correx-drill-outbox-${taskQueue}`), from: 'correx@test.local' }),
    secret: (name) => options.secrets?.[name],
    publicUrl: options.publicUrl ?? (() => 'http://correx.test'),
    client: connections.client,
    workflowBundle: await workflowBundle(options.workflowInterceptorModules),
  });
  const running = worker.run();
  return {
    worker,
    client: connections.client,
    connection: connections.connection,
    taskQueue,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connections.closeConnections();
    },
  };
}

/** A Correx worker on its own task queue of the run's shared Temporal dev server. */
export async function startDevServerWorker(db: Kysely<Database>, options: WorkerOptions = {}): Promise<RunningWorker> {
  installWorkerRuntime('warn');
  const address = inject('temporalAddress');
  const namespace = await testNamespace();
  const connection = await Connection.connect({ address });
  const native = await NativeConnection.connect({ address });
  return runWorker(
    {
      namespace,
      client: new Client({ connection, namespace }),
      connection,
      native,
      closeConnections: async () => {
        await native.close();
        await connection.close();
      },
    },
    db,
    options,
  );
}

/**
 * A private time-skipping Temporal server (time skipping is global to a server, so never shared)
 * with a Correx worker on it.
 */
export async function startTimeSkippingWorker(
  db: Kysely<Database>,
  options: WorkerOptions = {},
): Promise<RunningWorker & { environment: TestWorkflowEnvironment }> {
  installWorkerRuntime('warn');
  const environment = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: inject('temporalTestServerPath') } },
  });
  const running = await runWorker(
    {
      client: environment.client,
      connection: environment.connection,
      native: environment.nativeConnection,
      closeConnections: () => environment.teardown(),
      namespace: 'default',
    },
    db,
    options,
  );
  return { ...running, environment };
}
