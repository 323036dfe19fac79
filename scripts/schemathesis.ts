/**
 * Contract testing: schemathesis (pinned, installed into .tools/venv by `scripts/setup.sh --postgres`)
 * against a real, throwaway Correx deployment: a fresh PostgreSQL database, a Temporal dev server on
 * free ports, `correx worker` and `correx api` as deployed, the shipped runbooks. Every check and the
 * stateful phase are on; any failure fails the run. Afterwards no open workflow may hold an activity
 * that keeps failing (what a request the API accepted but cannot record leaves behind). Everything
 * is torn down at the end, on failure and on Ctrl-C. See docs/development.md, "Contract testing".
 *
 *   node --import tsx scripts/schemathesis.ts [--max-examples N] [--seed S] [--keep-logs] [-- schemathesis options]
 */
import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from '@temporalio/client';
import pg from 'pg';
import { stringify } from 'yaml';
import { createToken } from '../services/access/repository.js';
import { openDatabase } from '../services/db/connect.js';
import { migrateUp } from '../services/db/migrate.js';
import { projectRoot } from '../services/project-root.js';
import { resolveTemporalBinaries } from '../services/temporal/binaries.js';
import { connectTemporal } from '../services/temporal/connect.js';
import { startDevServer } from '../services/temporal/dev-server.js';
import { freePorts, startCorrex, type LongRunningCorrex } from '../test/support/cli.js';
import { ControlEndpoint } from '../test/support/control-endpoint.js';
import { testPostgresUrl } from '../test/support/environment.js';
import { routeFallbacksTo, shippedRunbook } from '../test/support/runbooks.js';

const USAGE = `usage: node --import tsx scripts/schemathesis.ts [options] [-- schemathesis run options]

  --max-examples N   test cases per operation and phase (default 25)
  --seed S           schemathesis's seed (default: random, printed)
  --keep-logs        keep the Correx processes' output and schemathesis's reports (kept anyway on failure)
  -h, --help         this text

Exit status: 0 schemathesis found nothing and no workflow is left failing, 1 otherwise, 2 the stack
could not be set up.`;

const began = Date.now();
const log = (line: string) => process.stdout.write(`schemathesis +${((Date.now() - began) / 1000).toFixed(1).padStart(6)} s  ${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The shipped runbooks' systems, which the stack serves. */
const SYSTEMS = ['frontier-assistant', 'credit-scoring', 'clinical-triage'];

/** The enforcement and fallback webhooks' HMAC secret, by the environment variable the runbooks name. */
const WEBHOOK_SECRET_ENV = 'CORREX_SCHEMATHESIS_WEBHOOK_SECRET';

function options() {
  const { values, positionals } = parseArgs({
    options: {
      'max-examples': { type: 'string', default: '25' },
      seed: { type: 'string' },
      'keep-logs': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const maxExamples = Number(values['max-examples']);
  if (!Number.isInteger(maxExamples) || maxExamples < 1) throw new Error(`--max-examples must be a whole number ≥ 1, not ${values['max-examples']}`);
  const seed = values.seed !== undefined ? Number(values.seed) : randomBytes(4).readUInt32BE(0);
  if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed must be a whole number ≥ 0, not ${values.seed}`);
  return { maxExamples, seed, keepLogs: values['keep-logs'], extra: positionals };
}

/** What is torn down at the end, last started first, whatever happened. */
const cleanups: { name: string; run: () => Promise<unknown> }[] = [];
let cleaning: Promise<void> | undefined;
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of cleanups.reverse()) {
      const started = Date.now();
      try {
        await c.run();
        if (Date.now() - started > 2_000) log(`stopping ${c.name} took ${((Date.now() - started) / 1000).toFixed(1)} s`);
      } catch (error) {
        process.stderr.write(`schemathesis: cleaning up ${c.name} failed: ${(error as Error).message}\n`);
      }
    }
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`schemathesis: ${signal}: cleaning up\n`);
    void cleanUp().finally(() => process.exit(130));
  });
}

function schemathesisBinary(): string {
  const binary = path.join(projectRoot, '.tools', 'venv', 'bin', 'schemathesis');
  if (!existsSync(binary)) throw new Error(`${binary} is missing: run \`bash scripts/setup.sh --postgres\` (it installs the pinned schemathesis)`);
  return binary;
}

