import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { distribution, median, ratioInterval, residentMemory, sleep, type Distribution } from './stats.js';
import { latencyFigure, type Figure, type SectionResult } from './results.js';
import { BASELINE_TASK_QUEUE, SYSTEM, say, type Stack } from './stack.js';

const run = randomBytes(3).toString('hex');
/** How long after a sample the next starts on a quiet machine: a break-glass correction's own work after the apply (verifying, recording, the consumers' notices and fallbacks, the authority's pages) takes about half a second. */
const QUIET_GAP_MS = 1000;
const QUIET_SAMPLES = 30;
/** How long after the 202 the opening's own work is surely done (its pages and notices are sent within a second). */
const SETTLE_MS = 1500;

export interface Timed<T> {
  status: number;
  body: T;
  sentAt: number;
  returnedAt: number;
}

/** One API call as a person would make it, timed on the benchmark's clock; throws on an error status. */
export async function call<T = Record<string, unknown>>(stack: Stack, method: string, route: string, token: string, body?: unknown): Promise<Timed<T>> {
  const sentAt = performance.now();
  const response = await fetch(`${stack.apiUrl}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  const returnedAt = performance.now();
  if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${text}`);
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as T, sentAt, returnedAt };
}

interface People {
  commander: string;
  approver: string;
}

async function people(stack: Stack): Promise<People> {
  return {
    // Holds incident-commander: the first to acknowledge becomes commander and may use break-glass.
    commander: await stack.token('jonas-berg', ['responder']),
    // Holds safety-engineering-manager, the approver of rate limits below SEV1.
    approver: await stack.token('sofia-marquez', ['approver']),
  };
}

async function openIncident(stack: Stack, token: string, key: string, severity: string): Promise<Timed<{ incidentId: string }>> {
  return call<{ incidentId: string }>(stack, 'POST', '/v1/incidents', token, {
    systemId: SYSTEM,
    title: `Benchmark incident ${key}`,
    severity,
    dedupKey: `${run}-${key}`,
  });
}

interface BreakGlassSample {
  fromTrigger: number;
  fromTriggerSent: number;
  fromProposal: number;
  trigger: number;
  acknowledge: number;
  propose: number;
}

/** Trigger (202) → acknowledge (commander) → propose a break-glass shutdown → the enforcer receives the apply. */
async function breakGlassOnce(stack: Stack, p: People, key: string, ackAfterMs = 0): Promise<BreakGlassSample> {
  const opened = await openIncident(stack, p.commander, key, 'SEV2');
  const id = opened.body.incidentId;
  if (ackAfterMs > 0) await sleep(ackAfterMs);
  const ack = await call(stack, 'POST', `/v1/incidents/${id}/acknowledge`, p.commander, {});
  const proposed = await call<{ correctionId: string }>(stack, 'POST', `/v1/incidents/${id}/corrections`, p.commander, {
    kind: 'shutdown',
    scope: { all: true },
    reason: 'Benchmark: stop serving at once',
    breakGlass: true,
  });
  const received = await stack.endpoint.receipt(proposed.body.correctionId);
  return {
    fromTrigger: received - opened.returnedAt,
    fromTriggerSent: received - opened.sentAt,
    fromProposal: received - proposed.sentAt,
    trigger: opened.returnedAt - opened.sentAt,
    acknowledge: ack.returnedAt - ack.sentAt,
    propose: proposed.returnedAt - proposed.sentAt,
  };
}

interface ApprovalSample {
  fromDecision: number;
  fromDecisionSent: number;
  decide: number;
}

/** Trigger → acknowledge → propose a rate limit → the approver approves → the enforcer receives the apply. */
async function approvalOnce(stack: Stack, p: People, key: string): Promise<ApprovalSample> {
  const opened = await openIncident(stack, p.commander, key, 'SEV2');
  const id = opened.body.incidentId;
  await call(stack, 'POST', `/v1/incidents/${id}/acknowledge`, p.commander, {});
  const proposed = await call<{ correctionId: string }>(stack, 'POST', `/v1/incidents/${id}/corrections`, p.commander, {
    kind: 'rate_limit',
    scope: { tiers: ['free'] },
    parameters: { requestsPerMinute: 10, per: 'user' },
    reason: 'Benchmark: slow the free tier',
  });
  const decided = await call(stack, 'POST', `/v1/corrections/${proposed.body.correctionId}/decision`, p.approver, {
    decision: 'approve',
    rationale: 'Benchmark approval',
  });
  const received = await stack.endpoint.receipt(proposed.body.correctionId);
  return { fromDecision: received - decided.returnedAt, fromDecisionSent: received - decided.sentAt, decide: decided.returnedAt - decided.sentAt };
}

