// Usage: npm run bench:probe -- [--incidents 180] [--gap 80] [--history]
//
// Where the time goes between a trigger's 202 and the enforcer's receipt, for one change to be judged
// against the code before it: the trigger section's journey (acknowledge, then propose a break-glass
// shutdown) run back to back, `--gap` ms after each receipt, on the benchmark's own stack. Prints each
// step's p50 / p90 / p99 from the 202, the 202 → receipt figures per 30 incidents (to see a trend), the
// CPU each process spent per incident, and with `--history` the median, p90 and slowest incidents'
// timelines: every event of the incident's and its escalation's histories beside the HTTP calls.
// Not a benchmark: no baseline, no targets; docs/benchmarks.md says what it has shown.
import { readdir, readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import proto from '@temporalio/proto';
import { call } from './latency.js';
import { percentile, sleep } from './stats.js';
import { benchDatabase, Cleanup, SYSTEM, startStack, type Stack } from './stack.js';

const { values } = parseArgs({
  options: { incidents: { type: 'string', default: '180' }, gap: { type: 'string', default: '80' }, history: { type: 'boolean', default: false } },
});
const incidents = Number(values.incidents);
const gapMs = Number(values.gap);
const warmup = 3;
const EventType = proto.temporal.api.enums.v1.EventType;

type Line = [at: number, what: string];
interface Sample {
  steps: Record<string, number>;
  lines: Line[];
}

/** CPU milliseconds each of the stack's processes has used so far, by what its command line says it is. */
async function cpuByProcess(): Promise<Record<string, number>> {
  const tickMs = 10;
  const used: Record<string, number> = {};
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const [cmdline, stat] = await Promise.all([readFile(`/proc/${pid}/cmdline`, 'utf8'), readFile(`/proc/${pid}/stat`, 'utf8')]).catch(() => ['', '']);
    const args = cmdline.replace(/\0/g, ' ');
    const role = args.includes('start-dev')
      ? 'temporal'
      : /correx\.js worker/.test(args)
        ? 'worker'
        : /correx\.js api/.test(args)
          ? 'api'
          : args.includes('baseline-worker')
            ? 'baseline worker'
            : args.startsWith('postgres')
              ? 'postgres'
              : Number(pid) === process.pid
                ? 'probe'
                : undefined;
    if (!role || !stat) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    used[role] = (used[role] ?? 0) + (Number(fields[11]) + Number(fields[12])) * tickMs;
  }
  return used;
}

async function historyLines(stack: Stack, incidentId: string, from: number): Promise<Line[]> {
  const lines: Line[] = [];
  for await (const run of stack.client.workflow.list({ query: `CorrexIncidentId = '${incidentId}'` })) {
    const which = run.workflowId.includes('/escalation/') ? 'escalation' : run.workflowId.includes('/correction/') ? undefined : 'incident';
    if (!which) continue;
    const history = await stack.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    for (const event of history.events ?? []) {
      const at = Number(event.eventTime!.seconds) * 1000 + (event.eventTime!.nanos ?? 0) / 1e6 - performance.timeOrigin - from;
      let name = String(EventType[event.eventType as number]).replace('EVENT_TYPE_', '');
      if (event.activityTaskScheduledEventAttributes) name += ` ${event.activityTaskScheduledEventAttributes.activityType?.name}`;
      if (event.workflowExecutionUpdateAcceptedEventAttributes) name += ` ${event.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest?.input?.name}`;
      lines.push([at, `${which.padEnd(10)} ${name}`]);
    }
  }
  return lines;
}

const cleanup = new Cleanup();
try {
  const stack = await startStack(cleanup, await benchDatabase(cleanup));
  const commander = await stack.token('jonas-berg', ['responder']);
  const samples: Sample[] = [];
  let cpuBefore: Record<string, number> = {};
  for (let i = -warmup; i < incidents; i++) {
    if (i === 0) cpuBefore = await cpuByProcess();
    const opened = await call<{ incidentId: string }>(stack, 'POST', '/v1/incidents', commander, {
      systemId: SYSTEM,
      title: `Probe ${i}`,
      severity: 'SEV2',
      dedupKey: `probe-${Date.now()}-${i}`,
    });
    const ack = await call(stack, 'POST', `/v1/incidents/${opened.body.incidentId}/acknowledge`, commander, {});
    const proposed = await call<{ correctionId: string }>(stack, 'POST', `/v1/incidents/${opened.body.incidentId}/corrections`, commander, {
      kind: 'shutdown',
      scope: { all: true },
      reason: 'Probe: stop serving at once',
      breakGlass: true,
    });
    const received = await stack.endpoint.receipt(proposed.body.correctionId);
    await sleep(gapMs);
    if (i < 0) continue;
    const from = opened.returnedAt;
    const steps = {
      'trigger sent': opened.sentAt - from,
      'acknowledge answered': ack.returnedAt - from,
      'enforcer receipt': received - from,
      'proposal answered': proposed.returnedAt - from,
    };
    const lines: Line[] = Object.entries(steps).map(([what, at]) => [at, `HTTP       ${what}`]);
    lines.push([ack.sentAt - from, 'HTTP       acknowledge sent'], [proposed.sentAt - from, 'HTTP       proposal sent']);
    samples.push({ steps, lines });
    // Read after the gap and before the next incident, so the reads are not in any incident's way.
    if (values.history) lines.push(...(await historyLines(stack, opened.body.incidentId, from)));
  }
  const cpuAfter = await cpuByProcess();

  const ms = (value: number) => value.toFixed(1).padStart(7);
  console.log(`\n${incidents} incidents back to back, ${gapMs} ms after each receipt; ms from the 202, p50 / p90 / p99:`);
  for (const step of Object.keys(samples[0]!.steps)) {
    const values = samples.map((s) => s.steps[step]!);
    console.log(`  ${step.padEnd(22)} ${ms(percentile(values, 50))} ${ms(percentile(values, 90))} ${ms(percentile(values, 99))}`);
  }
  console.log('202 → enforcer receipt per 30 incidents, p50 / p90 / max:');
  for (let start = 0; start < samples.length; start += 30) {
    const values = samples.slice(start, start + 30).map((s) => s.steps['enforcer receipt']!);
    console.log(
      `  ${String(start).padStart(4)}–${String(start + values.length - 1).padEnd(4)} ${ms(percentile(values, 50))} ${ms(percentile(values, 90))} ${ms(Math.max(...values))}`,
    );
  }
  console.log('CPU per incident (ms), from /proc:');
  for (const [role, used] of Object.entries(cpuAfter)) console.log(`  ${role.padEnd(16)} ${ms((used - (cpuBefore[role] ?? 0)) / incidents)}`);
  if (values.history) {
    const byReceipt = [...samples].sort((a, b) => a.steps['enforcer receipt']! - b.steps['enforcer receipt']!);
    for (const [label, at] of [
      ['median', 0.5],
      ['p90', 0.9],
      ['slowest', 1],
    ] as const) {
      const sample = byReceipt[Math.min(byReceipt.length - 1, Math.floor(at * byReceipt.length))]!;
      console.log(`\nThe ${label} incident (receipt ${sample.steps['enforcer receipt']!.toFixed(1)} ms after the 202):`);
      const until = sample.steps['proposal answered']!;
      for (const [when, what] of sample.lines.sort((a, b) => a[0] - b[0])) if (when <= until) console.log(`  ${ms(when)}  ${what}`);
    }
  }
} finally {
  await cleanup.runAll();
}
