import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Client } from '@temporalio/client';
import type { Config } from './config.js';
import { openConfiguredDatabase } from './db/configured.js';
import { migrateUp } from './db/migrate.js';
import { ensureLocalAdminToken } from './access/local-admin.js';
import { randomSecret } from './console/session.js';
import { OperatorError } from './errors.js';
import { loadSigningKey } from './export/signing.js';
import { createMailer } from './notification/mailer.js';
import { RunbookCatalogue } from './runbook/catalogue.js';
import { formatProblem } from './runbook/load.js';
import { buildHttpService } from './http/server.js';
import { resolveTemporalBinaries } from './temporal/binaries.js';
import { connectTemporal, connectWorkerTransport, temporalTarget } from './temporal/connect.js';
import { startDevServer, type DevServer } from './temporal/dev-server.js';
import { ensureSearchAttributes } from './temporal/search-attributes.js';
import { installWorkerRuntime } from './temporal/runtime.js';
import { createCorrexWorker } from './worker.js';
import { configuredMatrixSenders, startConfiguredChat } from './chat/service.js';

const say = (line: string) => process.stdout.write(`correx dev: ${line}\n`);

/**
 * The all-in-one local mode: Temporal's dev server (persisted in the data folder), migrations, the
 * worker and the HTTP service in one process tree. Resolves when stopped by SIGINT or SIGTERM.
 */
export async function runDev(config: Config): Promise<void> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  };

  installWorkerRuntime(config.logLevel);
  try {
    // The database first: a wrong DATABASE_URL fails fast, before a Temporal server is started.
    const database = await openConfiguredDatabase(config);
    cleanups.push(() => database.close());
    const applied = await migrateUp(database.db);
    say(`database ${database.describe}: ${applied.length ? `applied ${applied.join(', ')}` : 'schema up to date'}`);

    let devServer: DevServer | undefined;
    let address = config.temporal.address;
    if (!address) {
      const { cli } = resolveTemporalBinaries({ cli: config.temporal.cliPath });
      devServer = await startDevServer({
        cli,
        port: config.temporal.devPort,
        uiPort: config.temporal.uiPort,
        namespace: config.temporal.namespace,
        dbFile: path.resolve(config.dataDir, 'temporal.sqlite'),
      });
      cleanups.push(() => devServer!.stop());
      address = devServer.address;
    }
    const target = temporalTarget(config, address);
    const connection = await connectTemporal(target, { waitSeconds: devServer ? 60 : 10 });
    cleanups.push(() => connection.close());
    say(`Temporal ${devServer ? 'dev server started' : 'reachable'} at ${address}`);

    const client = new Client({ connection, namespace: config.temporal.namespace });
    await ensureSearchAttributes(connection, config.temporal.namespace, say);
    const mailer = createMailer({ smtpUrl: config.smtpUrl, outboxDir: path.resolve(config.dataDir, 'outbox'), from: config.mailFrom });
    const workerConnection = await connectWorkerTransport(target);
    cleanups.push(() => workerConnection.close());
    const worker = await createCorrexWorker({
      connection: workerConnection,
      namespace: config.temporal.namespace,
      taskQueue: config.temporal.taskQueue,
      db: database.db,
      mailer,
      drillMailer: createMailer({ smtpUrl: undefined, outboxDir: path.resolve(config.dataDir, 'outbox', 'drills'), from: config.mailFrom }),
      secret: (name) => process.env[name],
      publicUrl: () => config.publicUrl,
      client,
      senders: configuredMatrixSenders(config, database.db),
    });
    const workerDone = worker.run();
    cleanups.push(async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await workerDone;
    });

    const runbooks = new RunbookCatalogue(config.runbooksDir, database.db);
    cleanups.push(async () => runbooks.close());
    // Loaded before serving, so that no request waits for a parse; later edits reload in the background.
    const runbookSet = await runbooks.current();
    say(`runbooks in ${config.runbooksDir}: ${[...runbookSet.runbooks.keys()].join(', ') || 'none'}`);
    for (const problem of runbookSet.problems) say(`  runbook problem: ${formatProblem(problem)}`);
    for (const warning of runbookSet.warnings) say(`  runbook warning: ${formatProblem(warning)}`);

    const localAdmin = await ensureLocalAdminToken(database.db, config.dataDir);
    // A new key each start, so a link is good only while this process runs; the file is for finding it again.
    const signInKey = randomSecret();
    const http = await buildHttpService({
      db: database.db,
      databaseBackend: database.backend,
      temporal: { client, connection, address, taskQueue: config.temporal.taskQueue },
      runbooks,
      rateLimit: config.http.rateLimit,
      signingKey: await loadSigningKey({ file: config.signingKeyFile, dataDir: config.dataDir, createIfMissing: true }),
      logLevel: config.logLevel === 'info' ? 'warn' : config.logLevel,
      // CORREX_TEMPORAL_UI_URL, or the UI of the dev server started here.
      ...((config.temporal.uiUrl ?? devServer?.uiUrl) ? { temporalUiUrl: config.temporal.uiUrl ?? devServer!.uiUrl } : {}),
      console: {
        localSignIn: { key: signInKey, adminToken: () => localAdmin.secret },
        ...(config.smtpUrl ? {} : { outboxDir: path.resolve(config.dataDir, 'outbox') }),
      },
    });
    cleanups.push(() => http.close());
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

    const chat = startConfiguredChat(config, { db: database.db, client, exclusive: database.backend === 'postgres', say });
    cleanups.push(() => chat.stop());
    const apiUrl = `http://${config.http.host}:${config.http.port}`;
    const signInUrl = `${apiUrl}/console/local-sign-in?key=${signInKey}`;
    const signInFile = path.resolve(config.dataDir, 'console-sign-in.url');
    await writeFile(signInFile, `${signInUrl}\n`, { mode: 0o600 });
    await chmod(signInFile, 0o600);
    say(`ready`);
    say(`  console      ${signInUrl}`);
    say(`               (signs this browser in as the local administrator; also in ${signInFile})`);
    say(`  API          ${apiUrl}  (health: ${apiUrl}/healthz)`);
    if (devServer) say(`  Temporal UI  ${devServer.uiUrl}`);
    say(`  API token    ${localAdmin.file} (local administrator; the correx CLI here uses it)`);
    say(`  Temporal     ${address} (namespace ${config.temporal.namespace}, task queue ${config.temporal.taskQueue})`);
    say(`  data         ${path.resolve(config.dataDir)}`);
    say(`  mail         ${mailer.describe}`);
    say('press Ctrl-C to stop');

    await new Promise<void>((resolve, reject) => {
      const stop = (signal: string) => {
        say(`${signal} received, stopping`);
        resolve();
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
      workerDone.then(
        () => reject(new Error('the worker stopped unexpectedly')),
        (error: unknown) => reject(error),
      );
    });
  } finally {
    await stopAll();
  }
  say('stopped');
}
