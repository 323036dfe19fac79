import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DrillScenario } from '../drill/schema.js';
import { SystemId } from '../incident/schema.js';
import { reviewTaskId } from '../review/review-task.js';
import { ReviewRecord } from '../review/schema.js';
import { reviewSkeleton, reviewTemplate, todoMarker, type ReviewFacts } from '../review/template.js';
import type { DrillSnapshot } from '../../workflows/drill/messages.js';
import type { ReviewSnapshot } from '../../workflows/review/messages.js';
import { ApiClient, idArgument, parseInput, type ConnectionOptions } from './api.js';
import { CliError, ExitCode, ExitWith } from './exit.js';
import { fullTimeline, type IncidentView } from './incident-actions.js';
import { print, printJson, relative, span, table, truncate } from './output.js';

// What `correx review …` and `correx drill` do (the commands are defined in ./review.ts).

/** A YAML or JSON file validated with a schema; problems name the file and the field. */
async function readInputFile<S extends z.ZodType>(file: string, schema: S, what: string): Promise<z.output<S>> {
  let content: unknown;
  try {
    content = parseYaml(await readFile(file, 'utf8'));
  } catch (error) {
    throw new CliError(`cannot read ${what} ${file}: ${(error as Error).message.split('\n')[0]}`, ExitCode.usage);
  }
  const parsed = schema.safeParse(content);
  if (parsed.success) return parsed.data;
  throw new CliError(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`).join('; ')}`, ExitCode.usage);
}

export async function show(id: string, options: ConnectionOptions): Promise<void> {
  const incidentId = idArgument(id, 'an incident', '<incidentId>');
  const answer = await (
    await ApiClient.connect(options)
  ).get<{ record: Record<string, unknown> | null; live: ReviewSnapshot & { unavailable?: string } }>(`/v1/incidents/${incidentId}/review`);
  if (options.json) return printJson(answer);
  const record = answer.record as {
    summary: string;
    rootCause: string;
    attribution: { stage: string; actor: string; confidence: string }[];
    submittedBy: string;
    signedOffBy: string | null;
  } | null;
  print(
    record
      ? `submitted by ${record.submittedBy}; ${record.signedOffBy ? `signed off by ${record.signedOffBy}` : 'not signed off'}`
      : 'no review record submitted yet',
  );
  if (record) {
    print(`summary:    ${record.summary}`);
    print(`root cause: ${record.rootCause}`);
    for (const a of record.attribution) print(`attributed: ${a.stage} / ${a.actor} (${a.confidence} confidence)`);
  }
  if (answer.live?.tasks?.length) {
    print();
    print(
      table(
        ['task', 'state', 'owner', 'due', 'title'],
        answer.live.tasks.map((t) => [t.taskId, t.state, t.owner ?? `(${t.ownerRole})`, relative(t.dueAt), truncate(t.title, 60)]),
      ),
    );
  }
}

export async function template(id: string, options: ConnectionOptions): Promise<void> {
  const incidentId = idArgument(id, 'an incident', '<incidentId>');
  const api = await ApiClient.connect(options);
  const [incident, corrections, timeline] = await Promise.all([
    api.get<IncidentView>(`/v1/incidents/${incidentId}`),
    api.get<{ items: ReviewFacts['corrections'] }>(`/v1/incidents/${incidentId}/corrections`),
    fullTimeline(api, incidentId),
  ]);
  const facts: ReviewFacts = { incident, corrections: corrections.items, timeline };
  if (options.json) return printJson(reviewSkeleton(facts));
  process.stdout.write(reviewTemplate(facts));
}

/** Where the text of a review record still says TODO, by field. */
function todos(record: ReviewRecord): string[] {
  const fields = Object.entries(record).filter(([, value]) => JSON.stringify(value).includes(todoMarker));
  return fields.map(([name]) => name);
}

