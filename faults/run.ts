/**
 * `npm run test:faults`: scripted incidents through a real Correx deployment (a Temporal dev server
 * process, `correx worker`, `correx api`, a private PostgreSQL, an SMTP relay and the system's
 * enforcement webhook) while faults are injected, then checks that nothing was lost or done twice.
 * See docs/faults.md.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { createToken } from '../services/access/repository.js';
import { openDatabase, type DatabaseHandle } from '../services/db/connect.js';
import { migrateUp } from '../services/db/migrate.js';
import { resolveTemporalBinaries } from '../services/temporal/binaries.js';
import { connectTemporal } from '../services/temporal/connect.js';
import { startDevServer, type DevServer, type DevServerOptions } from '../services/temporal/dev-server.js';
import { freePorts } from '../test/support/cli.js';
import { ControlEndpoint } from '../test/support/control-endpoint.js';
import { routeFallbacksTo, shippedRunbook } from '../test/support/runbooks.js';
import { MailSink } from '../test/support/smtp.js';
import {
  checkDeadlines,
  checkEnforcement,
  checkFinalStates,
  checkNotices,
  checkRecovery,
  checkReplay,
  checkTimelines,
  type CheckInputs,
  type CheckResult,
} from './checks.js';
import { Driver, type DrivenIncident, type IncidentPlan } from './driver.js';
import { PrivatePostgres } from './postgres.js';
import { SupervisedCorrex } from './processes.js';
import { Progress } from './progress.js';
import { planFaults, prng, runFaults, type FaultRecord } from './schedule.js';

const BREAKABLE = ['enforcer', 'notices', 'timeline', 'wait'] as const;
type Breakable = (typeof BREAKABLE)[number];

const USAGE = `usage: npm run test:faults -- [options]

  --incidents N      scripted incidents (default 20)
  --seed S           seed of the fault schedule's jitter and the incident mix (default: random, printed)
  --window S         seconds over which incidents are started (default 130; faults run over ~150 s)
  --outage S         seconds each SMTP / webhook failure and hang lasts (default 15)
  --pg-down S        seconds PostgreSQL stays stopped (default 20)
  --stall S          seconds without progress (no incident finishing a step, nothing settling)
                     after which the run stops waiting and checks what it has (default 180)
  --timeout M        minutes after which the run stops waiting even while it progresses (default 15)
  --break CHECK      make one check fail on purpose, to see the suite exit 1 (repeatable):
                       enforcer  the webhook listener applies the first correction twice
                       notices   the SMTP relay records one notice a second time under another Message-ID
                       timeline  one exported event is altered before it is verified
                       wait      checks run without waiting for the incidents to finish
  --keep-logs        keep the Correx processes' output (kept anyway when a check fails)
  -h, --help         this text

Exit status: 0 every check passed, 1 a check failed, 2 the run could not be set up.`;

const began = Date.now();
const stamp = () => `+${((Date.now() - began) / 1000).toFixed(1).padStart(6)} s`;
const log = (line: string) => process.stdout.write(`faults ${stamp()}  ${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function options() {
  const { values } = parseArgs({
    options: {
      incidents: { type: 'string', default: '20' },
      seed: { type: 'string' },
      window: { type: 'string', default: '130' },
      outage: { type: 'string', default: '15' },
      'pg-down': { type: 'string', default: '20' },
      stall: { type: 'string', default: '180' },
      timeout: { type: 'string', default: '15' },
      break: { type: 'string', multiple: true, default: [] },
      'keep-logs': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const number = (name: string, text: string, min: number) => {
    const n = Number(text);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}, not ${text}`);
    return n;
  };
  const breaks = values.break as string[];
  for (const b of breaks) if (!(BREAKABLE as readonly string[]).includes(b)) throw new Error(`--break ${b}: expected one of ${BREAKABLE.join(', ')}`);
  return {
    incidents: Math.floor(number('incidents', values.incidents, 1)),
    seed: values.seed !== undefined ? Math.floor(number('seed', values.seed, 0)) : randomBytes(4).readUInt32BE(0),
    windowMs: number('window', values.window, 0) * 1000,
    outageMs: number('outage', values.outage, 1) * 1000,
    postgresDownMs: number('pg-down', values['pg-down'], 1) * 1000,
    stallMs: number('stall', values.stall, 1) * 1000,
    timeoutMs: number('timeout', values.timeout, 1) * 60_000,
    breaks: new Set(breaks as Breakable[]),
    keepLogs: values['keep-logs'],
  };
}

/** What is torn down at the end, last started first, whatever happened. */
const cleanups: { name: string; run: () => Promise<unknown> }[] = [];
let cleaning: Promise<void> | undefined;
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c.run();
      } catch (error) {
        process.stderr.write(`faults: cleaning up ${c.name} failed: ${(error as Error).message}\n`);
      }
    }
  })();
  return cleaning;
}
// Whatever goes wrong in the runner itself, the private PostgreSQL and the processes are torn down.
process.on('uncaughtException', (error) => {
  process.stderr.write(`faults: unexpected error in the runner: ${error.stack ?? error}\n`);
  void cleanUp().finally(() => process.exit(2));
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`faults: ${signal}: cleaning up\n`);
    void cleanUp().finally(() => process.exit(130));
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)]! : 0;
}