interface BaselineSample {
  fromStart: number;
  fromStartSent: number;
}

/**
 * One bare Update (its handler runs one no-op local activity) on a running bare workflow, sent straight
 * from the Temporal client: the floor under each action a person takes through Correx, before HTTP.
 */
async function bareUpdateOnce(stack: Stack, key: string): Promise<{ local: number; remote: number }> {
  const handle = await stack.client.workflow.start('bareUpdateWorkflow', { taskQueue: BASELINE_TASK_QUEUE, workflowId: `bare-update-${run}-${key}` });
  await handle.executeUpdate('bareAct');
  const timed = async (update: string) => {
    const sentAt = performance.now();
    await handle.executeUpdate(update);
    return performance.now() - sentAt;
  };
  const local = await timed('bareAct');
  const remote = await timed('bareActRemotely');
  await handle.signal('bareEnd');
  return { local, remote };
}

/** The bare workflow: client start returns → its no-op activity reports in at the endpoint. */
async function baselineOnce(stack: Stack, key: string): Promise<BaselineSample> {
  const id = `bare-${run}-${key}`;
  const sentAt = performance.now();
  await stack.client.workflow.start('bareWorkflow', {
    taskQueue: BASELINE_TASK_QUEUE,
    workflowId: id,
    args: [`${stack.endpoint.origin}/baseline/${encodeURIComponent(id)}`],
  });
  const startedAt = performance.now();
  const received = await stack.endpoint.receipt(id);
  return { fromStart: received - startedAt, fromStartSent: received - sentAt };
}

/** The bare journey (bench/baseline-workflow.ts): start returned → acknowledge Update → propose Update → its activity reports in. */
async function bareJourneyOnce(stack: Stack, key: string): Promise<number> {
  const id = `bare-journey-${run}-${key}`;
  const handle = await stack.client.workflow.start('bareJourneyWorkflow', { taskQueue: BASELINE_TASK_QUEUE, workflowId: id });
  const startedAt = performance.now();
  await handle.executeUpdate('bareAcknowledge');
  await handle.executeUpdate('barePropose', { args: [`${stack.endpoint.origin}/baseline/${encodeURIComponent(id)}`] });
  return (await stack.endpoint.receipt(id)) - startedAt;
}

/**
 * Runs `n` Correx samples and `n` baseline samples alternately (after `warmup` unrecorded pairs), so both
 * see the same machine; with `gapMs`, each sample starts that long after the last one returned.
 */
async function interleaved<T>(
  n: number,
  warmup: number,
  label: string,
  correx: (key: string) => Promise<T>,
  baseline: (key: string) => Promise<BaselineSample>,
  gapMs = 0,
): Promise<{ correx: T[]; baseline: BaselineSample[] }> {
  const out = { correx: [] as T[], baseline: [] as BaselineSample[] };
  const gap = () => (gapMs > 0 ? sleep(gapMs) : Promise.resolve());
  for (let i = -warmup; i < n; i++) {
    const key = `${label}-${i < 0 ? `warm${-i}` : i}`;
    const c = await correx(key);
    await gap();
    const b = await baseline(key);
    await gap();
    if (i >= 0) {
      out.correx.push(c);
      out.baseline.push(b);
    }
    if (i > 0 && i % 50 === 0) say(`${label}: ${i}/${n}`);
  }
  return out;
}

/** How much the p99 ratio rests on this run's few largest samples (see ratioInterval). */
function spreadNote(what: string, samples: number[], baseline: number[]): string {
  const p99 = ratioInterval(samples, baseline, 99);
  const p50 = ratioInterval(samples, baseline, 50);
  return `Spread (${what}): resampling this run's own samples 2,000 times, the p99 ratio lies between ${p99.low.toFixed(2)}× and ${p99.high.toFixed(2)}× (90 %), the p50 ratio between ${p50.low.toFixed(2)}× and ${p50.high.toFixed(2)}×: a p99 of ${samples.length} samples rests on its few largest.`;
}

const round = (d: Distribution) => ({ n: d.n, p50: d.p50, p95: d.p95, p99: d.p99, min: d.min, max: d.max, mean: d.mean });

