import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { parse, stringify } from 'yaml';
import { crossCheck } from '../services/runbook/cross-check.js';
import { Runbook } from '../services/runbook/schema.js';
import { startEnvoy, type RunningEnvoy } from '../test/support/gateways.js';
import { call } from './latency.js';
import { closedLoop, type LoadResult } from './load.js';
import { throughputFigure, type Figure, type SectionResult } from './results.js';
import { SYSTEM, say, startScript, type Cleanup, type Stack } from './stack.js';
import { distribution, median, sleep, type Distribution } from './stats.js';

/**
 * The bench stack's system enforced through the webhook adapter (the other sections time the control
 * endpoint's receipt); this section's copy of it is enforced as gateways are: the built-in policy adapter,
 * whose apply puts the correction into the policy every API instance answers Envoy from.
 */
export const GATEWAY_SYSTEM = 'frontier-gateway';
const USER_HEADERS = ['x-correx-user', 'x-correx-org', 'x-correx-tier', 'x-correx-region', 'x-correx-use-case', 'x-correx-capability'];
const CHAT_BODY = JSON.stringify({ model: 'gpt-mock', messages: [{ role: 'user', content: 'Hello' }] });
const TIERS = ['free', 'pro', 'trial', 'enterprise'];
const USERS = 1000;
/** The closed-loop comparison runs in alternating slices of about this many seconds. */
const SLICE_SECONDS = 5;

export interface GatewayOptions {
  /** Seconds of each closed-loop load through Envoy (with and without ext_authz). */
  seconds: number;
  warmupSeconds: number;
  concurrency: number;
  /** Seconds of each load against /livez and /v1/decide. */
  decideSeconds: number;
  /** Rounds of approval → first refusal at the gateway. */
  rounds: number;
}

const run = randomBytes(3).toString('hex');

/** Writes the policy-enforced copy of the bench system into the stack's runbook folder and waits until the API serves it. */
async function addGatewaySystem(stack: Stack, gatewayKey: string): Promise<void> {
  const dir = stack.env.CORREX_RUNBOOKS!;
  const runbook = parse(await readFile(path.join(dir, `${SYSTEM}.yaml`), 'utf8')) as { system: Record<string, unknown> };
  runbook.system.id = GATEWAY_SYSTEM;
  runbook.system.enforcement = { adapter: 'policy' };
  const problems = crossCheck(Runbook.parse(runbook));
  if (problems.length) throw new Error(`gateway runbook invalid: ${problems.map((p) => p.message).join('; ')}`);
  await writeFile(path.join(dir, `${GATEWAY_SYSTEM}.yaml`), stringify(runbook));
  // The API and the worker reload the folder when it changes.
  const deadline = performance.now() + 60_000;
  for (;;) {
    const response = await fetch(`${stack.apiUrl}/v1/gateways/envoy/${GATEWAY_SYSTEM}/v1/models`, { headers: { 'x-correx-gateway-key': gatewayKey } });
    await response.text();
    if (response.status === 200) return;
    if (performance.now() > deadline) throw new Error(`the API did not pick up ${GATEWAY_SYSTEM} within 60 s (last answer ${response.status})`);
    await sleep(250);
  }
}

// --- CPU by process ------------------------------------------------------------------------------------

type CpuShare = Record<string, number>;
/** The key of the whole machine's busy CPU time in a CpuShare. */
const MACHINE = 'machine (all CPUs busy)';
const OTHER = 'other work on the machine';

