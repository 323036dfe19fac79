import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { freePorts } from '../test/support/cli.js';
import { closedLoop, type LoadResult } from './load.js';
import { throughputFigure, type Figure, type SectionResult } from './results.js';
import { SYSTEM, say, startScript, type Cleanup, type Stack } from './stack.js';
import { percentile, sleep } from './stats.js';

const STARTS_AT = '2026-11-23T01:00:00Z';

/**
 * Alertmanager webhook bodies (version 4), one firing alert each: every tenth body is a new group
 * (its own `group` label, fingerprint and startsAt), the other nine repeat a body already sent, as
 * Alertmanager does every repeat_interval. A repeat has the same idempotency key, so it is stored once.
 */
export class AlertStream {
  groups = 0;
  sent = 0;
  /** When each group's first alert was sent (wall clock, ms): the start of its wait for a page. */
  readonly firstSentAt = new Map<string, number>();
  private readonly bodies: string[] = [];
  constructor(readonly prefix: string) {}

  label(group: number): string {
    return `${this.prefix}g${group}`;
  }

  /** A body already sent, as Alertmanager re-sends it: stored once, nothing new to open. */
  repeat(): string {
    return this.bodies[Math.floor(Math.random() * this.bodies.length)]!;
  }

  next(): string {
    const fresh = this.sent % 10 === 0 || this.bodies.length === 0;
    this.sent += 1;
    if (!fresh) return this.repeat();
    const group = this.groups++;
    const label = this.label(group);
    this.firstSentAt.set(label, Date.now());
    const body = JSON.stringify({
      version: '4',
      groupKey: `{}:{group="${label}"}`,
      truncatedAlerts: 0,
      status: 'firing',
      receiver: 'correx',
      groupLabels: { group: label },
      commonLabels: { alertname: 'JailbreakRateHigh', system: SYSTEM, severity: 'critical', group: label },
      commonAnnotations: { summary: 'jailbreak success rate above 2%' },
      externalURL: 'http://alertmanager.bench:9093',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'JailbreakRateHigh', system: SYSTEM, severity: 'critical', group: label, region: 'eu' },
          annotations: { summary: 'jailbreak success rate above 2%' },
          startsAt: STARTS_AT,
          endsAt: '0001-01-01T00:00:00Z',
          generatorURL: 'http://prometheus.bench:9090/graph',
          fingerprint: label,
        },
      ],
    });
    this.bodies.push(body);
    return body;
  }
}

async function incidentCounts(stack: Stack, prefix: string): Promise<{ incidents: number; groups: number; linked: number }> {
  const pattern = `(${prefix}g[0-9]+)`;
  const row = (
    await sql<{ incidents: string; groups: string }>`
      select count(*) as incidents, count(distinct substring(dedup_key from ${pattern})) as groups
      from incidents where opened_by = 'system:monitor' and dedup_key like ${`%${prefix}g%`}`.execute(stack.db)
  ).rows[0]!;
  const linked = (
    await sql<{ n: string }>`select count(*) as n from signals where incident_id is not null and fingerprint like ${`${prefix}g%`}`.execute(stack.db)
  ).rows[0]!;
  return { incidents: Number(row.incidents), groups: Number(row.groups), linked: Number(linked.n) };
}

