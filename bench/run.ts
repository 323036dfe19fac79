// `npm run bench`: Correx's benchmarks against baselines measured in the same run (docs/benchmarks.md).
// Usage: node --import tsx bench/run.ts [--quick] [--only trigger,approval,gateways,ingestion,export,scale,cli-startup] [--render] [sizes…]
import { execFile, execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import { sql } from 'kysely';
import { installWorkerRuntime } from '../services/temporal/runtime.js';
import { resolveTemporalBinaries } from '../services/temporal/binaries.js';
import { projectRoot } from '../test/support/environment.js';
import { cliStartup } from './cli-startup.js';
import { exportSection } from './export.js';
import { gateways } from './gateways.js';
import { ingestion } from './ingestion.js';
import { approvalToEnforced, scale, triggerToEnforced } from './latency.js';
import { consoleTable, markdown, targetLines } from './report.js';
import { sectionIds, type Machine, type Results, type SectionId, type SectionResult } from './results.js';
import { benchDatabase, Cleanup, say, startStack, type Stack } from './stack.js';

const resultsFile = path.join(projectRoot, 'bench', 'results.json');
const quickResultsFile = path.join(projectRoot, 'bench', 'results.quick.json');
const docsFile = path.join(projectRoot, 'docs', 'benchmarks.md');

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    render: { type: 'boolean', default: false },
    incidents: { type: 'string' },
    'approval-incidents': { type: 'string' },
    'ingest-seconds': { type: 'string' },
    'ingest-wait': { type: 'string' },
    concurrency: { type: 'string' },
    'export-events': { type: 'string' },
    'scale-incidents': { type: 'string' },
    'scale-samples': { type: 'string' },
    'cli-runs': { type: 'string' },
    'gateway-seconds': { type: 'string' },
    'gateway-concurrency': { type: 'string' },
    'decide-seconds': { type: 'string' },
    'gateway-rounds': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (flags.help) {
  process.stdout.write(`usage: npm run bench -- [--quick] [--only ${sectionIds.join(',')}] [--render]
  [--incidents 200] [--approval-incidents 200] [--ingest-seconds 30] [--ingest-wait 180] [--concurrency 32]
  [--export-events 100000] [--scale-incidents 1000] [--scale-samples 50] [--cli-runs 20]
  [--gateway-seconds 20] [--gateway-concurrency 16] [--decide-seconds 10] [--gateway-rounds 20]
See docs/benchmarks.md.
`);
  process.exit(0);
}

const number = (text: string | undefined, full: number, quick: number) => {
  if (text === undefined) return flags.quick ? quick : full;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`not a positive number: ${text}`);
  return value;
};
const sizes = {
  incidents: number(flags.incidents, 200, 20),
  approvalIncidents: number(flags['approval-incidents'], 200, 20),
  ingestSeconds: number(flags['ingest-seconds'], 30, 5),
  ingestWarmupSeconds: flags.quick ? 1 : 3,
  ingestWaitSeconds: number(flags['ingest-wait'], 180, 90),
  concurrency: number(flags.concurrency, 32, 16),
  exportEvents: number(flags['export-events'], 100_000, 10_000),
  exportRounds: flags.quick ? 1 : 3,
  scaleIncidents: number(flags['scale-incidents'], 1000, 60),
  scaleSamples: number(flags['scale-samples'], 50, 10),
  scaleConcurrency: 16,
  cliRuns: number(flags['cli-runs'], 20, 10),
  gatewaySeconds: number(flags['gateway-seconds'], 20, 4),
  gatewayWarmupSeconds: flags.quick ? 1 : 3,
  gatewayConcurrency: number(flags['gateway-concurrency'], 16, 16),
  decideSeconds: number(flags['decide-seconds'], 10, 3),
  gatewayRounds: number(flags['gateway-rounds'], 20, 5),
};

const selected: SectionId[] = flags.only
  ? flags.only.split(',').map((s) => {
      const id = s.trim() as SectionId;
      if (!sectionIds.includes(id)) throw new Error(`unknown section ${s}: choose from ${sectionIds.join(', ')}`);
      return id;
    })
  : [...sectionIds];

async function machine(db?: Stack['db']): Promise<Machine> {
  const cpus = os.cpus();
  let postgres = 'PostgreSQL (version unknown)';
  if (db) {
    const row = (await sql<{ v: string }>`select version() as v`.execute(db)).rows[0];
    postgres = row?.v.split(' on ')[0] ?? postgres;
  }
  let temporalCli = 'unknown';
  try {
    temporalCli = (await promisify(execFile)(resolveTemporalBinaries().cli, ['--version'])).stdout.trim().replace(/^temporal version /, '');
  } catch {
    // keep "unknown"
  }
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGb: os.totalmem() / 1024 ** 3,
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    postgres,
    temporalCli,
    loadAverageAtStart: os.loadavg(),
  };
}

async function readResults(file: string): Promise<Results | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Results;
  } catch {
    return undefined;
  }
}

async function render(results: Results): Promise<void> {
  process.stdout.write(`\n${consoleTable(results)}\n\n`);
  const targets = targetLines(results);
  if (targets.length) process.stdout.write(`Targets:\n${targets.map((t) => `  ${t}`).join('\n')}\n\n`);
}

