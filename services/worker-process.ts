import path from 'node:path';
import { Client } from '@temporalio/client';
import Fastify from 'fastify';
import type { Config } from './config.js';
import { databaseReachable } from './db/connect.js';
import { openSharedDatabase } from './db/configured.js';
import { OperatorError } from './errors.js';
import { createMailer } from './notification/mailer.js';
import { connectTemporal, connectWorkerTransport, temporalReachable, temporalTarget } from './temporal/connect.js';
import { installWorkerRuntime } from './temporal/runtime.js';
import { ensureSearchAttributes } from './temporal/search-attributes.js';
import { createCorrexWorker } from './worker.js';
import { configuredMatrixSenders } from './chat/service.js';

const say = (line: string) => process.stdout.write(`correx worker: ${line}\n`);

/**
 * A worker process on its own (`correx worker`, any number of them on one PostgreSQL): polls the
 * task queue until SIGINT or SIGTERM, then stops polling and lets in-flight activities finish.
 * Health (`/healthz`) and readiness (`/readyz`) answer on CORREX_WORKER_HEALTH_PORT.
 */
export async function runWorkerProcess(config: Config): Promise<void> {
  installWorkerRuntime(config.logLevel);
  // TLS files are read (and checked) before anything is opened.
  const target = temporalTarget(config, config.temporal.address ?? 'localhost:7233');
  const database = await openSharedDatabase(config, 'correx worker', { waitSeconds: 300, say });
  const cleanups: (() => Promise<unknown>)[] = [() => database.close()];
  try {
    const clientConnection = await connectTemporal(target, { waitSeconds: 300, onWaiting: say });
    cleanups.push(() => clientConnection.close());
    const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace });
    await ensureSearchAttributes(clientConnection, config.temporal.namespace, say);
    const connection = await connectWorkerTransport(target);
    cleanups.push(() => connection.close());
    const worker = await createCorrexWorker({
      connection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      db: database.db,
      mailer: createMailer({ smtpUrl: config.smtpUrl, outboxDir: path.resolve(config.dataDir, 'outbox'), from: config.mailFrom }),
      drillMailer: createMailer({ smtpUrl: undefined, outboxDir: path.resolve(config.dataDir, 'outbox', 'drills'), from: config.mailFrom }),
      secret: (name) => process.env[name],
      publicUrl: () => config.publicUrl,
      client,
      senders: configuredMatrixSenders(config, database.db),
      shutdownGraceTime: '30s',
    });

    const health = Fastify({ logger: false });
    health.get('/healthz', async (_request, reply) => {
      const [temporalUp, databaseUp] = await Promise.all([temporalReachable(clientConnection), databaseReachable(database.db)]);
      return reply
        .code(temporalUp && databaseUp ? 200 : 503)
        .send({ status: temporalUp && databaseUp ? 'ok' : 'unavailable', worker: worker.getState(), temporal: temporalUp, database: databaseUp });
    });
    health.get('/livez', async () => ({ status: 'alive', worker: worker.getState() }));
    health.get('/readyz', async (_request, reply) => {
      const state = worker.getState();
      return reply.code(state === 'RUNNING' ? 200 : 503).send({ status: state === 'RUNNING' ? 'ready' : 'not ready', worker: state });
    });
    try {
      await health.listen({ host: config.http.host, port: config.workerHealthPort });
    } catch (error) {
      throw new OperatorError(
        `cannot serve health checks on ${config.http.host}:${config.workerHealthPort} (CORREX_WORKER_HEALTH_PORT): ${(error as Error).message}`,
      );
    }
    cleanups.push(() => health.close());

    const stop = (signal: string) => {
      say(`${signal} received: no new work; in-flight activities get up to 30 s, the rest is retried by another worker`);
      worker.shutdown();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    say(
      `polling ${target.address} namespace ${config.temporal.namespace} task queue ${config.temporal.taskQueue}; database ${database.describe}; health on :${config.workerHealthPort}`,
    );
    await worker.run();
    say('stopped');
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  }
}
