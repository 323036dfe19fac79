import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import type { Kysely } from 'kysely';
import type { Database } from '../services/db/schema.js';
import { jsonb } from '../services/db/jsonb.js';
import { GENESIS_HASH, timelineEventHash } from '../services/timeline/chain.js';
import { projectRoot } from '../test/support/environment.js';
import { throughputFigure, type Figure, type SectionResult } from './results.js';
import { say } from './stack.js';
import { median } from './stats.js';

const run = promisify(execFile);

/** One incident with `events` chained timeline events, inserted directly (as test/compliance/export.test.ts does). */
async function bulkIncident(db: Kysely<Database>, events: number): Promise<string> {
  const id = randomUUID();
  await db
    .insertInto('incidents')
    .values({
      id,
      workflow_id: `bench-bulk:${id}`,
      system_id: 'frontier-assistant',
      dedup_key: id,
      title: `bulk ${events}`,
      severity: 'SEV4',
      state: 'closed',
      classification: jsonb<string[]>([]),
      opened_by: 'bench',
      opened_at: new Date(),
    })
    .execute();
  let prevHash = GENESIS_HASH;
  for (let start = 1; start <= events; start += 2000) {
    const rows = [];
    for (let seq = start; seq < Math.min(start + 2000, events + 1); seq++) {
      const event = {
        incidentId: id,
        seq,
        kind: 'load.sample',
        actor: 'system:bench',
        occurredAt: new Date(1_700_000_000_000 + seq * 1000).toISOString(),
        data: { n: seq, note: 'x'.repeat(200), labels: { region: 'eu', tier: 'free' } },
        prevHash,
      };
      const hash = timelineEventHash(event);
      rows.push({
        incident_id: id,
        seq,
        kind: event.kind,
        actor: event.actor,
        occurred_at: event.occurredAt,
        data: jsonb(event.data),
        idempotency_key: `bench:${seq}`,
        prev_hash: prevHash,
        hash,
      });
      prevHash = hash;
    }
    await db.insertInto('timeline_events').values(rows).execute();
  }
  return id;
}

interface ChildRun {
  lines: number;
  bytes: number;
  ms: number;
  maxRssKb: number;
}

/** Heap cap of the flatness check, as test/compliance/export.test.ts runs it. */
const HEAP_CAP_MB = 96;

async function exportOnce(databaseUrl: string, incidentId: string, format: 'json' | 'csv' | 'none', heapCapMb?: number): Promise<ChildRun> {
  const node = [...(heapCapMb ? [`--max-old-space-size=${heapCapMb}`] : []), '--import', 'tsx'];
  const { stdout } = await run(process.execPath, [...node, 'bench/export-child.ts', databaseUrl, incidentId, format], {
    cwd: projectRoot,
    maxBuffer: 1024 * 1024,
  });
  return JSON.parse(stdout) as ChildRun;
}

/** PostgreSQL's own COPY of the same rows, through psql to a pipe this process counts; wall clock of the psql process. */
function psql(databaseUrl: string, command: string): Promise<{ ms: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('psql', [databaseUrl, '--no-psqlrc', '-X', '-q', '-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
    let bytes = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (bytes += chunk.length));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve({ ms: performance.now() - started, bytes }) : reject(new Error(`psql exited ${code}: ${stderr}`))));
  });
}