async function main(): Promise<number> {
  const opts = options();
  const random = prng(opts.seed);
  const progress = new Progress(opts.stallMs);
  log(`${opts.incidents} incidents, seed ${opts.seed}${opts.breaks.size ? `, BREAKING ON PURPOSE: ${[...opts.breaks].join(', ')}` : ''}`);

  const dir = await mkdtemp(path.join(os.tmpdir(), 'correx-faults-'));
  cleanups.push({ name: 'temporary folder', run: () => rm(dir, { recursive: true, force: true }) });
  const [pgPort, temporalPort, uiPort, apiPort, workerHealthPort] = await freePorts(5);

  // --- PostgreSQL of our own, migrated, with the people's tokens -----------------------------------
  const postgres = await PrivatePostgres.create(pgPort!);
  cleanups.push({ name: 'private PostgreSQL', run: () => postgres.destroy() });
  await postgres.start();
  const database: DatabaseHandle = await openDatabase({ url: postgres.url });
  cleanups.push({ name: 'database connection', run: () => database.close() });
  await migrateUp(database.db);
  const token = async (owner: string, role: 'responder' | 'approver' | 'compliance') =>
    (await createToken(database.db, { owner, roles: [role], description: 'fault injection' })).secret;
  const tokens = {
    responder: await token('jonas-berg', 'responder'),
    approver: await token('sofia-marquez', 'approver'),
    compliance: await token('hannah-vogel', 'compliance'),
  };
  log(`PostgreSQL ${postgres.url} (data ${postgres.dataDir}), migrated`);

  // --- the SMTP relay and the system's control endpoint, both able to fail --------------------------
  const smtp = await new MailSink().start();
  cleanups.push({ name: 'SMTP relay', run: () => smtp.stop() });
  const secret = randomBytes(24).toString('hex');
  const enforcer = await new ControlEndpoint(secret).start();
  cleanups.push({ name: 'enforcer webhook', run: () => enforcer.stop() });
  if (opts.breaks.has('enforcer')) enforcer.breakIdempotency();
  if (opts.breaks.has('notices')) smtp.breakNotices();

  const runbooks = path.join(dir, 'runbooks');
  await mkdir(runbooks);
  const runbook = await shippedRunbook('frontier-assistant');
  runbook.system.enforcement = { adapter: 'webhook', url: enforcer.url, secretEnv: 'CORREX_FAULTS_WEBHOOK_SECRET' };
  routeFallbacksTo(runbook, enforcer.url, 'CORREX_FAULTS_WEBHOOK_SECRET');
  await writeFile(path.join(runbooks, 'frontier-assistant.yaml'), stringify(runbook));
  const signingKeyFile = path.join(dir, 'signing-key.pem');
  const signingKey = generateKeyPairSync('ed25519');
  await writeFile(signingKeyFile, signingKey.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const publicKeyPem = signingKey.publicKey.export({ type: 'spki', format: 'pem' }).toString();

  // --- Temporal dev server on a SQLite file, so a restart keeps every workflow ----------------------
  const temporalOptions: DevServerOptions = {
    cli: resolveTemporalBinaries().cli,
    port: temporalPort!,
    uiPort: uiPort!,
    namespace: 'default',
    dbFile: path.join(dir, 'temporal.sqlite'),
  };
  let temporal: DevServer = await startDevServer(temporalOptions);
  cleanups.push({ name: 'Temporal dev server', run: () => temporal.stop() });
  const temporalAnswers = async () => (await connectTemporal({ address: temporal.address, namespace: 'default' }, { waitSeconds: 90 })).close();
  await temporalAnswers();
  log(`Temporal dev server ${temporal.address} (SQLite ${temporalOptions.dbFile})`);
  const restartTemporal = async () => {
    const stoppedAt = Date.now();
    await temporal.stop();
    await sleep(2_000);
    temporal = await startDevServer(temporalOptions);
    await temporalAnswers();
    return { downMs: Date.now() - stoppedAt };
  };

  // --- Correx: one worker, one API ------------------------------------------------------------------
  const env = {
    DATABASE_URL: postgres.url,
    TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
    TEMPORAL_TASK_QUEUE: 'correx-faults',
    CORREX_RUNBOOKS: runbooks,
    CORREX_SIGNING_KEY_FILE: signingKeyFile,
    CORREX_DATA_DIR: path.join(dir, 'data'),
    CORREX_FAULTS_WEBHOOK_SECRET: secret,
    SMTP_URL: smtp.url,
    // The script polls while it waits; the limit itself is tested in test/http/access.test.ts.
    CORREX_RATE_LIMIT: '1000000',
    LOG_LEVEL: 'warn',
  };
  const worker = new SupervisedCorrex('worker', env, progress, workerHealthPort!);
  const api = new SupervisedCorrex('api', env, progress, apiPort!);
  cleanups.push({ name: 'correx worker', run: () => worker.stop() });
  cleanups.push({ name: 'correx api', run: () => api.stop() });
  await Promise.all([worker.start(), api.start()]);
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  log(`correx worker pid ${worker.pid} and correx api ${apiUrl} (pid ${api.pid}) ready; setup took ${seconds(Date.now() - began)}`);

  // --- incidents and faults at the same time ----------------------------------------------------------
  const plans: IncidentPlan[] = Array.from({ length: opts.incidents }, (_, n) => ({
    n,
    severity: n % 2 === 0 ? 'SEV2' : 'SEV3',
    kind: n % 4 < 2 ? 'rate_limit' : 'capability_restriction',
    classify: n % 3 === 0,
    dedupKey: `faults-${opts.seed}-${n}`,
  }));
  const records: DrivenIncident[] = plans.map((plan) => ({ plan, reportIds: [], steps: [], startedAt: 0 }));
  const driver = new Driver(apiUrl, tokens, progress);
  const spacing = opts.incidents > 1 ? opts.windowMs / (opts.incidents - 1) : 0;
  const t0 = Date.now();
  const deadline = began + opts.timeoutMs;
  const workflowsAnswer = async () => {
    const incidentId = records.find((r) => r.incidentId)?.incidentId;
    if (!incidentId) return true;
    const response = await fetch(`${apiUrl}/v1/incidents/${incidentId}`, {
      headers: { authorization: `Bearer ${tokens.responder}` },
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await response.json()) as { live?: Record<string, unknown> };
    return response.ok && body.live !== undefined && !('unavailable' in body.live);
  };
  const inFlight = () => records.filter((r) => r.startedAt && !r.finishedAt).length;
  const faults = planFaults(
    random,
    { smtp, enforcer, postgres, worker, api, restartTemporal, workflowsAnswer, inFlight, progress },
    { outageMs: opts.outageMs, postgresDownMs: opts.postgresDownMs },
  );
  log(
    `driving ${opts.incidents} incidents, one every ${seconds(spacing)}; ${faults.length} faults planned: ${faults.map((f) => `${f.name} at ${seconds(f.at)}`).join(', ')}`,
  );
  const faultRun = runFaults(faults, t0, log);
  const driving = Promise.all(
    records.map(async (record, i) => {
      await sleep(i * spacing);
      record.startedAt = Date.now();
      await driver.drive(record.plan, record);
      log(`incident ${record.plan.n} ${record.error ? `STOPPED: ${record.error}` : `resolved in ${seconds(record.finishedAt! - record.startedAt)}`}`);
    }),
  );
  const progressLine = setInterval(() => {
    const done = records.filter((r) => r.finishedAt).length;
    const started = records.filter((r) => r.startedAt).length;
    const idle = progress.idleMs > 20_000 ? `; no step finished for ${seconds(progress.idleMs)}` : '';
    log(
      `progress: ${done}/${opts.incidents} finished, ${started - done} in flight; API requests ${driver.stats.requests}, retried ${driver.stats.retries}${idle}`,
    );
  }, 20_000);
  const faultRecords: FaultRecord[] = await faultRun;
  const timedOut = async <T>(work: Promise<T>) => Promise.race([work.then(() => false), sleep(Math.max(0, deadline - Date.now())).then(() => true)]);
  let gaveUp = false;
  if (!opts.breaks.has('wait')) {
    // The driver gives each incident up once the run stalls; the --timeout is the last resort.
    gaveUp = await timedOut(driving);
    if (gaveUp) log('--timeout reached: checking what there is');
  } else log('--break wait: checking without waiting for the incidents');
  clearInterval(progressLine);

  // --- settle: everything the incidents set in motion is done ----------------------------------------
  const settleStarted = Date.now();
  if (!opts.breaks.has('wait') && !gaveUp) {
    const ids = records.filter((r) => r.incidentId).map((r) => r.incidentId!);
    // Only what the script did: a correction nobody meant to propose would never settle (the checks name it).
    const mine = records.filter((r) => r.correctionId).map((r) => r.correctionId!);
    const waitingFor = async (): Promise<string[]> => {
      if (mine.length === 0) return [];
      const db = database.db;
      const corrections = await db.selectFrom('corrections').select(['id', 'state']).where('id', 'in', mine).execute();
      const notices = await db
        .selectFrom('notifications')
        .select(['sent_at'])
        .where('correction_id', 'in', mine)
        .where('audience', '!=', 'regulator')
        .execute();
      const pages = await db.selectFrom('pages').select(['sent_at']).where('incident_id', 'in', ids).execute();
      const fallbacks = await db.selectFrom('fallbacks').select(['state']).where('correction_id', 'in', mine).execute();
      const deactivated = await db
        .selectFrom('timeline_events')
        .select(['data'])
        .where('incident_id', 'in', ids)
        .where('kind', '=', 'fallback.deactivated')
        .execute();
      const switchedOff = new Set(deactivated.map((d) => d.data.correctionId));
      return [
        ...corrections.filter((c) => c.state !== 'lifted').map((c) => `correction ${c.id} ${c.state}`),
        ...(notices.length < 2 * mine.length ? [`${2 * mine.length - notices.length} notices not drafted`] : []),
        ...(notices.some((n) => !n.sent_at) ? [`${notices.filter((n) => !n.sent_at).length} notices unsent`] : []),
        ...(pages.some((p) => !p.sent_at) ? [`${pages.filter((p) => !p.sent_at).length} pages unsent`] : []),
        ...(fallbacks.some((f) => f.state !== 'inactive') ? [`${fallbacks.filter((f) => f.state !== 'inactive').length} fallbacks not off`] : []),
        ...(mine.some((c) => !switchedOff.has(c)) ? [`${mine.filter((c) => !switchedOff.has(c)).length} fallbacks not recorded off`] : []),
      ];
    };
    let lastSaid = Date.now();
    let previous = '';
    progress.mark();
    for (;;) {
      const pending = await waitingFor().catch((error: unknown) => [`the database: ${(error as Error).message}`]);
      // Something settling (a correction lifted, a notice sent) is progress; waiting ends when nothing has for the stall time.
      if (pending.join('; ') !== previous) progress.mark();
      previous = pending.join('; ');
      if (pending.length === 0 || progress.stalled || Date.now() >= deadline) {
        const why = progress.stalled ? progress.describe() : 'the --timeout was reached';
        log(`settled after ${seconds(Date.now() - settleStarted)}${pending.length ? ` (GAVE UP: ${why}; still waiting for: ${pending.join('; ')})` : ''}`);
        break;
      }
      if (Date.now() - lastSaid > 30_000) {
        log(`settling: waiting for ${pending.join('; ')}`);
        lastSaid = Date.now();
      }
      await sleep(1_000);
    }
  }

  // --- checks ---------------------------------------------------------------------------------------
  const inputs: CheckInputs = {
    db: database.db,
    incidents: records,
    enforcer,
    smtp,
    api: apiUrl,
    complianceToken: tokens.compliance,
    publicKeyPem,
    tamperTimeline: opts.breaks.has('timeline'),
  };
  let logsDir: string | undefined;
  const logs = async () => (logsDir ??= await mkdtemp(path.join(os.tmpdir(), 'correx-faults-logs-')));
  const checks: CheckResult[] = [checkRecovery(faultRecords)];
  const replay = () => checkReplay({ temporalAddress: temporal.address, logsDir: logs });
  for (const check of [checkFinalStates, checkEnforcement, checkNotices, checkTimelines, checkDeadlines, replay]) {
    try {
      checks.push(await check(inputs));
    } catch (error) {
      checks.push({ name: check.name, ok: false, summary: 'the check itself failed', problems: [(error as Error).message] });
    }
  }

  // --- Correx's own account of the faults -------------------------------------------------------------
  const ids = records.filter((r) => r.incidentId).map((r) => r.incidentId!);
  const failureEvents = ids.length
    ? await database.db.selectFrom('timeline_events').select(['kind']).where('incident_id', 'in', ids).where('kind', 'like', 'correction.%failed').execute()
    : [];
  const failureKinds = new Map<string, number>();
  for (const e of failureEvents) failureKinds.set(e.kind, (failureKinds.get(e.kind) ?? 0) + 1);
  const failurePages = ids.length
    ? await database.db.selectFrom('pages').select(['id']).where('incident_id', 'in', ids).where('idempotency_key', 'like', '%-failed:%').execute()
    : [];

  // --- report -----------------------------------------------------------------------------------------
  const out = (line = '') => process.stdout.write(`${line}\n`);
  const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
  out();
  out(
    `Fault injection: ${opts.incidents} incidents, seed ${opts.seed}, total runtime ${seconds(Date.now() - began)} (setup ${seconds(t0 - began)}, incidents and faults ${seconds(settleStarted - t0)}, settling ${seconds(Date.now() - settleStarted)})`,
  );
  out();
  out('Faults (offsets from the first trigger)');
  for (const f of faultRecords) {
    const start = f.startedAt ? seconds(f.startedAt - t0) : 'not run';
    const took = f.startedAt && f.endedAt ? seconds(f.endedAt - f.startedAt) : '-';
    out(`  ${pad(start, 9)} ${pad(f.name, 30)} ${pad(took, 8)} ${f.error ? `ERROR ${f.error}` : f.detail}`);
  }
  out();
  const resolvedTimes = records.filter((r) => r.finishedAt && !r.error).map((r) => r.finishedAt! - r.startedAt);
  out('Incidents');
  out(
    `  trigger → resolved: median ${seconds(median(resolvedTimes))}, max ${seconds(Math.max(0, ...resolvedTimes))} (${resolvedTimes.length} of ${records.length})`,
  );
  const statuses = [...driver.stats.byStatus.entries()]
    .sort()
    .map(([k, v]) => `${k}×${v}`)
    .join(', ');
  out(
    `  API: ${driver.stats.requests} requests (${statuses}); ${driver.stats.retries} retried; ${driver.stats.tookEffectDespiteFailure} actions had taken effect although their request failed`,
  );
  const stepRetries = new Map<string, number>();
  for (const r of records) for (const s of r.steps) stepRetries.set(s.step, (stepRetries.get(s.step) ?? 0) + s.retries);
  out(
    `  retries by step: ${
      [...stepRetries.entries()]
        .filter(([, n]) => n > 0)
        .map(([s, n]) => `${s} ${n}`)
        .join(', ') || 'none'
    }`,
  );
  out(
    `  Correx recorded: ${[...failureKinds.entries()].map(([k, n]) => `${k} ×${n}`).join(', ') || 'no enforcement failures'}; ${failurePages.length} pages about them`,
  );
  out(
    `  processes: worker started ${worker.starts}× (${worker.unexpectedExits.length} exits on its own), api started ${api.starts}× (${api.unexpectedExits.length} exits on its own)`,
  );
  for (const [name, e] of [...worker.unexpectedExits.map((e) => ['worker', e] as const), ...api.unexpectedExits.map((e) => ['api', e] as const)]) {
    out(`    ${name} exited on its own at ${seconds(e.at - t0)} (code ${e.code}): ${e.reason}`);
  }
  out();
  out('Checks');
  for (const c of checks) {
    out(`  ${c.ok ? 'PASS' : 'FAIL'}  ${pad(c.name, 20)} ${c.summary}`);
    for (const p of c.problems.slice(0, 8)) out(`          - ${p}`);
    if (c.problems.length > 8) out(`          … and ${c.problems.length - 8} more`);
  }
  const failed = checks.filter((c) => !c.ok);
  out();
  out(
    failed.length === 0
      ? `RESULT: PASS (${checks.length} checks)`
      : `RESULT: FAIL (${failed.length} of ${checks.length} checks failed: ${failed.map((c) => c.name).join(', ')})`,
  );

  if (failed.length > 0 || opts.keepLogs) {
    const dir = await logs();
    await writeFile(path.join(dir, 'worker.log'), worker.output());
    await writeFile(path.join(dir, 'api.log'), api.output());
    await writeFile(path.join(dir, 'incidents.json'), JSON.stringify(records, null, 2));
    await writeFile(path.join(dir, 'enforcer-requests.json'), JSON.stringify(enforcer.log, null, 2));
    await writeFile(
      path.join(dir, 'mail.json'),
      JSON.stringify(
        smtp.received.map(({ raw: _raw, text: _text, html: _html, ...mail }) => mail),
        null,
        2,
      ),
    );
    const timelines = ids.length
      ? await database.db
          .selectFrom('timeline_events')
          .select(['incident_id', 'seq', 'kind', 'actor', 'occurred_at', 'recorded_at', 'data'])
          .where('incident_id', 'in', ids)
          .orderBy('incident_id')
          .orderBy('seq')
          .execute()
      : [];
    const rows = ids.length ? await database.db.selectFrom('incidents').selectAll().where('id', 'in', ids).execute() : [];
    await writeFile(path.join(dir, 'database.json'), JSON.stringify({ incidents: rows, timelines }, null, 2));
    out(`logs: ${dir}`);
  }
  return failed.length === 0 ? 0 : 1;
}

let code = 2;
try {
  code = await main();
} catch (error) {
  process.stderr.write(`faults: could not run: ${(error as Error).stack ?? error}\n`);
  code = 2;
} finally {
  await cleanUp();
}
process.exit(code);