/** CPU seconds so far of the processes this section cares about, by name, and of the whole machine (`MACHINE`). */
async function cpuSeconds(named: Map<number, string>): Promise<CpuShare> {
  const totals: CpuShare = {};
  for (const entry of await readdir('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const pid = Number(entry);
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => undefined);
    if (!stat) continue;
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const seconds = (Number(fields[11]) + Number(fields[12])) / 100;
    // PostgreSQL is the machine's (every database). The rest of the machine is counted as its busy time
    // less these (withOther): a process that exits meanwhile is only in that total.
    const name = named.get(pid) ?? (comm.startsWith('postgres') ? 'PostgreSQL (all databases)' : undefined);
    if (name === undefined) continue;
    totals[name] = (totals[name] ?? 0) + seconds;
  }
  // The whole machine: every CPU's busy time (user, nice, system, irq, softirq, steal), in the same unit.
  const cpu = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  totals[MACHINE] = ((cpu[0] ?? 0) + (cpu[1] ?? 0) + (cpu[2] ?? 0) + (cpu[5] ?? 0) + (cpu[6] ?? 0) + (cpu[7] ?? 0)) / 100;
  return totals;
}

/** The bench process's own children by what they run: `correx api`, `correx worker` and the Temporal dev server. */
async function correxProcesses(): Promise<Map<number, string>> {
  const found = new Map<number, string>();
  for (const entry of await readdir('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => undefined);
    if (!stat || Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== process.pid) continue;
    if (stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).startsWith('temporal')) found.set(Number(entry), 'Temporal');
    const cmdline = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0');
    if (!cmdline.some((arg) => arg.endsWith('correx.js'))) continue;
    if (cmdline.includes('api')) found.set(Number(entry), 'correx api');
    if (cmdline.includes('worker')) found.set(Number(entry), 'correx worker');
  }
  return found;
}

/** Cores used by each named process while `work` ran. */
async function measuredCpu<T>(named: Map<number, string>, work: () => Promise<T>): Promise<{ result: T; cores: CpuShare }> {
  const before = await cpuSeconds(named);
  const started = performance.now();
  const result = await work();
  const seconds = (performance.now() - started) / 1000;
  const after = await cpuSeconds(named);
  const cores: CpuShare = {};
  for (const name of Object.keys(after)) cores[name] = (after[name]! - (before[name] ?? 0)) / seconds;
  return { result, cores: withOther(cores) };
}

/** One side of an A/B comparison run in several slices: their answers, latencies and CPU, merged. */
class Slices {
  private readonly latencies: number[] = [];
  private readonly cpu: CpuShare = {};
  private requests = 0;
  private accepted = 0;
  private errors = 0;
  private seconds = 0;
  private readonly statuses: Record<string, number> = {};

  async run(named: Map<number, string>, work: (onLatency: (ms: number) => void) => Promise<LoadResult>): Promise<void> {
    const before = await cpuSeconds(named);
    const started = performance.now();
    const result = await work((ms) => this.latencies.push(ms));
    this.seconds += (performance.now() - started) / 1000;
    const after = await cpuSeconds(named);
    for (const name of Object.keys(after)) this.cpu[name] = (this.cpu[name] ?? 0) + after[name]! - (before[name] ?? 0);
    this.requests += result.requests;
    this.accepted += result.accepted;
    this.errors += result.errors;
    for (const [status, n] of Object.entries(result.statuses)) this.statuses[status] = (this.statuses[status] ?? 0) + n;
  }

  merged(): { result: LoadResult; cores: CpuShare } {
    const cores = withOther(Object.fromEntries(Object.entries(this.cpu).map(([name, s]) => [name, s / this.seconds])));
    return {
      result: {
        requests: this.requests,
        accepted: this.accepted,
        statuses: this.statuses,
        errors: this.errors,
        seconds: this.seconds,
        perSecond: this.accepted / this.seconds,
        latencyMs: distribution(this.latencies),
      },
      cores,
    };
  }
}

/** Adds `OTHER`: the machine's busy cores less those of the processes named. */
function withOther(cores: CpuShare): CpuShare {
  const named = Object.entries(cores).reduce((sum, [name, c]) => (name === MACHINE ? sum : sum + c), 0);
  return { ...cores, [OTHER]: Math.max(0, (cores[MACHINE] ?? 0) - named) };
}