export async function submit(id: string, options: ConnectionOptions & { file: string }): Promise<void> {
  const incidentId = idArgument(id, 'an incident', '<incidentId>');
  const record = await readInputFile(options.file, ReviewRecord, 'review record');
  const answer = await (await ApiClient.connect(options)).post<ReviewSnapshot>(`/v1/incidents/${incidentId}/review`, record);
  const unwritten = todos(record);
  // Submitted all the same: a first revision on record is better than none, and a later one replaces it.
  if (unwritten.length) process.stderr.write(`correx: the review still says ${todoMarker} in ${unwritten.join(', ')}; submit it again once written\n`);
  if (options.json) return printJson(answer);
  const reviewTask = answer.tasks.find((t) => t.key === reviewTaskId && t.state === 'done');
  const open = answer.tasks.filter((t) => t.state === 'open').length;
  print(`review of ${incidentId}: revision ${answer.review?.revision}${reviewTask ? `; task "${reviewTask.title}" done` : ''}; ${open} task(s) open`);
}

export async function signOff(id: string, options: ConnectionOptions): Promise<void> {
  const incidentId = idArgument(id, 'an incident', '<incidentId>');
  const answer = await (await ApiClient.connect(options)).post<ReviewSnapshot>(`/v1/incidents/${incidentId}/review/sign-off`);
  if (options.json) return printJson(answer);
  print(`review of ${incidentId} signed off by ${answer.signedOff?.actor} (${answer.signedOff?.role}); the incident closes`);
}

export async function attributions(options: ConnectionOptions & { system?: string }): Promise<void> {
  const filter = parseInput(z.object({ system: SystemId.optional() }), { system: options.system });
  const answer = await (
    await ApiClient.connect(options)
  ).get<{ reviews: number; items: { stage: string; actor: string; attributions: number; incidents: number }[] }>('/v1/attributions', {
    systemId: filter.system,
  });
  if (options.json) return printJson(answer);
  print(`${answer.reviews} reviewed incident(s)`);
  if (answer.items.length)
    print(
      table(
        ['stage', 'actor', 'attributions', 'incidents'],
        answer.items.map((i) => [i.stage, i.actor, i.attributions, i.incidents]),
      ),
    );
}

const duration = (ms: number) => (ms < 10_000 ? `${ms} ms` : span(ms));

export async function drill(system: string, options: ConnectionOptions & { scenario?: string }): Promise<void> {
  const { systemId } = parseInput(z.object({ systemId: SystemId }), { systemId: system }, { systemId: '<systemId>' });
  const scenario = options.scenario ? await readInputFile(options.scenario, DrillScenario, 'scenario') : {};
  const api = await ApiClient.connect(options);
  const started = await api.post<{ drillId: string }>('/v1/drills', { systemId, scenario });
  if (!options.json) print(`drill ${started.drillId} of ${systemId} started`);
  let shown = 0;
  let state: DrillSnapshot;
  for (;;) {
    state = await api.get<DrillSnapshot>(`/v1/drills/${started.drillId}`);
    // Progress as it happens: each step once it has finished.
    const finished = state.steps.filter((s) => s.ms !== undefined && s.ms !== null);
    for (const step of finished.slice(shown))
      if (!options.json)
        print(
          `  ${duration(step.ms!).padStart(8)}  ${step.name}${step.by ? ` (${step.by})` : ''}${step.detail ? `: ${step.detail}` : ''}${step.outcome === 'failed' ? ` FAILED: ${step.reason}` : ''}`,
        );
    shown = finished.length;
    if (state.state !== 'running') break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  if (options.json) printJson(state);
  else if (state.state === 'completed') {
    const total = state.steps.reduce((sum, s) => sum + (s.ms ?? 0), 0);
    print(`drill completed in ${duration(total)}: incident ${state.incidentId} (marked as a drill)`);
  } else print(`drill FAILED: ${state.failure}`);
  // What the server says was touched; drills from before it said so print nothing rather than a guess.
  if (!options.json && state.touched) print(`touched: ${state.touched}`);
  if (state.state !== 'completed') throw new ExitWith(ExitCode.failure);
}
