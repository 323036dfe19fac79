import path from 'node:path';
import { Client } from '@temporalio/client';
import type { Config } from './config.js';
import { openConfiguredDatabase } from './db/configured.js';
import { createMailer } from './notification/mailer.js';
import { connectTemporal, connectWorkerTransport } from './temporal/connect.js';
import { installWorkerRuntime } from './temporal/runtime.js';
import { createCorrexWorker } from './worker.js';

const say = (line: string) => process.stdout.write(`correx worker: ${line}\n`);

/** A worker process on its own (`correx worker`): polls the task queue until SIGINT or SIGTERM, then drains. */
export async function runWorkerProcess(config: Config): Promise<void> {
  installWorkerRuntime(config.logLevel);
  const database = await openConfiguredDatabase(config);
  try {
    const target = { address: config.temporal.address ?? 'localhost:7233', namespace: config.temporal.namespace };
    const clientConnection = await connectTemporal(target, { waitSeconds: 10 });
    const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace });
    const connection = await connectWorkerTransport(target);
    try {
      const worker = await createCorrexWorker({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: config.temporal.taskQueue,
        db: database.db,
        mailer: createMailer({ smtpUrl: config.smtpUrl, outboxDir: path.resolve(config.dataDir, 'outbox'), from: config.mailFrom }),
        drillMailer: createMailer({ smtpUrl: undefined, outboxDir: path.resolve(config.dataDir, 'outbox', 'drills'), from: config.mailFrom }),
        secret: (name) => process.env[name],
        client,
      });
      const stop = (signal: string) => {
        say(`${signal} received, finishing in-flight work`);
        worker.shutdown();
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
      say(`polling ${target.address} namespace ${config.temporal.namespace} task queue ${config.temporal.taskQueue}; database ${database.describe}`);
      await worker.run();
      say('stopped');
    } finally {
      await connection.close();
      await clientConnection.close();
    }
  } finally {
    await database.close();
  }
}