export async function triggerToEnforced(stack: Stack, n: number): Promise<Omit<SectionResult, 'measuredAt' | 'seconds' | 'quick'>> {
  const p = await people(stack);
  const samples = await interleaved(
    n,
    5,
    'trigger',
    (key) => breakGlassOnce(stack, p, key),
    (key) => baselineOnce(stack, key),
  );
  const fromTrigger = distribution(samples.correx.map((s) => s.fromTrigger));
  const fromProposal = distribution(samples.correx.map((s) => s.fromProposal));
  // Measured after the samples, on the same stack: the second Update of a cached workflow, as Correx's actions are.
  const updates: { local: number; remote: number }[] = [];
  for (let i = 0; i < Math.min(n, 100); i++) updates.push(await bareUpdateOnce(stack, `trigger-${i}`));
  const bareUpdate = distribution(updates.map((u) => u.local));
  const bareUpdateRemote = distribution(updates.map((u) => u.remote));
  // What bounds it: the same journey with the acknowledgement sent once the opening's own work (its pages,
  // the internal list's notices, the escalation's start) is done, instead of the moment the 202 arrives.
  const settled: BreakGlassSample[] = [];
  for (let i = 0; i < Math.min(n, 30); i++) settled.push(await breakGlassOnce(stack, p, `trigger-settled-${i}`, SETTLE_MS));
  // What the interleaved figures rest on: back to back, each baseline sample starts as the last incident's
  // correction does its own work after the apply. Here every sample starts on a quiet machine, and the bare
  // journey (the same two Updates and one activity through Temporal alone) is measured beside them.
  const quietJourneys: number[] = [];
  const quiet = await interleaved(
    Math.min(n, QUIET_SAMPLES),
    0,
    'trigger-quiet',
    (key) => breakGlassOnce(stack, p, key),
    async (key) => {
      const bare = await baselineOnce(stack, key);
      await sleep(QUIET_GAP_MS);
      quietJourneys.push(await bareJourneyOnce(stack, key));
      return bare;
    },
    QUIET_GAP_MS,
  );
  const quietCorrex = distribution(quiet.correx.map((s) => s.fromTrigger));
  const quietBare = distribution(quiet.baseline.map((s) => s.fromStart));
  const quietJourney = distribution(quietJourneys);
  const acknowledge = distribution(samples.correx.map((s) => s.acknowledge));
  const acknowledgeSettled = distribution(settled.map((s) => s.acknowledge));
  const bare = distribution(samples.baseline.map((s) => s.fromStart));
  const bareSent = distribution(samples.baseline.map((s) => s.fromStartSent));
  const figures: Figure[] = [];
  for (const q of ['p50', 'p95', 'p99'] as const) {
    const interval = () =>
      ratioInterval(
        samples.correx.map((s) => s.fromTrigger),
        samples.baseline.map((s) => s.fromStart),
        99,
      );
    figures.push(latencyFigure(`trigger 202 → enforcer receipt, ${q}`, fromTrigger[q], bare[q], q === 'p99' ? { factor: 3, interval: interval() } : undefined));
  }
  for (const q of ['p50', 'p95', 'p99'] as const) {
    figures.push(latencyFigure(`break-glass proposal sent → enforcer receipt, ${q}`, fromProposal[q], bareSent[q]));
  }
  // The trigger answers once the incident is on record: from the moment it is sent, against start() sent.
  const fromTriggerSent = distribution(samples.correx.map((s) => s.fromTriggerSent));
  for (const q of ['p50', 'p99'] as const) {
    figures.push(latencyFigure(`trigger sent → enforcer receipt, ${q}; diagnostic`, fromTriggerSent[q], bareSent[q]));
  }
  for (const q of ['p50', 'p99'] as const) {
    figures.push(latencyFigure(`acknowledge round trip sent as the 202 arrives, ${q}; diagnostic`, acknowledge[q], bare[q]));
  }
  for (const q of ['p50', 'p99'] as const) {
    figures.push(
      latencyFigure(
        `acknowledge round trip sent ${SETTLE_MS / 1000} s after the 202 (opening's work done; ${settled.length} incidents), ${q}; diagnostic`,
        acknowledgeSettled[q],
        bare[q],
      ),
    );
  }
  const quietly = `on a quiet machine (each sample ${QUIET_GAP_MS / 1000} s after the last; ${quiet.correx.length} incidents)`;
  for (const q of ['p50', 'p99'] as const) {
    figures.push(
      latencyFigure(`trigger 202 → enforcer receipt ${quietly}, against the bare baseline measured so, ${q}; diagnostic`, quietCorrex[q], quietBare[q]),
    );
  }
  for (const q of ['p50', 'p99'] as const) {
    figures.push(
      latencyFigure(
        `bare journey ${quietly} (start → acknowledge Update → propose Update → its activity reports in; Temporal alone), against the bare baseline, ${q}; diagnostic`,
        quietJourney[q],
        quietBare[q],
      ),
    );
  }
  for (const q of ['p50', 'p99'] as const) {
    figures.push(latencyFigure(`trigger 202 → enforcer receipt ${quietly}, against the bare journey, ${q}; diagnostic`, quietCorrex[q], quietJourney[q]));
  }
  for (const q of ['p50', 'p99'] as const) {
    figures.push(latencyFigure(`bare Update round trip (no HTTP, one no-op local activity), ${q}; diagnostic`, bareUpdate[q], bare[q]));
  }
  for (const q of ['p50', 'p99'] as const) {
    figures.push(latencyFigure(`bare Update round trip (no HTTP, one no-op activity task), ${q}; diagnostic`, bareUpdateRemote[q], bare[q]));
  }
  return {
    id: 'trigger',
    title: 'Trigger to enforced (break-glass)',
    parameters: { incidents: n, warmup: 5, severity: 'SEV2', correction: 'shutdown, breakGlass' },
    figures,
    notes: [
      spreadNote(
        '202 → receipt',
        samples.correx.map((s) => s.fromTrigger),
        samples.baseline.map((s) => s.fromStart),
      ),
      `Per incident: POST /v1/incidents (202) → acknowledge by the commander → propose a break-glass shutdown (201); stage medians: trigger ${median(samples.correx.map((s) => s.trigger)).toFixed(1)} ms, acknowledge ${median(samples.correx.map((s) => s.acknowledge)).toFixed(1)} ms, propose ${median(samples.correx.map((s) => s.propose)).toFixed(1)} ms (each an HTTP round trip).`,
      `Baseline (bare workflow, one no-op activity): from start() returned p50 ${bare.p50.toFixed(1)} / p95 ${bare.p95.toFixed(1)} / p99 ${bare.p99.toFixed(1)} ms; from start() sent p50 ${bareSent.p50.toFixed(1)} / p99 ${bareSent.p99.toFixed(1)} ms.`,
      `On a quiet machine: interleaved back to back, each bare baseline sample starts as the previous incident's correction does its own work after the apply (about half a second of verifying, recording, the consumers' notices and fallbacks, the decision authority's pages), which slows it: the bare baseline measured ${QUIET_GAP_MS / 1000} s after the last sample takes p50 ${quietBare.p50.toFixed(1)} / p99 ${quietBare.p99.toFixed(1)} ms against p50 ${bare.p50.toFixed(1)} / p99 ${bare.p99.toFixed(1)} ms back to back, and Correx's journey p50 ${quietCorrex.p50.toFixed(1)} / p99 ${quietCorrex.p99.toFixed(1)} ms (${(quietCorrex.p50 / quietBare.p50).toFixed(2)}× / ${(quietCorrex.p99 / quietBare.p99).toFixed(2)}×). The same journey through Temporal alone (two Updates and one activity, no HTTP, database or opening work) takes p50 ${quietJourney.p50.toFixed(1)} / p99 ${quietJourney.p99.toFixed(1)} ms, ${(quietJourney.p50 / quietBare.p50).toFixed(2)}× the bare baseline at p50: the target's baseline is one workflow start and one activity, the journey two human actions, each a Temporal Update of its own.`,
      `Control endpoint: ${stack.endpoint.applyRequests} apply requests, ${stack.endpoint.rejected} refused signatures.`,
      `The floor: acknowledging is a Temporal Update answered in the workflow task that accepts it, then the API's write of its record (one PostgreSQL transaction under the incident's lock); a break-glass proposal is an Update whose workflow task sends the apply (an activity task) beside starting the correction's workflow. On this server a bare Update whose handler awaits one no-op activity task takes p50 ${bareUpdateRemote.p50.toFixed(1)} / p99 ${bareUpdateRemote.p99.toFixed(1)} ms, one awaiting a local activity p50 ${bareUpdate.p50.toFixed(1)} / p99 ${bareUpdate.p99.toFixed(1)} ms (sent from the Temporal client, no HTTP). The acknowledgement sent the moment the 202 arrives takes p50 ${acknowledge.p50.toFixed(1)} / p99 ${acknowledge.p99.toFixed(1)} ms; sent ${SETTLE_MS / 1000} s later, once the opening's own work is done (the escalation's start and first page, the internal list's notices, each written to the timeline under the incident's lock), p50 ${acknowledgeSettled.p50.toFixed(1)} / p99 ${acknowledgeSettled.p99.toFixed(1)} ms: that work, sharing the 2 CPUs with the acknowledgement, is what the rest of the gap is.`,
    ],
    details: {
      distributions: {
        fromTrigger: round(fromTrigger),
        fromProposal: round(fromProposal),
        baseline: round(bare),
        baselineFromSent: round(bareSent),
        bareUpdate: round(bareUpdate),
        bareUpdateRemote: round(bareUpdateRemote),
        acknowledge: round(acknowledge),
        acknowledgeSettled: round(acknowledgeSettled),
        quietFromTrigger: round(quietCorrex),
        quietBaseline: round(quietBare),
        quietBareJourney: round(quietJourney),
      },
    },
  };
}

