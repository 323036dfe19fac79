import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { projectRoot } from '../test/support/environment.js';
import { latencyFigure, type SectionResult } from './results.js';
import { distribution, median } from './stats.js';

const correx = path.join(projectRoot, 'bin', 'correx.js');

/** Wall time of one `node <args>` run to its exit, output discarded, in ms. */
function wallTime(args: string[]): number {
  const started = performance.now();
  const run = spawnSync(process.execPath, args, { cwd: projectRoot, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
  const ms = performance.now() - started;
  if (run.status !== 0) throw new Error(`node ${args.join(' ')} exited ${run.status}: ${run.stderr.toString().trim()}`);
  return ms;
}

/** Milliseconds a fresh process spends in `await import(specifier)`, as it reports it. */
function importTime(specifier: string): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(specifier)}); process.stdout.write(String(performance.now() - t));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: projectRoot, env: { ...process.env, NODE_OPTIONS: '' } });
  if (run.status !== 0) throw new Error(`importing ${specifier} failed: ${run.stderr.toString().trim()}`);
  return Number(run.stdout.toString());
}

/**
 * `correx --help` against `node -e ''` (Node starting and stopping, nothing loaded), run alternately
 * so both see the same machine; and, to say where the difference goes, how long a fresh process takes
 * to import commander alone and the CLI's entry module (the command tree).
 */
export function cliStartup(options: { runs: number }): Omit<SectionResult, 'measuredAt' | 'seconds' | 'quick'> {
  const warmup = 3;
  const node: number[] = [];
  const help: number[] = [];
  for (let i = 0; i < warmup + options.runs; i++) {
    const bare = wallTime(['-e', '']);
    const cli = wallTime([correx, '--help']);
    if (i < warmup) continue;
    node.push(bare);
    help.push(cli);
  }
  const commander = [];
  const entry = [];
  for (let i = 0; i < options.runs; i++) {
    commander.push(importTime('commander'));
    entry.push(importTime(path.join(projectRoot, 'dist', 'services', 'cli', 'main.js')));
  }
  const helpDist = distribution(help);
  const nodeDist = distribution(node);
  const fmt = (ms: number) => `${ms.toFixed(1)} ms`;
  return {
    id: 'cli-startup',
    title: 'CLI start-up (`correx --help`)',
    parameters: { runs: options.runs, warmup },
    figures: [
      latencyFigure(`\`correx --help\` wall time, median of ${options.runs} runs`, helpDist.p50, nodeDist.p50, { factor: 3 }),
      latencyFigure(`\`correx --help\` wall time, fastest of ${options.runs} runs`, helpDist.min, nodeDist.min),
    ],
    notes: [
      `Wall time from spawn to exit: \`correx --help\` min ${fmt(helpDist.min)} / median ${fmt(helpDist.p50)} / p95 ${fmt(helpDist.p95)} / max ${fmt(helpDist.max)}; \`node -e ''\` min ${fmt(nodeDist.min)} / median ${fmt(nodeDist.p50)} / p95 ${fmt(nodeDist.p95)} / max ${fmt(nodeDist.max)}.`,
      `Inside a fresh process, \`await import()\` takes median ${fmt(median(commander))} for commander alone and ${fmt(median(entry))} for the CLI's entry (\`dist/services/cli/main.js\`: commander and the command definitions); the rest of the difference is bin/correx.js resolving and reading those modules and commander rendering the help.`,
    ],
    details: { help: helpDist, node: nodeDist, importCommanderMs: distribution(commander), importEntryMs: distribution(entry) },
  };
}