const coresText = (cores: CpuShare) =>
  `the machine ${(cores[MACHINE] ?? Number.NaN).toFixed(2)} of ${os.cpus().length}: ` +
  Object.entries(cores)
    .filter(([name, c]) => c >= 0.005 && name !== MACHINE)
    .sort((a, b) => b[1] - a[1])
    .map(([name, c]) => `${name} ${c.toFixed(2)}`)
    .join(', ');

/** CPU milliseconds per answered request of this benchmark's processes (not everything else on the machine), and their sum. */
function cpuPerRequest(cores: CpuShare, perSecond: number): { byProcess: CpuShare; total: number } {
  const byProcess: CpuShare = {};
  for (const [name, c] of Object.entries(cores)) if (name !== OTHER && name !== MACHINE && c >= 0.005) byProcess[name] = (c / perSecond) * 1000;
  return { byProcess, total: Object.values(byProcess).reduce((a, b) => a + b, 0) };
}

const perRequestText = (cost: { byProcess: CpuShare; total: number }) =>
  `${cost.total.toFixed(3)} ms (${Object.entries(cost.byProcess)
    .sort((a, b) => b[1] - a[1])
    .map(([name, ms]) => `${name} ${ms.toFixed(3)}`)
    .join(', ')})`;

/** PostgreSQL transactions committed or rolled back in the bench database so far. */
async function transactions(stack: Stack): Promise<number> {
  const row = (await sql<{ n: string }>`select xact_commit + xact_rollback as n from pg_stat_database where datname = current_database()`.execute(stack.db))
    .rows[0];
  return Number(row?.n ?? Number.NaN);
}