async function main(): Promise<number> {
  if (flags.render) {
    const results = await readResults(resultsFile);
    if (!results) throw new Error(`no ${path.relative(projectRoot, resultsFile)} to render: run npm run bench first`);
    await writeFile(docsFile, markdown(results));
    await render(results);
    say(`wrote ${path.relative(projectRoot, docsFile)}`);
    return 0;
  }

  // The sections run bin/correx.js, which runs the build in dist/: build it if a source changed.
  execFileSync(process.execPath, [path.join(projectRoot, 'scripts', 'build.mjs'), '--if-stale', '--quiet'], { stdio: 'inherit' });
  installWorkerRuntime('warn');
  const started = performance.now();
  const loadAtStart = os.loadavg();
  const cleanup = new Cleanup();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    say(`${signal}: cleaning up`);
    void cleanup.runAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const previous = flags.quick ? undefined : flags.only ? await readResults(resultsFile) : undefined;
  const sections: Partial<Record<SectionId, SectionResult>> = { ...previous?.sections };
  let failed = 0;
  let info: Machine | undefined;
  const measure = async (id: SectionId, run: () => Promise<Omit<SectionResult, 'measuredAt' | 'seconds' | 'quick'>>) => {
    const sectionStarted = performance.now();
    const measuredAt = new Date().toISOString();
    const loadAverage = os.loadavg();
    say(`section ${id}`);
    try {
      const result = await run();
      sections[id] = { ...result, measuredAt, loadAverage, seconds: (performance.now() - sectionStarted) / 1000, quick: flags.quick };
      say(`section ${id} done in ${((performance.now() - sectionStarted) / 1000).toFixed(0)} s`);
    } catch (error) {
      failed += 1;
      say(`section ${id} FAILED: ${(error as Error).stack ?? error}`);
    }
  };
  try {
    // First, before PostgreSQL, Temporal and Correx's own processes are started: nothing else runs.
    if (selected.includes('cli-startup')) await measure('cli-startup', async () => cliStartup({ runs: sizes.cliRuns }));
    type StackSection = Exclude<SectionId, 'cli-startup'>;
    const rest = selected.filter((id): id is StackSection => id !== 'cli-startup');
    if (rest.length > 0) {
      const database = await benchDatabase(cleanup);
      say(`database ${database.name}`);
      info = { ...(await machine(database.db)), loadAverageAtStart: loadAtStart };
      const needsStack = rest.some((id) => id !== 'export');
      const stack = needsStack ? await startStack(cleanup, database) : undefined;
      say(`ready after ${((performance.now() - started) / 1000).toFixed(0)} s`);

      // Ingestion last: the monitor may still be working through its backlog when the section ends.
      const order: StackSection[] = ['trigger', 'approval', 'gateways', 'export', 'scale', 'ingestion'];
      for (const id of order.filter((o) => rest.includes(o))) {
        await measure(id, async () => {
          switch (id) {
            case 'trigger':
              return triggerToEnforced(stack!, sizes.incidents);
            case 'approval':
              return approvalToEnforced(stack!, sizes.approvalIncidents);
            case 'gateways':
              return gateways(stack!, cleanup, {
                seconds: sizes.gatewaySeconds,
                warmupSeconds: sizes.gatewayWarmupSeconds,
                concurrency: sizes.gatewayConcurrency,
                decideSeconds: sizes.decideSeconds,
                rounds: sizes.gatewayRounds,
              });
            case 'export':
              return exportSection(database.db, database.url, {
                events: sizes.exportEvents,
                smallEvents: Math.round(sizes.exportEvents / 5),
                repeats: sizes.exportRounds,
              });
            case 'ingestion':
              return ingestion(stack!, cleanup, {
                seconds: sizes.ingestSeconds,
                concurrency: sizes.concurrency,
                warmupSeconds: sizes.ingestWarmupSeconds,
                waitSeconds: sizes.ingestWaitSeconds,
              });
            case 'scale': {
              const unloaded =
                sections.trigger && selected.includes('trigger')
                  ? (sections.trigger.details?.distributions as { fromTrigger: { p99: number } } | undefined)?.fromTrigger.p99
                  : undefined;
              return scale(stack!, {
                incidents: sizes.scaleIncidents,
                samples: sizes.scaleSamples,
                concurrency: sizes.scaleConcurrency,
                ...(unloaded !== undefined ? { unloadedP99: unloaded } : {}),
              });
            }
          }
        });
      }
    }
  } finally {
    say('cleaning up');
    await cleanup.runAll();
  }

  const args = process.argv.slice(2);
  const command = `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`;
  const runtimeSeconds = (performance.now() - started) / 1000;
  const generatedAt = new Date().toISOString();
  // An `--only` run keeps the full run's header and records itself as an update.
  const results: Results = previous
    ? { ...previous, sections, updates: [...(previous.updates ?? []), { generatedAt, command, runtimeSeconds, sections: selected }] }
    : { generatedAt, command, runtimeSeconds, machine: info ?? (await machine()), sections };
  await render(results);
  if (flags.quick) {
    await writeFile(quickResultsFile, JSON.stringify(results, null, 2) + '\n');
    say(`wrote ${path.relative(projectRoot, quickResultsFile)} (quick mode: docs/benchmarks.md left alone)`);
  } else {
    await writeFile(resultsFile, JSON.stringify(results, null, 2) + '\n');
    await writeFile(docsFile, markdown(results));
    say(`wrote ${path.relative(projectRoot, resultsFile)} and ${path.relative(projectRoot, docsFile)}`);
  }
  say(`finished in ${(runtimeSeconds / 60).toFixed(1)} min`);
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    say(`failed: ${(error as Error).stack ?? error}`);
    process.exit(1);
  },
);