export async function approvalToEnforced(stack: Stack, n: number): Promise<Omit<SectionResult, 'measuredAt' | 'seconds' | 'quick'>> {
  const p = await people(stack);
  const samples = await interleaved(
    n,
    5,
    'approval',
    (key) => approvalOnce(stack, p, key),
    (key) => baselineOnce(stack, key),
  );
  const fromDecision = distribution(samples.correx.map((s) => s.fromDecision));
  const fromDecisionSent = distribution(samples.correx.map((s) => s.fromDecisionSent));
  const bare = distribution(samples.baseline.map((s) => s.fromStart));
  const bareSent = distribution(samples.baseline.map((s) => s.fromStartSent));
  const figures: Figure[] = [];
  for (const q of ['p50', 'p95', 'p99'] as const) figures.push(latencyFigure(`approve returned → enforcer receipt, ${q}`, fromDecision[q], bare[q]));
  for (const q of ['p50', 'p95', 'p99'] as const) {
    const interval = () =>
      ratioInterval(
        samples.correx.map((s) => s.fromDecisionSent),
        samples.baseline.map((s) => s.fromStartSent),
        99,
      );
    figures.push(
      latencyFigure(`approve sent → enforcer receipt, ${q}`, fromDecisionSent[q], bareSent[q], q === 'p99' ? { factor: 1.5, interval: interval() } : undefined),
    );
  }
  return {
    id: 'approval',
    title: 'Approval to enforced',
    parameters: { incidents: n, warmup: 5, severity: 'SEV2', correction: 'rate_limit, approved by its authority' },
    figures,
    notes: [
      `The approve call itself (POST /v1/corrections/:id/decision) takes p50 ${median(samples.correx.map((s) => s.decide)).toFixed(1)} ms; it answers once the vote is recorded, while the workflow already moves on to apply, so "from returned" can be the smaller part of the wait.`,
      `Baseline measured alternately in the same run: p50 ${bare.p50.toFixed(1)} / p95 ${bare.p95.toFixed(1)} / p99 ${bare.p99.toFixed(1)} ms.`,
      spreadNote(
        'approve sent → receipt',
        samples.correx.map((s) => s.fromDecisionSent),
        samples.baseline.map((s) => s.fromStartSent),
      ),
    ],
    details: {
      distributions: { fromDecision: round(fromDecision), fromDecisionSent: round(fromDecisionSent), baseline: round(bare), baselineFromSent: round(bareSent) },
    },
  };
}

