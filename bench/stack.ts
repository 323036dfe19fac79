import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import pg from 'pg';
import { parse, stringify } from 'yaml';
import { createToken } from '../services/access/repository.js';
import type { Role } from '../services/access/roles.js';
import { openDatabase, type DatabaseHandle } from '../services/db/connect.js';
import { migrateUp } from '../services/db/migrate.js';
import { crossCheck } from '../services/runbook/cross-check.js';
import { Runbook } from '../services/runbook/schema.js';
import { resolveTemporalBinaries } from '../services/temporal/binaries.js';
import { ensureSearchAttributes } from '../services/temporal/search-attributes.js';
import { freePorts, startCorrex, type LongRunningCorrex } from '../test/support/cli.js';
import { projectRoot, testPostgresUrl } from '../test/support/environment.js';
import { ControlEndpoint } from '../test/support/control-endpoint.js';

export const SYSTEM = 'frontier-assistant';
const SECRET_ENV = 'CORREX_BENCH_WEBHOOK_SECRET';
export const TASK_QUEUE = 'correx-bench';
export const BASELINE_TASK_QUEUE = 'bench-baseline';

const say = (line: string) => process.stderr.write(`bench: ${line}\n`);
export { say };

/** Things to undo, last first, whatever happens (errors, Ctrl-C). */
export class Cleanup {
  private readonly steps: { name: string; run: () => Promise<unknown> }[] = [];
  add(name: string, run: () => Promise<unknown>): void {
    this.steps.push({ name, run });
  }
  async runAll(): Promise<void> {
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      await step.run().catch((error: unknown) => say(`cleanup ${step.name} failed: ${(error as Error).message}`));
    }
  }
}

