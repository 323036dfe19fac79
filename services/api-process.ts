import { Client } from '@temporalio/client';
import type { Config } from './config.js';
import { openSharedDatabase } from './db/configured.js';
import { OperatorError } from './errors.js';
import { loadSigningKey } from './export/signing.js';
import { buildHttpService } from './http/server.js';
import { startConfiguredChat } from './chat/service.js';
import { RunbookCatalogue } from './runbook/catalogue.js';
import { formatProblem } from './runbook/load.js';
import { connectTemporal, temporalTarget } from './temporal/connect.js';

const say = (line: string) => process.stdout.write(`correx api: ${line}\n`);

/**
 * The HTTP API alone (`correx api`), stateless, any number of instances on one PostgreSQL and one
 * Temporal cluster. On SIGTERM it stops being ready, finishes the requests in flight, and exits.
 */
export async function runApiProcess(config: Config): Promise<void> {
  if (!config.signingKeyFile) {
    throw new OperatorError(
      'correx api needs CORREX_SIGNING_KEY_FILE: every API instance must sign exports with the same Ed25519 key (openssl genpkey -algorithm ed25519 -out signing-key.pem)',
    );
  }
  const signingKey = await loadSigningKey({ file: config.signingKeyFile, dataDir: config.dataDir, createIfMissing: false });
  // TLS files are read (and checked) before anything is opened.
  const target = temporalTarget(config, config.temporal.address ?? 'localhost:7233');
  const database = await openSharedDatabase(config, 'correx api', { waitSeconds: 300, say });
  const cleanups: (() => Promise<unknown>)[] = [() => database.close()];
  try {
    const connection = await connectTemporal(target, { waitSeconds: 300, onWaiting: say });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: config.temporal.namespace });
    const runbooks = new RunbookCatalogue(config.runbooksDir, database.db);
    cleanups.push(async () => runbooks.close());
    // Loaded before serving, so that no request waits for a parse; later edits reload in the background.
    const runbookSet = await runbooks.current();
    for (const problem of runbookSet.problems) say(`runbook problem: ${formatProblem(problem)}`);
    for (const warning of runbookSet.warnings) say(`runbook warning: ${formatProblem(warning)}`);

    let accepting = true;
    const http = await buildHttpService({
      db: database.db,
      databaseBackend: 'postgres',
      temporal: { client, connection, address: target.address, taskQueue: config.temporal.taskQueue },
      runbooks,
      signingKey,
      rateLimit: config.http.rateLimit,
      ...(config.http.trustProxy !== undefined ? { trustProxy: config.http.trustProxy } : {}),
      logLevel: config.logLevel === 'info' ? 'warn' : config.logLevel,
      accepting: () => accepting,
      ...(config.temporal.uiUrl ? { temporalUiUrl: config.temporal.uiUrl } : {}),
    });
    try {
      await http.listen({ host: config.http.host, port: config.http.port });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new OperatorError(
        code === 'EADDRINUSE'
          ? `port ${config.http.port} is already in use; set CORREX_HTTP_PORT`
          : `cannot listen on ${config.http.host}:${config.http.port}: ${(error as Error).message}`,
      );
    }
    const chat = startConfiguredChat(config, { db: database.db, client, exclusive: true, say });
    cleanups.push(() => chat.stop());
    say(
      `serving http://${config.http.host}:${config.http.port} (Temporal ${target.address} namespace ${config.temporal.namespace}, task queue ${config.temporal.taskQueue}; database ${database.describe}; runbooks ${[...runbookSet.runbooks.keys()].join(', ') || 'none'})`,
    );

    const signal = await new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'));
      process.once('SIGTERM', () => resolve('SIGTERM'));
    });
    // Not ready first, so load balancers stop sending; then the requests in flight finish.
    accepting = false;
    say(`${signal} received: draining`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await http.close();
    say('stopped');
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  }
}