/** CPU seconds used so far by the machine's processes, by what they are: the Correx worker, PostgreSQL, Temporal, the rest. */
async function cpuSeconds(workerPid: number): Promise<Record<'worker' | 'postgres' | 'temporal' | 'other', number>> {
  const { readdir, readFile } = await import('node:fs/promises');
  const totals = { worker: 0, postgres: 0, temporal: 0, other: 0 };
  for (const entry of await readdir('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => undefined);
    if (!stat) continue;
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const seconds = (Number(fields[11]) + Number(fields[12])) / 100;
    const kind = Number(entry) === workerPid ? 'worker' : comm.startsWith('postgres') ? 'postgres' : comm.startsWith('temporal') ? 'temporal' : 'other';
    totals[kind] += seconds;
  }
  return totals;
}

/**
 * For each group of the stream: seconds from its first alert being sent to its incident opened, and
 * to that incident's first page sent (PostgreSQL's clock, on the same machine as the load generator).
 */
async function groupDelays(stack: Stack, stream: AlertStream): Promise<{ opened: number[]; paged: number[]; unpaged: number }> {
  const rows = (
    await sql<{ group: string; opened_at: Date; paged_at: Date | null }>`
      select substring(i.dedup_key from ${`(${stream.prefix}g[0-9]+)`}) as group, i.created_at as opened_at,
             (select min(p.sent_at) from pages p where p.incident_id = i.id) as paged_at
      from incidents i where i.opened_by = 'system:monitor' and i.dedup_key like ${`%${stream.prefix}g%`}`.execute(stack.db)
  ).rows;
  const opened: number[] = [];
  const paged: number[] = [];
  let unpaged = 0;
  for (const row of rows) {
    const sent = stream.firstSentAt.get(row.group);
    if (sent === undefined) continue;
    opened.push((row.opened_at.getTime() - sent) / 1000);
    if (row.paged_at) paged.push((row.paged_at.getTime() - sent) / 1000);
    else unpaged += 1;
  }
  return { opened, paged, unpaged };
}

export async function ingestion(
  stack: Stack,
  cleanup: Cleanup,
  options: { seconds: number; concurrency: number; warmupSeconds: number; waitSeconds: number },
): Promise<Omit<SectionResult, 'measuredAt' | 'seconds' | 'quick'>> {
  const token = await stack.token('alertmanager', ['ingest']);
  const run = randomBytes(3).toString('hex');
  const load = (url: string, stream: AlertStream, seconds: number) =>
    closedLoop({ url, token, concurrency: options.concurrency, durationMs: seconds * 1000, nextBody: () => stream.next() });

  const [port] = await freePorts(1);
  const bareServer = await startScript(cleanup, 'bench/bare-server.ts', [String(port)], /bare server: serving/, 'bare server');
  const bareUrl = `http://127.0.0.1:${port}/v1/ingest/alertmanager`;
  say(`ingestion: bare route, ${options.warmupSeconds} s warm-up + ${options.seconds} s`);
  await load(bareUrl, new AlertStream(`w${run}b`), options.warmupSeconds);
  const bare = await load(bareUrl, new AlertStream(`m${run}b`), options.seconds);
  await bareServer.stop();

  // The floor of storing before 202: the bare route plus Correx's batched signal writer, nothing else.
  const [storingPort] = await freePorts(1);
  const storingServer = await startScript(
    cleanup,
    'bench/bare-server.ts',
    [String(storingPort), stack.databaseUrl],
    /bare server: serving/,
    'storing bare server',
  );
  const storingUrl = `http://127.0.0.1:${storingPort}/v1/ingest/alertmanager`;
  say(`ingestion: bare route storing each alert, ${options.warmupSeconds} s warm-up + ${options.seconds} s`);
  await load(storingUrl, new AlertStream(`w${run}s`), options.warmupSeconds);
  const storing = await load(storingUrl, new AlertStream(`m${run}s`), options.seconds);
  await storingServer.stop();

  const correxUrl = `${stack.apiUrl}/v1/ingest/alertmanager`;
  say(`ingestion: Correx, ${options.warmupSeconds} s warm-up + ${options.seconds} s`);
  const warm = new AlertStream(`w${run}c`);
  await load(correxUrl, warm, options.warmupSeconds);
  const measured = new AlertStream(`m${run}c`);
  const correx: LoadResult = await load(correxUrl, measured, options.seconds);

  // The 202 means stored and in the monitor's history; the monitor opens the incidents after it,
  // working through its queue in order, so the last group's incident opens when the backlog is gone.
  say(`ingestion: ${measured.groups} groups sent; waiting up to ${options.waitSeconds} s for the monitor to open their incidents`);
  const loadEnded = performance.now();
  const cpuBefore = await cpuSeconds(stack.worker.pid);
  let counts = await incidentCounts(stack, measured.prefix);
  let allOpenedAfter: number | undefined;
  while (performance.now() - loadEnded < options.waitSeconds * 1000) {
    if (allOpenedAfter === undefined && counts.incidents >= measured.groups && counts.linked >= measured.groups)
      allOpenedAfter = (performance.now() - loadEnded) / 1000;
    // Keep watching a little after they are all there: a duplicate would show up late.
    if (allOpenedAfter !== undefined && performance.now() - loadEnded > allOpenedAfter * 1000 + 5000) break;
    await sleep(500);
    counts = await incidentCounts(stack, measured.prefix);
  }
  const waited = (performance.now() - loadEnded) / 1000;
  const cpuAfter = await cpuSeconds(stack.worker.pid);
  const coresUsed = Object.fromEntries(
    (Object.keys(cpuAfter) as (keyof typeof cpuAfter)[]).map((kind) => [kind, (cpuAfter[kind] - cpuBefore[kind]) / waited]),
  ) as Record<keyof typeof cpuAfter, number>;
  const delays = await groupDelays(stack, measured);
  const historyLength = await stack.client.workflow
    .getHandle(`monitor:${SYSTEM}`)
    .describe()
    .then((d) => d.historyLength)
    .catch(() => undefined);

  // What the API alone costs: the same load once the monitor is idle, repeats only, so no incident is
  // opened and nothing else competes for the CPUs. The gap to the mixed figure is the incidents' share.
  say(`ingestion: Correx again, repeats only (no new group to open), ${options.seconds} s`);
  const repeatsOnly: LoadResult = await closedLoop({
    url: correxUrl,
    token,
    concurrency: options.concurrency,
    durationMs: options.seconds * 1000,
    nextBody: () => measured.repeat(),
  });

  const duplicates = counts.incidents - counts.groups;
  const exact = counts.incidents === measured.groups && duplicates === 0;
  const figures: Figure[] = [
    throughputFigure('Alertmanager payloads accepted (202) per second, 90 % repeats', 'payloads/s', correx.perSecond, bare.perSecond, { share: 0.5 }),
    throughputFigure('payloads accepted per second, repeats only (no incident to open; diagnostic)', 'payloads/s', repeatsOnly.perSecond, bare.perSecond),
    throughputFigure(
      'bare route storing each alert with the batched signal writer (no authentication, runbook or Temporal; the floor of storing before 202; diagnostic)',
      'payloads/s',
      storing.perSecond,
      bare.perSecond,
    ),
    {
      metric: `duplicate incidents (more than one for a group), of ${counts.incidents} opened`,
      unit: 'count',
      value: duplicates,
      target: '0',
      met: duplicates === 0,
    },
    {
      metric: `incidents opened for ${measured.groups} distinct groups${allOpenedAfter === undefined ? ` (${options.waitSeconds} s after the load)` : ''}`,
      unit: 'count',
      value: counts.incidents,
      baseline: measured.groups,
      ...(allOpenedAfter !== undefined ? { target: '= distinct groups', met: exact } : {}),
    },
    {
      metric: allOpenedAfter !== undefined ? 'monitor caught up (all incidents open) after the load ended' : 'monitor NOT caught up when the wait ended, after',
      unit: 's',
      value: allOpenedAfter ?? waited,
    },
    {
      metric: `first alert sent → its incident's first page sent, p99 of ${delays.paged.length} groups${delays.unpaged ? ` (${delays.unpaged} incidents without a page yet)` : ''}`,
      unit: 's',
      value: delays.paged.length ? percentile(delays.paged, 99) : Number.NaN,
      target: '≤ 10 s',
      met: delays.paged.length === measured.groups && percentile(delays.paged, 99) <= 10,
    },
    {
      metric: "first alert sent → its incident's first page sent, p50",
      unit: 's',
      value: delays.paged.length ? percentile(delays.paged, 50) : Number.NaN,
    },
    {
      metric: 'first alert sent → its incident opened, p99',
      unit: 's',
      value: delays.opened.length ? percentile(delays.opened, 99) : Number.NaN,
    },
    {
      metric: 'request latency under load, p50',
      unit: 'ms',
      value: correx.latencyMs.p50,
      baseline: bare.latencyMs.p50,
      ratio: correx.latencyMs.p50 / bare.latencyMs.p50,
      ratioStyle: 'times',
    },
    {
      metric: 'request latency under load, p99',
      unit: 'ms',
      value: correx.latencyMs.p99,
      baseline: bare.latencyMs.p99,
      ratio: correx.latencyMs.p99 / bare.latencyMs.p99,
      ratioStyle: 'times',
    },
  ];
  return {
    id: 'ingestion',
    title: 'Alert ingestion (Alertmanager webhook)',
    parameters: {
      seconds: options.seconds,
      warmupSeconds: options.warmupSeconds,
      waitSeconds: options.waitSeconds,
      concurrency: options.concurrency,
      duplicateShare: '90 %',
      alertsPerPayload: 1,
    },
    figures,
    notes: [
      `Correx: ${correx.requests} payloads answered in ${correx.seconds.toFixed(1)} s (${correx.accepted} × 202; statuses ${JSON.stringify(correx.statuses)}; ${correx.errors} connection errors); ${measured.groups} distinct groups, ${measured.sent - measured.groups} repeats.`,
      `Bare route: ${bare.requests} payloads in ${bare.seconds.toFixed(1)} s (statuses ${JSON.stringify(bare.statuses)}), p50 ${bare.latencyMs.p50.toFixed(1)} ms. Storing each alert as well: ${storing.requests} payloads in ${storing.seconds.toFixed(1)} s (${storing.perSecond.toFixed(0)}/s, statuses ${JSON.stringify(storing.statuses)}), p50 ${storing.latencyMs.p50.toFixed(1)} ms, p99 ${storing.latencyMs.p99.toFixed(1)} ms.`,
      `Per group (${delays.paged.length} paged of ${measured.groups}): first alert sent → incident opened p50 ${percentile(delays.opened, 50).toFixed(1)} s / p99 ${percentile(delays.opened, 99).toFixed(1)} s; → first page sent p50 ${percentile(delays.paged, 50).toFixed(1)} s / p99 ${percentile(delays.paged, 99).toFixed(1)} s. The incidents were opened at ${(counts.incidents / (options.seconds + (allOpenedAfter ?? waited))).toFixed(1)} per second on average, while the groups arrived at ${(measured.groups / options.seconds).toFixed(1)} per second.`,
      `CPU while the monitor worked through the backlog after the load (${waited.toFixed(0)} s, ${os.cpus().length} CPUs): the Correx worker ${coresUsed.worker.toFixed(2)} cores, Temporal ${coresUsed.temporal.toFixed(2)}, PostgreSQL ${coresUsed.postgres.toFixed(2)}, everything else ${coresUsed.other.toFixed(2)}.`,
      `Incidents: ${counts.incidents} opened for ${counts.groups} distinct groups (${duplicates} duplicates); ${counts.linked} stored signals linked to them. ${
        allOpenedAfter !== undefined
          ? `The monitor had opened all of them ${allOpenedAfter.toFixed(1)} s after the load ended (it works through the ${measured.groups} new groups' signals in order; the 202 means stored, and the hand-over follows).`
          : `When the wait ended ${waited.toFixed(0)} s after the load, the monitor had opened ${counts.incidents} of ${measured.groups}: it works through the ${measured.groups} new groups' signals in order (repeats stay in PostgreSQL), slower than they were accepted (its current run's history: ${historyLength ?? '?'} events).`
      }`,
      `Repeats only, after the wait (${allOpenedAfter !== undefined ? 'the monitor idle' : 'the worker still opening the backlog'}): ${repeatsOnly.requests} payloads in ${repeatsOnly.seconds.toFixed(1)} s (statuses ${JSON.stringify(repeatsOnly.statuses)}), p50 ${repeatsOnly.latencyMs.p50.toFixed(1)} ms, p99 ${repeatsOnly.latencyMs.p99.toFixed(1)} ms: what authenticating, validating and storing each alert costs when no new group is handed to the monitor.`,
      `Warm-up (not counted): ${warm.sent} payloads, ${warm.groups} groups, on both servers before measuring.`,
    ],
    details: {
      correx,
      bare,
      storing,
      repeatsOnly,
      groups: measured.groups,
      payloads: measured.sent,
      counts,
      allOpenedAfterSeconds: allOpenedAfter ?? null,
      delays,
      coresUsed,
      waitedSeconds: waited,
    },
  };
}