/** A fresh, migrated database `correx_bench_<random>` in the test PostgreSQL, dropped at cleanup. */
export async function benchDatabase(cleanup: Cleanup): Promise<DatabaseHandle & { url: string; name: string }> {
  const adminUrl = testPostgresUrl();
  const name = `correx_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  cleanup.add(`drop database ${name}`, async () => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await client.query(`drop database if exists ${name} with (force)`);
          return;
        } catch (error) {
          if (attempt >= 5) throw error;
          await new Promise((resolve) => setTimeout(resolve, 300 * attempt));
        }
      }
    } finally {
      await client.end();
    }
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const handle = await openDatabase({ url: url.toString() });
  cleanup.add('close database pool', () => handle.close());
  await migrateUp(handle.db);
  return { ...handle, url: url.toString(), name };
}

/** A child process that prints a ready line; stopped at cleanup. */
export interface Child {
  child: ChildProcess;
  pid: number;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

function fromCorrex(running: LongRunningCorrex): Child {
  return { child: running.child, pid: running.child.pid!, output: running.output, stop: (signal) => running.stop(signal ?? 'SIGTERM') };
}

/** `node --import tsx <script> …args`, resolved when a line matches `ready`. */
export async function startScript(cleanup: Cleanup, script: string, args: string[], ready: RegExp, name: string): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, script), ...args], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const onData = (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  cleanup.add(`stop ${name}`, () => stop());
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not ready within 180 s:\n${output}`)), 180_000);
    const check = () => {
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before it was ready:\n${output}`));
    });
  });
  return { child, pid: child.pid!, output: () => output, stop };
}

export interface Stack {
  db: DatabaseHandle['db'];
  databaseUrl: string;
  temporalAddress: string;
  client: Client;
  endpoint: ControlEndpoint;
  apiUrl: string;
  worker: Child;
  env: Record<string, string>;
  token(owner: string, roles: Role[]): Promise<string>;
  /** Stops the Correx worker and starts a fresh one on the same task queue. */
  restartWorker(): Promise<Child>;
}

/**
 * Everything the Temporal-backed sections need, each part as production runs it: a Temporal dev
 * server of its own (SQLite in memory), `correx worker` and `correx api` as processes, the bare
 * baseline's worker, and the timestamping control endpoint in this process.
 */
export async function startStack(cleanup: Cleanup, database: DatabaseHandle & { url: string }): Promise<Stack> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'correx-bench-'));
  cleanup.add('remove temp folder', () => rm(dir, { recursive: true, force: true }));
  const secret = randomBytes(24).toString('hex');
  const endpoint = await new ControlEndpoint(secret).start();
  cleanup.add('stop control endpoint', () => endpoint.stop());

  const [apiPort, healthPort] = await freePorts(2);
  // The Temporal CLI's dev server with its SQLite database in memory, as the tests run it
  // (test/support/global-setup.ts): on a shared disk, a SQLite file's syncs would dominate every figure.
  say('starting the Temporal dev server');
  const temporal = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: resolveTemporalBinaries().cli },
      ip: '127.0.0.1',
      ui: false,
      extraArgs: ['--dynamic-config-value', 'frontend.enableExecuteMultiOperation=true', '--log-level', 'error'],
    },
  });
  cleanup.add('stop Temporal dev server', () => temporal.teardown());
  const connection = temporal.connection;
  if (!(await ensureSearchAttributes(connection, 'default', say))) throw new Error('could not register the search attributes');
  const client = new Client({ connection, namespace: 'default' });

  // The shipped runbook, enforced through the webhook adapter at the timestamping endpoint.
  const runbook = parse(await readFile(path.join(projectRoot, 'runbooks', `${SYSTEM}.yaml`), 'utf8')) as Record<string, unknown> & {
    system: Record<string, unknown>;
    triggers: { id: string; threshold?: unknown; groupBy?: string[] }[];
    escalation: { levels: { ackTimeout: string }[] };
  };
  runbook.system.enforcement = { adapter: 'webhook', url: endpoint.url, secretEnv: SECRET_ENV };
  runbook.system.fallbackSecretEnv = SECRET_ENV;
  for (const consumer of runbook.system.consumers as { id: string; fallback: { activation: { method: string; url?: string } } }[]) {
    if (consumer.fallback.activation.method === 'webhook') consumer.fallback.activation.url = `${endpoint.url}/fallback/${consumer.id}`;
  }
  // One alert opens an incident, one incident per `group` label (the ingestion section's groups).
  const jailbreak = runbook.triggers.find((t) => t.id === 'jailbreak-rate')!;
  delete jailbreak.threshold;
  jailbreak.groupBy = ['group'];
  // Escalation timers stay pending for the whole run instead of firing mid-measurement.
  for (const level of runbook.escalation.levels) level.ackTimeout = '2h';
  const parsed = Runbook.parse(runbook);
  const problems = crossCheck(parsed);
  if (problems.length) throw new Error(`bench runbook invalid: ${problems.map((p) => p.message).join('; ')}`);
  const runbooksDir = path.join(dir, 'runbooks');
  await mkdir(runbooksDir);
  await writeFile(path.join(runbooksDir, `${SYSTEM}.yaml`), stringify(runbook));
  await writeFile(path.join(dir, 'signing-key.pem'), generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));

  const env: Record<string, string> = {
    DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_TASK_QUEUE: TASK_QUEUE,
    CORREX_RUNBOOKS: runbooksDir,
    CORREX_SIGNING_KEY_FILE: path.join(dir, 'signing-key.pem'),
    CORREX_DATA_DIR: path.join(dir, 'data'),
    CORREX_HTTP_PORT: String(apiPort),
    CORREX_WORKER_HEALTH_PORT: String(healthPort),
    [SECRET_ENV]: secret,
    // The benchmark measures the pipeline, not the per-token limits (tested in test/http/access.test.ts).
    CORREX_RATE_LIMIT: '100000000',
    CORREX_INGEST_RATE_LIMIT: '100000000',
    LOG_LEVEL: 'warn',
  };
  const startWorker = async () => {
    const running = startCorrex(['worker'], env);
    cleanup.add('stop correx worker', () => running.stop('SIGKILL'));
    await running.waitFor(/correx worker: polling/, 180_000);
    return fromCorrex(running);
  };

  say('starting correx worker, correx api and the baseline worker (each bundles its workflows)');
  const api = startCorrex(['api'], env);
  cleanup.add('stop correx api', () => api.stop('SIGKILL'));
  const [worker] = await Promise.all([
    startWorker(),
    api.waitFor(/correx api: serving/, 180_000),
    startScript(cleanup, 'bench/baseline-worker.ts', [temporal.address, BASELINE_TASK_QUEUE], /baseline worker: polling/, 'baseline worker'),
  ]);

  const tokens = new Map<string, Promise<string>>();
  const stack: Stack = {
    db: database.db,
    databaseUrl: database.url,
    temporalAddress: temporal.address,
    client,
    endpoint,
    apiUrl: `http://127.0.0.1:${apiPort}`,
    worker,
    env,
    token(owner, roles) {
      const key = `${owner}:${roles.join(',')}`;
      if (!tokens.has(key))
        tokens.set(
          key,
          createToken(database.db, { owner, roles }).then((t) => t.secret),
        );
      return tokens.get(key)!;
    },
    async restartWorker() {
      await stack.worker.stop('SIGTERM');
      stack.worker = await startWorker();
      return stack.worker;
    },
  };
  return stack;
}