/** Envoy's own count of ext_authz checks by outcome (its admin /stats). */
async function extAuthzStats(envoy: RunningEnvoy): Promise<Record<string, number>> {
  const text = await (await fetch(`${envoy.adminUrl}/stats?filter=ext_authz`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    // The filter's own counters (http.<stat prefix>.ext_authz.*); the route's cluster counts the same checks again.
    const m = line.match(/^http\.[^.]+\.ext_authz\.([a-z_]+): (\d+)$/);
    if (m) out[m[1]!] = (out[m[1]!] ?? 0) + Number(m[2]);
  }
  return out;
}

// --- the people and the corrections ---------------------------------------------------------------------

interface People {
  commander: string;
  approver: string;
  gateway: string;
}

/** An incident on the gateway system, acknowledged by the commander, and a correction proposed by them. */
async function proposed(stack: Stack, p: People, key: string, correction: Record<string, unknown>): Promise<string> {
  const opened = await call<{ incidentId: string }>(stack, 'POST', '/v1/incidents', p.commander, {
    systemId: GATEWAY_SYSTEM,
    title: `Gateway benchmark incident ${key}`,
    severity: 'SEV2',
    dedupKey: `${run}-${key}`,
  });
  const id = opened.body.incidentId;
  await call(stack, 'POST', `/v1/incidents/${id}/acknowledge`, p.commander, {});
  const made = await call<{ correctionId: string }>(stack, 'POST', `/v1/incidents/${id}/corrections`, p.commander, correction);
  return made.body.correctionId;
}

const approve = (stack: Stack, p: People, correctionId: string) =>
  call(stack, 'POST', `/v1/corrections/${correctionId}/decision`, p.approver, { decision: 'approve', rationale: 'Gateway benchmark' });

/** Waits until `/v1/decide` answers `want` for `request` (the API holds the policy that says so). */
async function untilDecided(stack: Stack, p: People, request: Record<string, string>, want: string): Promise<void> {
  const deadline = performance.now() + 30_000;
  for (;;) {
    const answer = await call<{ decision: string }>(stack, 'POST', '/v1/decide', p.gateway, { systemId: GATEWAY_SYSTEM, ...request });
    if (answer.body.decision === want) return;
    if (performance.now() > deadline) throw new Error(`/v1/decide still answers ${answer.body.decision}, not ${want}, after 30 s`);
    await sleep(100);
  }
}

// --- the loads ------------------------------------------------------------------------------------------

/** Requests as a model's callers send them: a user id and a tier each, users and tiers in turn. */
function callers(): () => Record<string, string> {
  let n = 0;
  return () => {
    n += 1;
    return { 'x-correx-user': `u-${n % USERS}`, 'x-correx-tier': TIERS[n % TIERS.length]! };
  };
}

const throughEnvoy = (envoy: RunningEnvoy, concurrency: number, seconds: number, onLatency?: (ms: number) => void) =>
  closedLoop({
    ...(onLatency ? { onLatency } : {}),
    url: `${envoy.url}/v1/chat/completions`,
    concurrency,
    durationMs: seconds * 1000,
    nextBody: () => CHAT_BODY,
    nextHeaders: callers(),
    expect: 200,
  });

interface ProbeResult {
  firstRefusalAt: number;
  correctionHeader: string | null;
  allowedBefore: number;
  requests: number;
}

/**
 * A caller of one user id sending a request through Envoy every `intervalMs` (the next one `intervalMs`
 * after the previous was sent, or at once when it took longer) until the first 403.
 */
function probe(envoy: RunningEnvoy, user: string, intervalMs: number, timeoutMs: number): { started: Promise<void>; refused: Promise<ProbeResult> } {
  let markStarted = () => {};
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  const refused = (async () => {
    let allowedBefore = 0;
    let requests = 0;
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      const sentAt = performance.now();
      const response = await fetch(`${envoy.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-correx-user': user, 'x-correx-tier': 'pro' },
        body: CHAT_BODY,
      });
      await response.text();
      const answeredAt = performance.now();
      requests += 1;
      if (response.status === 403)
        return { firstRefusalAt: answeredAt, correctionHeader: response.headers.get('x-correx-correction'), allowedBefore, requests };
      if (response.status !== 200) throw new Error(`probe for ${user}: ${response.status}`);
      allowedBefore += 1;
      if (allowedBefore === 3) markStarted();
      const wait = sentAt + intervalMs - performance.now();
      if (wait > 0) await sleep(wait);
    }
    throw new Error(`probe for ${user}: no 403 within ${timeoutMs} ms`);
  })();
  return { started, refused };
}

interface RefusalSample {
  /** Approve sent → the first 403 received by the caller. */
  toRefusal: number;
  /** The approve call's round trip (it answers once the vote is recorded). */
  decide: number;
  /** Approve sent → the correction in the policy (`applied_at`, a new policy version; PostgreSQL's clock). */
  toApplied: number;
  /** The correction in the policy → the first 403. */
  appliedToRefusal: number;
}

async function refusalOnce(stack: Stack, p: People, envoy: RunningEnvoy, key: string): Promise<RefusalSample> {
  const user = `blocked-${run}-${key}`;
  const correctionId = await proposed(stack, p, key, {
    kind: 'user_restriction',
    scope: { users: [user] },
    parameters: { mode: 'blocklist' },
    reason: 'Gateway benchmark: block one user',
  });
  const prober = probe(envoy, user, 10, 20_000);
  await Promise.race([prober.started, prober.refused]);
  const decided = await approve(stack, p, correctionId);
  const seen = await prober.refused;
  if (seen.correctionHeader !== correctionId) throw new Error(`the 403 for ${user} named correction ${seen.correctionHeader}, not ${correctionId}`);
  const row = await stack.db.selectFrom('corrections').select('applied_at').where('id', '=', correctionId).executeTakeFirstOrThrow();
  // performance.now() and PostgreSQL's now() on the same machine: the wall clock joins them.
  const appliedAt = row.applied_at ? row.applied_at.getTime() - performance.timeOrigin : Number.NaN;
  return {
    toRefusal: seen.firstRefusalAt - decided.sentAt,
    decide: decided.returnedAt - decided.sentAt,
    toApplied: appliedAt - decided.sentAt,
    appliedToRefusal: seen.firstRefusalAt - appliedAt,
  };
}

const round = (d: Distribution) => ({ n: d.n, p50: d.p50, p95: d.p95, p99: d.p99, min: d.min, max: d.max, mean: d.mean });
const brief = (r: LoadResult) => ({
  requests: r.requests,
  accepted: r.accepted,
  statuses: r.statuses,
  errors: r.errors,
  seconds: r.seconds,
  perSecond: r.perSecond,
  latencyMs: round(r.latencyMs),
});
const ms = (v: number) => `${v.toFixed(v < 10 ? 2 : 1)} ms`;

export async function gateways(stack: Stack, cleanup: Cleanup, options: GatewayOptions): Promise<Omit<SectionResult, 'measuredAt' | 'seconds' | 'quick'>> {
  const p: People = {
    commander: await stack.token('jonas-berg', ['responder']),
    approver: await stack.token('sofia-marquez', ['approver']),
    gateway: await stack.token('envoy-edge', ['gateway']),
  };
  await addGatewaySystem(stack, p.gateway);

  const upstreamProcess = await startScript(cleanup, 'bench/model-upstream.ts', [], /model upstream: serving/, 'model upstream');
  const upstream = upstreamProcess.output().match(/model upstream: serving (\S+)/)![1]!;
  const bare = await startEnvoy({ upstream, decisionServices: [], withoutExtAuthz: true, pathPrefix: '' });
  cleanup.add('stop Envoy without ext_authz', () => bare.stop());
  const envoy = await startEnvoy({
    upstream,
    decisionServices: [stack.apiUrl],
    pathPrefix: `/v1/gateways/envoy/${GATEWAY_SYSTEM}`,
    credential: p.gateway,
    allowedHeaders: USER_HEADERS,
  });
  cleanup.add('stop Envoy with ext_authz', () => envoy.stop());

  const named = await correxProcesses();
  named.set(process.pid, 'load generator (bench process)');
  named.set(upstreamProcess.pid, 'model upstream');
  if (bare.pid) named.set(bare.pid, 'Envoy without ext_authz');
  if (envoy.pid) named.set(envoy.pid, 'Envoy with ext_authz');

  // 1. Envoy with ext_authz against the same Envoy without, no correction in force.
  say(`gateways: warm-up ${options.warmupSeconds} s through each Envoy`);
  await throughEnvoy(bare, options.concurrency, options.warmupSeconds);
  await throughEnvoy(envoy, options.concurrency, options.warmupSeconds);
  // In slices, alternately (without, with, with, without, …), so that both see the same machine.
  const slices = Math.max(1, Math.round(options.seconds / SLICE_SECONDS));
  const sliceSeconds = options.seconds / slices;
  say(
    `gateways: ${options.seconds} s through Envoy without ext_authz and ${options.seconds} s with, in alternating slices of ${sliceSeconds.toFixed(1)} s (${options.concurrency} connections)`,
  );
  const without = new Slices();
  const withExtAuthz = new Slices();
  const checks: Record<string, number> = {};
  let xacts = 0;
  for (let i = 0; i < slices; i++) {
    for (const side of i % 2 === 0 ? (['bare', 'ext'] as const) : (['ext', 'bare'] as const)) {
      if (side === 'bare') {
        await without.run(named, (onLatency) => throughEnvoy(bare, options.concurrency, sliceSeconds, onLatency));
        continue;
      }
      const checksBefore = await extAuthzStats(envoy);
      const xactBefore = await transactions(stack);
      await withExtAuthz.run(named, (onLatency) => throughEnvoy(envoy, options.concurrency, sliceSeconds, onLatency));
      xacts += (await transactions(stack)) - xactBefore;
      for (const [k, v] of Object.entries(await extAuthzStats(envoy))) checks[k] = (checks[k] ?? 0) + v - (checksBefore[k] ?? 0);
    }
  }
  const bareLoad = without.merged();
  const extLoad = withExtAuthz.merged();
  // One request at a time: what each check adds without queueing for the CPUs.
  const singleSeconds = Math.max(2, Math.round(options.seconds / 4));
  say(`gateways: one connection, ${singleSeconds} s through each Envoy`);
  const bareSingle = await throughEnvoy(bare, 1, singleSeconds);
  const extSingle = await throughEnvoy(envoy, 1, singleSeconds);

  // 2. The decision endpoint alone, against /livez on the same API process.
  say(`gateways: ${options.decideSeconds} s of GET /livez, then of POST /v1/decide`);
  const livez = await closedLoop({ url: `${stack.apiUrl}/livez`, concurrency: options.concurrency, durationMs: options.decideSeconds * 1000, expect: 200 });
  const who = callers();
  const decideXactBefore = await transactions(stack);
  const decideLoad = await measuredCpu(named, () =>
    closedLoop({
      url: `${stack.apiUrl}/v1/decide`,
      token: p.gateway,
      concurrency: options.concurrency,
      durationMs: options.decideSeconds * 1000,
      expect: 200,
      nextBody: () => {
        const h = who();
        return JSON.stringify({ systemId: GATEWAY_SYSTEM, userId: h['x-correx-user'], tier: h['x-correx-tier'] });
      },
    }),
  );
  const decideXacts = (await transactions(stack)) - decideXactBefore;

  // 3. Approval → the first refusal a caller receives through Envoy.
  say(`gateways: ${options.rounds} rounds of approval → first 403 at Envoy`);
  const samples: RefusalSample[] = [];
  for (let i = -2; i < options.rounds; i++) {
    const sample = await refusalOnce(stack, p, envoy, i < 0 ? `warm${-i}` : String(i));
    if (i >= 0) samples.push(sample);
  }
  // 4. Diagnostic, last (lifting it would need the incident's restoration criteria): a rate limit in force
  // whose limit no caller reaches, so each request is counted in PostgreSQL. The user restrictions of 3 stay in force.
  say('gateways: a rate limit in force (limit not reached)');
  const limitId = await proposed(stack, p, 'rate-limit', {
    kind: 'rate_limit',
    scope: { tiers: TIERS },
    parameters: { requestsPerMinute: 100_000, per: 'user' },
    reason: 'Gateway benchmark: a limit nobody reaches',
  });
  await approve(stack, p, limitId);
  await untilDecided(stack, p, { userId: 'u-1', tier: 'free' }, 'throttle');
  const limitedSeconds = Math.max(2, Math.round(options.seconds / 2));
  say(`gateways: ${limitedSeconds} s through Envoy with ext_authz, rate limit in force`);
  const limitedXactBefore = await transactions(stack);
  const limited = await measuredCpu(named, () => throughEnvoy(envoy, options.concurrency, limitedSeconds));
  const limitedXacts = (await transactions(stack)) - limitedXactBefore;

  const toRefusal = distribution(samples.map((s) => s.toRefusal));
  const toApplied = distribution(samples.map((s) => s.toApplied));
  const appliedToRefusal = distribution(samples.map((s) => s.appliedToRefusal));

  const extraP50 = extLoad.result.latencyMs.p50 - bareLoad.result.latencyMs.p50;
  const extraP99 = extLoad.result.latencyMs.p99 - bareLoad.result.latencyMs.p99;
  const added = (metric: string, value: number, target?: number): Figure => ({
    metric,
    unit: 'ms',
    value,
    ...(target !== undefined ? { target: `≤ ${target} ms`, met: value <= target } : {}),
  });
  const vsBare = (metric: string, value: number, baseline: number): Figure => ({
    metric,
    unit: 'ms',
    value,
    baseline,
    ratio: value / baseline,
    ratioStyle: 'times',
  });
  const checksPerRequest = extLoad.result.requests > 0 ? (checks.ok ?? 0) / extLoad.result.requests : Number.NaN;

  const figures: Figure[] = [
    throughputFigure(
      'requests answered 200 per second through Envoy with ext_authz to Correx, no correction in force',
      'requests/s',
      extLoad.result.perSecond,
      bareLoad.result.perSecond,
      {
        share: 0.5,
      },
    ),
    added('added latency under load (with − without ext_authz), p50', extraP50),
    added('added latency under load (with − without ext_authz), p99', extraP99, 5),
    vsBare('request latency under load with ext_authz, p50', extLoad.result.latencyMs.p50, bareLoad.result.latencyMs.p50),
    vsBare('request latency under load with ext_authz, p99', extLoad.result.latencyMs.p99, bareLoad.result.latencyMs.p99),
    added('added latency one request at a time (1 connection), p50; diagnostic', extSingle.latencyMs.p50 - bareSingle.latencyMs.p50),
    added('added latency one request at a time (1 connection), p99; diagnostic', extSingle.latencyMs.p99 - bareSingle.latencyMs.p99),
    throughputFigure(
      'requests per second with ext_authz, a rate limit in force (not reached); diagnostic',
      'requests/s',
      limited.result.perSecond,
      bareLoad.result.perSecond,
    ),
    added('added latency under load, rate limit in force, p99; diagnostic', limited.result.latencyMs.p99 - bareLoad.result.latencyMs.p99),
    throughputFigure('POST /v1/decide decisions per second (baseline GET /livez); diagnostic', 'requests/s', decideLoad.result.perSecond, livez.perSecond),
    vsBare('POST /v1/decide latency under load, p99 (baseline GET /livez); diagnostic', decideLoad.result.latencyMs.p99, livez.latencyMs.p99),
    { metric: 'approval sent → first 403 at Envoy, p50', unit: 'ms', value: toRefusal.p50 },
    { metric: 'approval sent → first 403 at Envoy, p99', unit: 'ms', value: toRefusal.p99, target: '≤ 1500 ms', met: toRefusal.p99 <= 1500 },
  ];
  const cpu = (name: string, share: CpuShare) => `${name}: ${coresText(share)}`;
  const bareCost = cpuPerRequest(bareLoad.cores, bareLoad.result.perSecond);
  const extCost = cpuPerRequest(extLoad.cores, extLoad.result.perSecond);
  return {
    id: 'gateways',
    title: 'Gateways (Envoy ext_authz)',
    parameters: {
      seconds: options.seconds,
      warmupSeconds: options.warmupSeconds,
      concurrency: options.concurrency,
      slices,
      singleSeconds,
      decideSeconds: options.decideSeconds,
      limitedSeconds,
      rounds: options.rounds,
      users: USERS,
      system: GATEWAY_SYSTEM,
    },
    figures,
    notes: [
      `Without ext_authz: ${bareLoad.result.requests} requests in ${bareLoad.result.seconds.toFixed(1)} s (statuses ${JSON.stringify(bareLoad.result.statuses)}, ${bareLoad.result.errors} connection errors), p50 ${ms(bareLoad.result.latencyMs.p50)} / p99 ${ms(bareLoad.result.latencyMs.p99)}. With ext_authz: ${extLoad.result.requests} requests (statuses ${JSON.stringify(extLoad.result.statuses)}, ${extLoad.result.errors} connection errors), p50 ${ms(extLoad.result.latencyMs.p50)} / p99 ${ms(extLoad.result.latencyMs.p99)}; Envoy counted ${JSON.stringify(Object.fromEntries(Object.entries(checks).filter(([, n]) => n > 0)))} ext_authz checks (${checksPerRequest.toFixed(2)} per request).`,
      `CPU in cores during the load (${os.cpus().length} CPUs). ${cpu('Without ext_authz', bareLoad.cores)}. ${cpu('With ext_authz', extLoad.cores)}. CPU time per request answered, this benchmark's processes: without ext_authz ${perRequestText(bareCost)}; with ext_authz ${perRequestText(extCost)}. Were the ${os.cpus().length} CPUs theirs alone, those costs would allow at most ${((os.cpus().length * 1000) / bareCost.total).toFixed(0)} requests/s without and ${((os.cpus().length * 1000) / extCost.total).toFixed(0)}/s with ext_authz (${((bareCost.total / extCost.total) * 100).toFixed(0)} %).`,
      `PostgreSQL transactions in the bench database per request answered with ext_authz: ${(xacts / Math.max(1, extLoad.result.requests)).toFixed(4)} (${xacts} in ${extLoad.result.seconds.toFixed(0)} s: the policy poll every 100 ms and its reports; no decision waits for PostgreSQL). With the rate limit in force: ${(limitedXacts / Math.max(1, limited.result.requests)).toFixed(4)} per request (${limitedXacts}), each count going in one batched statement per group of requests.`,
      `One request at a time: without ext_authz p50 ${ms(bareSingle.latencyMs.p50)} / p99 ${ms(bareSingle.latencyMs.p99)} (${bareSingle.perSecond.toFixed(0)}/s), with p50 ${ms(extSingle.latencyMs.p50)} / p99 ${ms(extSingle.latencyMs.p99)} (${extSingle.perSecond.toFixed(0)}/s).`,
      `Rate limit in force (100000 a minute per user, ${USERS} users): ${limited.result.requests} requests in ${limited.result.seconds.toFixed(1)} s (statuses ${JSON.stringify(limited.result.statuses)}), p50 ${ms(limited.result.latencyMs.p50)} / p99 ${ms(limited.result.latencyMs.p99)}. ${cpu('CPU', limited.cores)}.`,
      `GET /livez: ${livez.requests} in ${livez.seconds.toFixed(1)} s, ${livez.perSecond.toFixed(0)}/s, p50 ${ms(livez.latencyMs.p50)} / p99 ${ms(livez.latencyMs.p99)}. POST /v1/decide: ${decideLoad.result.requests} (statuses ${JSON.stringify(decideLoad.result.statuses)}), ${decideLoad.result.perSecond.toFixed(0)}/s, p50 ${ms(decideLoad.result.latencyMs.p50)} / p99 ${ms(decideLoad.result.latencyMs.p99)}; ${(decideXacts / Math.max(1, decideLoad.result.requests)).toFixed(4)} PostgreSQL transactions per decision; the API's CPU per decision ${(((decideLoad.cores['correx api'] ?? Number.NaN) / decideLoad.result.perSecond) * 1000).toFixed(3)} ms. ${cpu('CPU', decideLoad.cores)}.`,
      `Approval → first 403 (${samples.length} rounds after 2 unrecorded): p50 ${ms(toRefusal.p50)} / p95 ${ms(toRefusal.p95)} / p99 ${ms(toRefusal.p99)} / max ${ms(toRefusal.max)}. Where the time goes (medians): the approve call answers in ${ms(median(samples.map((s) => s.decide)))}; approve sent → the correction in the policy (applied_at, a new version) ${ms(toApplied.p50)} (p99 ${ms(toApplied.p99)}); from there to the first 403 ${ms(appliedToRefusal.p50)} (p99 ${ms(appliedToRefusal.p99)}): the API's policy poll (every 100 ms), the reload, and the caller's next request (every 10 ms).`,
    ],
    details: {
      bare: brief(bareLoad.result),
      extAuthz: brief(extLoad.result),
      bareSingle: brief(bareSingle),
      extAuthzSingle: brief(extSingle),
      rateLimited: brief(limited.result),
      livez: brief(livez),
      decide: brief(decideLoad.result),
      cores: { bare: bareLoad.cores, extAuthz: extLoad.cores, rateLimited: limited.cores, decide: decideLoad.cores },
      cpuMsPerRequest: { bare: bareCost, extAuthz: extCost },
      extAuthzChecks: checks,
      transactions: { extAuthz: xacts, rateLimited: limitedXacts, decide: decideXacts },
      approvalToRefusal: {
        toRefusal: round(toRefusal),
        toApplied: round(toApplied),
        appliedToRefusal: round(appliedToRefusal),
        decideMedian: median(samples.map((s) => s.decide)),
      },
    },
  };
}