/** Runs `count` tasks with at most `concurrency` at a time. */
async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

/** Waits until `probe` gives the same value for `quietMs`, or `capMs` passed; returns the seconds waited. */
async function settle(probe: () => Promise<number>, quietMs: number, capMs: number): Promise<number> {
  const started = performance.now();
  let last = await probe();
  let since = performance.now();
  while (performance.now() - started < capMs) {
    await sleep(500);
    const now = await probe();
    if (now !== last) {
      last = now;
      since = performance.now();
    } else if (performance.now() - since >= quietMs) break;
  }
  return (performance.now() - started) / 1000;
}

const mb = (kb: number | undefined) => (kb === undefined ? Number.NaN : kb / 1024);

export async function scale(
  stack: Stack,
  options: { incidents: number; samples: number; concurrency: number; unloadedP99?: number },
): Promise<Omit<SectionResult, 'measuredAt' | 'seconds' | 'quick'>> {
  const p = await people(stack);
  say('scale: starting a fresh correx worker');
  const worker = await stack.restartWorker();
  // A few incidents through the fresh worker first, so its idle figure includes warmed-up code.
  await interleaved(
    0,
    3,
    'scale-warm',
    (key) => breakGlassOnce(stack, p, key),
    (key) => baselineOnce(stack, key),
  );
  await sleep(2000);
  const idle = await residentMemory(worker.pid);

  say(`scale: opening ${options.incidents} SEV3 incidents (not acknowledged: escalation timers pending)`);
  const responder = await stack.token('amara-okafor', ['responder']);
  const openStarted = performance.now();
  await pool(options.incidents, options.concurrency, async (i) => {
    await openIncident(stack, responder, `scale-${i}`, 'SEV3');
  });
  const openSeconds = (performance.now() - openStarted) / 1000;
  // Let the worker finish what opening them started (records, first pages), so only timers remain.
  const settledAfter = await settle(
    async () =>
      Number((await sql<{ n: string }>`select count(*) as n from pages`.execute(stack.db)).rows[0]!.n) +
      Number((await sql<{ n: string }>`select count(*) as n from timeline_events`.execute(stack.db)).rows[0]!.n),
    3000,
    180_000,
  );
  const loaded = await residentMemory(worker.pid);
  const open = Number(
    (await sql<{ n: string }>`select count(*) as n from incidents where state in ('triggered', 'acknowledged', 'mitigated')`.execute(stack.db)).rows[0]!.n,
  );
  let running: number | undefined;
  try {
    running = (await stack.client.workflow.count('ExecutionStatus="Running"')).count;
  } catch {
    running = undefined;
  }

  say(`scale: ${options.samples} break-glass incidents while they are open`);
  const samples = await interleaved(
    options.samples,
    0,
    'scale',
    (key) => breakGlassOnce(stack, p, key),
    (key) => baselineOnce(stack, key),
  );
  const after = await residentMemory(worker.pid);
  const fromTrigger = distribution(samples.correx.map((s) => s.fromTrigger));
  const bare = distribution(samples.baseline.map((s) => s.fromStart));
  const figures: Figure[] = [
    { metric: `worker resident memory, idle (fresh process)`, unit: 'MB', value: mb(idle?.rssKb) },
    { metric: `worker resident memory with ${options.incidents} incidents open`, unit: 'MB', value: mb(loaded?.rssKb) },
    { metric: `worker resident memory after the samples (peak ${mb(after?.peakKb).toFixed(0)} MB)`, unit: 'MB', value: mb(after?.rssKb) },
    latencyFigure(`trigger 202 → enforcer receipt while open, p50`, fromTrigger.p50, bare.p50),
    latencyFigure(`trigger 202 → enforcer receipt while open, p99`, fromTrigger.p99, bare.p99, { factor: 5 }),
  ];
  return {
    id: 'scale',
    title: `Scale: ${options.incidents} open incidents on one worker`,
    parameters: { incidents: options.incidents, samples: options.samples, openConcurrency: options.concurrency },
    figures,
    notes: [
      `Opened ${options.incidents} SEV3 incidents in ${openSeconds.toFixed(1)} s (${(options.incidents / openSeconds).toFixed(1)}/s through the API, ${options.concurrency} at a time); the worker settled ${settledAfter.toFixed(1)} s later.`,
      `Open incidents in the database when measured: ${open} (earlier sections' incidents stay open too, but were started by the previous worker process and are not in this one's cache until something happens to them). Running workflow executions on the server: ${running ?? 'not counted'}.`,
      `Worker peak resident memory (VmHWM) at the end: ${mb(after?.peakKb).toFixed(0)} MB. Growth idle → loaded: ${(mb(loaded?.rssKb) - mb(idle?.rssKb)).toFixed(0)} MB, about ${(((loaded?.rssKb ?? Number.NaN) - (idle?.rssKb ?? Number.NaN)) / options.incidents).toFixed(0)} kB per open incident (each an incident workflow, its escalation running inside it).`,
      `Bare baseline alternately in the same window: p50 ${bare.p50.toFixed(1)} / p99 ${bare.p99.toFixed(1)} ms${options.unloadedP99 !== undefined ? `; Correx's p99 without the open incidents (trigger section): ${options.unloadedP99.toFixed(1)} ms` : ''}.`,
      `p99 of ${options.samples} samples is close to their maximum; read it as such.`,
    ],
    details: {
      distributions: { fromTrigger: round(fromTrigger), baseline: round(bare) },
      memoryKb: { idle, loaded, after },
      openIncidents: open,
      runningWorkflows: running ?? null,
    },
  };
}