export async function exportSection(
  db: Kysely<Database>,
  databaseUrl: string,
  options: { events: number; smallEvents: number; repeats: number },
): Promise<Omit<SectionResult, 'measuredAt' | 'seconds' | 'quick'>> {
  say(`export: inserting ${options.events} + ${options.smallEvents} chained events`);
  const large = await bulkIncident(db, options.events);
  const small = await bulkIncident(db, options.smallEvents);
  const copy = `COPY (SELECT incident_id, seq, occurred_at, kind, actor, data, prev_hash, hash FROM timeline_events WHERE incident_id = '${large}' ORDER BY seq) TO STDOUT WITH (FORMAT csv)`;

  // Warm the table into the page cache once, so no method pays for the first read.
  await psql(databaseUrl, copy);
  const startup: number[] = [];
  const copies: { ms: number; bytes: number }[] = [];
  const json: ChildRun[] = [];
  const csv: ChildRun[] = [];
  for (let i = 0; i < options.repeats; i++) {
    say(`export: round ${i + 1}/${options.repeats}`);
    startup.push((await psql(databaseUrl, 'select 1')).ms);
    copies.push(await psql(databaseUrl, copy));
    json.push(await exportOnce(databaseUrl, large, 'json'));
    csv.push(await exportOnce(databaseUrl, large, 'csv'));
  }
  const smallJson = await exportOnce(databaseUrl, small, 'json');
  const floor = await exportOnce(databaseUrl, small, 'none');
  // Flatness: with the heap capped, a process that kept what it exported would grow (or fail);
  // without a cap V8 collects lazily, so peak RSS also reflects how much garbage it let pile up.
  const cappedSmall = await exportOnce(databaseUrl, small, 'json', HEAP_CAP_MB);
  const cappedLarge = await exportOnce(databaseUrl, large, 'json', HEAP_CAP_MB);

  // psql's own start and connection are taken off COPY's time (measured with `select 1` alongside).
  const copyMs = Math.max(1, median(copies.map((c) => c.ms)) - median(startup));
  const copyRate = options.events / (copyMs / 1000);
  const jsonRate = options.events / (median(json.map((r) => r.ms)) / 1000);
  const csvRate = options.events / (median(csv.map((r) => r.ms)) / 1000);
  const peakJson = Math.max(...json.map((r) => r.maxRssKb)) / 1024;
  const peakCsv = Math.max(...csv.map((r) => r.maxRssKb)) / 1024;
  const growthMb = peakJson - smallJson.maxRssKb / 1024;
  const cappedGrowthMb = (cappedLarge.maxRssKb - cappedSmall.maxRssKb) / 1024;
  const flatLimitMb = 20;
  const figures: Figure[] = [
    throughputFigure(`JSON export, ${options.events} events`, 'events/s', jsonRate, copyRate, { share: 0.25 }),
    throughputFigure(`CSV export, ${options.events} events`, 'events/s', csvRate, copyRate),
    {
      metric: `JSON export peak memory (RSS), ${options.events} events, ${HEAP_CAP_MB} MB heap cap (baseline: ${options.smallEvents} events)`,
      unit: 'MB',
      value: cappedLarge.maxRssKb / 1024,
      baseline: cappedSmall.maxRssKb / 1024,
      target: `flat: < ${flatLimitMb} MB above the ${options.smallEvents}-event export`,
      met: cappedGrowthMb < flatLimitMb,
    },
    {
      metric: `JSON export peak memory (RSS), ${options.events} events, no heap cap (baseline: ${options.smallEvents} events)`,
      unit: 'MB',
      value: peakJson,
      baseline: smallJson.maxRssKb / 1024,
    },
    { metric: `CSV export peak memory (RSS), ${options.events} events`, unit: 'MB', value: peakCsv },
  ];
  const bytes = (r: ChildRun) => `${(r.bytes / 1024 / 1024).toFixed(1)} MB`;
  return {
    id: 'export',
    title: 'Export (timeline events)',
    parameters: { events: options.events, smallEvents: options.smallEvents, rounds: options.repeats },
    figures,
    notes: [
      `Medians of ${options.repeats} round${options.repeats === 1 ? '' : 's'}, each method in a fresh process: JSON ${median(json.map((r) => r.ms)).toFixed(0)} ms (${bytes(json[0]!)}, ${json[0]!.lines} lines), CSV ${median(csv.map((r) => r.ms)).toFixed(0)} ms (${bytes(csv[0]!)}), COPY ${copyMs.toFixed(0)} ms (${(copies[0]!.bytes / 1024 / 1024).toFixed(1)} MB; psql start-up of ${median(startup).toFixed(0)} ms taken off).`,
      `Peak memory with a ${HEAP_CAP_MB} MB heap cap (the flatness check, as test/compliance/export.test.ts): JSON ${(cappedLarge.maxRssKb / 1024).toFixed(0)} MB at ${options.events} events vs ${(cappedSmall.maxRssKb / 1024).toFixed(0)} MB at ${options.smallEvents} (growth ${cappedGrowthMb.toFixed(1)} MB, ${(cappedLarge.ms / 1000).toFixed(1)} s).`,
      `Peak memory with Node's default heap: JSON ${peakJson.toFixed(0)} MB at ${options.events} events vs ${(smallJson.maxRssKb / 1024).toFixed(0)} MB at ${options.smallEvents} (growth ${growthMb.toFixed(1)} MB: with room to spare V8 collects lazily, so garbage piles up before a major collection; the capped run shows it is not retained); CSV ${peakCsv.toFixed(0)} MB. All figures include the process itself: Node.js, tsx, the loaded modules and a connected pool peak at ${(floor.maxRssKb / 1024).toFixed(0)} MB before any export.`,
    ],
    details: { json, csv, copies, psqlStartupMs: startup, smallJson, cappedSmall, cappedLarge, heapCapMb: HEAP_CAP_MB, processFloorKb: floor.maxRssKb, copyMs },
  };
}