/** A fresh, migrated database in the test PostgreSQL (TEST_DATABASE_URL or what setup prepared), dropped at the end. */
async function freshDatabase(): Promise<string> {
  const adminUrl = testPostgresUrl();
  const name = `correx_schemathesis_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  cleanups.push({
    name: `database ${name}`,
    run: async () => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  });
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Activities of open workflows that failed more than once. A failure can be transient (a request
 * timed out on a busy machine); one that recurs is a request the API accepted and the worker cannot
 * carry out, which Temporal would retry forever without paging anyone. So this waits while an
 * activity is on its second attempt, for as long as Temporal's retry schedule makes progress with it,
 * and reports those that reach a third.
 */
async function activitiesFailingRepeatedly(client: Client): Promise<string[]> {
  for (let said = ''; ;) {
    const failing: string[] = [];
    let open = 0;
    let pending = 0;
    let retrying = 0;
    for await (const execution of client.workflow.list({ query: 'ExecutionStatus = "Running"' })) {
      open += 1;
      const description = await client.workflow.getHandle(execution.workflowId, execution.runId).describe();
      for (const activity of description.raw.pendingActivities ?? []) {
        pending += 1;
        const attempt = activity.attempt ?? 1;
        if (attempt > 2) {
          failing.push(
            `${execution.workflowId} (${execution.type}): ${activity.activityType?.name} attempt ${attempt}: ${activity.lastFailure?.message ?? 'no failure message'}`,
          );
        } else if (attempt === 2) retrying += 1;
      }
    }
    const state = `${open} open workflows, ${pending} pending activities, ${retrying} of them on their second attempt`;
    if (failing.length > 0 || retrying === 0) {
      log(state);
      return failing;
    }
    if (state !== said) log(`${state}: waiting for their outcome`);
    said = state;
    await sleep(1_000);
  }
}

async function main(): Promise<number> {
  const opts = options();
  const schemathesis = schemathesisBinary();
  execFileSync(process.execPath, [path.join(projectRoot, 'scripts', 'build.mjs'), '--if-stale', '--quiet'], { cwd: projectRoot, stdio: 'inherit' });

  const dir = await mkdtemp(path.join(os.tmpdir(), 'correx-schemathesis-'));
  cleanups.push({ name: 'temporary folder', run: () => rm(dir, { recursive: true, force: true }) });
  const logs = path.join(dir, 'logs');
  await mkdir(logs);
  const [temporalPort, uiPort, apiPort, workerHealthPort] = await freePorts(4);

  // --- database, with the run's token -----------------------------------------------------------------
  const databaseUrl = await freshDatabase();
  const database = await openDatabase({ url: databaseUrl });
  await migrateUp(database.db);
  // `admin` may call every operation that takes a bearer token (services/access/roles.ts, and each
  // route's `access`). Its owner is no runbook person, so its votes do not count, as the local
  // administrator's do not: decisions are refused (409) rather than enforced.
  const admin = await createToken(database.db, { owner: 'schemathesis', roles: ['admin'], description: 'schemathesis contract run' });
  const token = admin.secret;
  // PagerDuty's events (`POST /v2/enqueue`) carry their integration key in the body, not a header.
  const integration = await createToken(database.db, {
    owner: 'schemathesis',
    roles: ['ingest'],
    integrationKeyFor: SYSTEMS[0],
    description: 'schemathesis contract run',
  });
  const integrationKey = integration.secret;
  // What scripts/schemathesis-hooks.py revokes when schemathesis aims at the run's own credentials.
  const decoy = await createToken(database.db, { owner: 'schemathesis', roles: ['admin'], description: 'schemathesis decoy, revoked in its place' });
  await database.close();
  log(`database ${databaseUrl.replace(/:[^:@/]+@/, ':***@')}, migrated`);

  // --- runbooks: the shipped ones, whose webhooks reach a listener of ours instead of *.example -------
  const secret = randomBytes(24).toString('hex');
  const endpoint = await new ControlEndpoint(secret).start();
  cleanups.push({ name: 'control endpoint', run: () => endpoint.stop() });
  const runbooks = path.join(dir, 'runbooks');
  await mkdir(runbooks);
  const severities = new Set<string>();
  const people = new Set<string>();
  for (const systemId of SYSTEMS) {
    const runbook = await shippedRunbook(systemId);
    for (const severity of runbook.severities as { id: string }[]) severities.add(severity.id);
    for (const person of runbook.people as { id: string }[]) people.add(person.id);
    const enforcement = runbook.system.enforcement as { adapter: string };
    if (enforcement.adapter === 'webhook') runbook.system.enforcement = { adapter: 'webhook', url: endpoint.url, secretEnv: WEBHOOK_SECRET_ENV };
    routeFallbacksTo(runbook, endpoint.url, WEBHOOK_SECRET_ENV);
    await writeFile(path.join(runbooks, `${systemId}.yaml`), stringify(runbook));
  }
  const signingKeyFile = path.join(dir, 'signing-key.pem');
  await writeFile(signingKeyFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));

  // --- Temporal -----------------------------------------------------------------------------------------
  const temporal = await startDevServer({
    cli: resolveTemporalBinaries().cli,
    port: temporalPort!,
    uiPort: uiPort!,
    namespace: 'default',
    dbFile: path.join(dir, 'temporal.sqlite'),
  });
  cleanups.push({ name: 'Temporal dev server', run: () => temporal.stop() });
  const connection = await connectTemporal({ address: temporal.address, namespace: 'default' }, { waitSeconds: 90 });
  cleanups.push({ name: 'Temporal connection', run: () => connection.close() });
  log(`Temporal dev server ${temporal.address}`);

  // --- Correx -------------------------------------------------------------------------------------------
  const env = {
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporal.address,
    CORREX_RUNBOOKS: runbooks,
    CORREX_SIGNING_KEY_FILE: signingKeyFile,
    CORREX_DATA_DIR: path.join(dir, 'data'),
    CORREX_HTTP_PORT: String(apiPort),
    CORREX_WORKER_HEALTH_PORT: String(workerHealthPort),
    [WEBHOOK_SECRET_ENV]: secret,
    // schemathesis sends far more than a person's 1,200 requests a minute, and 429s would hide what the
    // operations answer; the limit itself is tested in test/http/access.test.ts.
    CORREX_RATE_LIMIT: '1000000',
    CORREX_INGEST_RATE_LIMIT: '1000000',
    LOG_LEVEL: 'warn',
  };
  const processes: { name: string; process: LongRunningCorrex }[] = [];
  for (const name of ['worker', 'api'] as const) {
    const child = startCorrex([name], env);
    processes.push({ name, process: child });
    cleanups.push({ name: `correx ${name}`, run: () => child.stop('SIGTERM') });
  }
  const saveLogs = async () => {
    for (const { name, process: child } of processes) await writeFile(path.join(logs, `${name}.log`), child.output());
  };
  // Each exits on its own if it cannot start (it waits up to 300 s for Temporal and PostgreSQL); the
  // limit here only guards against one that hangs.
  await Promise.all([processes[0]!.process.waitFor(/correx worker: polling/, 900_000), processes[1]!.process.waitFor(/correx api: serving/, 900_000)]);
  const api = `http://127.0.0.1:${apiPort}`;
  log(`correx worker and correx api ${api} ready`);

  // --- schemathesis -------------------------------------------------------------------------------------
  // Identifiers no schema can state, because they are the deployment's own (the systems, severities
  // and people its runbooks define, an integration key), are offered as dictionaries: half the values
  // drawn for those fields are real ones, so requests reach past "no such system" (and the stateful
  // phase has incidents to follow links from); the other half are still arbitrary.
  const config = path.join(dir, 'schemathesis.toml');
  const quoted = (values: string[]) => `[${values.map((v) => JSON.stringify(v)).join(', ')}]`;
  await writeFile(
    config,
    [
      `hooks = ${JSON.stringify(path.join(projectRoot, 'scripts', 'schemathesis-hooks.py'))}`,
      '[headers]',
      `Authorization = ${JSON.stringify(`Bearer ${token}`)}`,
      '[dictionaries.systems]',
      `values = ${quoted(SYSTEMS)}`,
      '[dictionaries.severities]',
      `values = ${quoted([...severities])}`,
      '[dictionaries.people]',
      `values = ${quoted([...people])}`,
      '[dictionaries.integration-keys]',
      `values = ${quoted([integrationKey])}`,
      '[parameters]',
      ...['path', 'query', 'body'].map((where) => `"${where}.systemId" = { dictionary = "systems", probability = 0.5 }`),
      ...['query', 'body'].map((where) => `"${where}.severity" = { dictionary = "severities", probability = 0.5 }`),
      ...['query', 'body'].map((where) => `"${where}.owner" = { dictionary = "people", probability = 0.5 }`),
      '"body.routing_key" = { dictionary = "integration-keys", probability = 0.5 }',
      // Valid by the schema is not valid for this deployment when it names a system, person or integration
      // key its runbooks do not define, a silence already over, a cursor this server did not issue, a
      // period that ends before it starts, or an Idempotency-Key used before: no static schema can say
      // those, and each is a documented 400 or 422 naming the field. Every other status still fails.
      '[checks.positive_data_acceptance]',
      'expected-statuses = ["2xx", "400", "401", "403", "404", "409", "422"]',
      '',
    ].join('\n'),
  );
  const args = [
    '--config-file',
    config,
    'run',
    `${api}/openapi.json`,
    '--checks',
    'all',
    '--phases',
    'examples,coverage,fuzzing,stateful',
    '--max-examples',
    String(opts.maxExamples),
    '--seed',
    String(opts.seed),
    // One worker: with two, Python 3.11's ast module (which hypothesis uses to describe its strategies)
    // is not thread-safe and schemathesis ended with "AST constructor recursion depth mismatch".
    '--workers',
    '1',
    // Every failure of a run is reported, not only the first of each stateful scenario.
    '--continue-on-failure',
    // Longer than the API's own bound on waiting for a workflow to record a write (10 s, then 503), so
    // what is checked is the API's answer, not schemathesis giving up first.
    '--request-timeout',
    '30',
    '--generation-database',
    'none',
    '--report',
    'junit,har',
    '--report-dir',
    logs,
    '--no-color',
    ...opts.extra,
  ];
  log(`schemathesis ${args.join(' ')}`);
  const schemathesisStarted = Date.now();
  const status = await new Promise<number | null>((resolve) => {
    const child = spawn(schemathesis, args, {
      cwd: dir,
      // Its lines are prefixed: its closing rule ("== 2 warnings in 54 s ==") reads like a pytest run
      // that executed nothing, to a person skimming the CI log and to a parser alike.
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        CORREX_SCHEMATHESIS_PROTECTED_TOKENS: [admin.token, integration.token].flatMap((t) => [t.id, t.prefix]).join(','),
        CORREX_SCHEMATHESIS_DECOY_TOKEN: decoy.token.id,
        // Loading the hooks file would otherwise leave scripts/__pycache__ in the checkout.
        PYTHONDONTWRITEBYTECODE: '1',
      },
    });
    for (const [from, to] of [
      [child.stdout, process.stdout],
      [child.stderr, process.stderr],
    ] as const) {
      createInterface({ input: from }).on('line', (line) => to.write(`schemathesis | ${line}\n`));
    }
    cleanups.push({ name: 'schemathesis', run: async () => child.exitCode === null && child.kill('SIGTERM') });
    child.once('close', (code) => resolve(code));
  });
  log(`schemathesis exited with ${status} after ${((Date.now() - schemathesisStarted) / 1000).toFixed(0)} s`);

  // A revoked token would have turned the rest of the run into 401s, which schemathesis accepts for
  // valid data: then the run proved nothing. (scripts/schemathesis-hooks.py keeps it from happening.)
  const stillValid = await fetch(`${api}/v1/tokens`, { headers: { authorization: `Bearer ${token}` } }).then(
    (r) => r.status === 200,
    () => false,
  );
  if (!stillValid) log("FAIL: the run's token no longer authenticates, so the operations after its revocation were not tested");

  // --- no workflow left failing ---------------------------------------------------------------------------
  const failing = await activitiesFailingRepeatedly(new Client({ connection, namespace: 'default' }));
  if (failing.length > 0) {
    log(`FAIL: ${failing.length} activities of open workflows failed more than once:`);
    for (const line of failing.slice(0, 20)) log(`  - ${line}`);
  } else log('no open workflow has an activity that failed more than once');

  const exited = processes.filter((p) => p.process.child.exitCode !== null);
  for (const p of exited) log(`FAIL: correx ${p.name} exited during the run (code ${p.process.child.exitCode})`);

  const ok = status === 0 && stillValid && failing.length === 0 && exited.length === 0;
  if (!ok || opts.keepLogs) {
    await saveLogs();
    const kept = await mkdtemp(path.join(os.tmpdir(), 'correx-schemathesis-logs-'));
    execFileSync('cp', ['-r', `${logs}/.`, kept]);
    log(`logs and reports: ${kept}`);
  }
  log(`RESULT: ${ok ? 'PASS' : 'FAIL'} (seed ${opts.seed}, ${((Date.now() - began) / 1000).toFixed(0)} s)`);
  return ok ? 0 : 1;
}

let code = 2;
try {
  code = await main();
} catch (error) {
  process.stderr.write(`schemathesis: could not run: ${(error as Error).stack ?? error}\n`);
  code = 2;
} finally {
  await cleanUp();
}
process.exit(code);
