import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DateTime } from 'luxon';
import { stringify } from 'yaml';
import { loadConfig } from '../config.js';
import { OperatorError } from '../errors.js';
import { effectiveRunbook } from '../runbook/effective.js';
import { runbookJsonSchema } from '../runbook/json-schema.js';
import { problemAt, withUniqueScheduleIds } from '../runbook/catalogue.js';
import { formatProblem, loadRunbooks, type LoadedRunbook, type RunbookProblem } from '../runbook/load.js';
import { coverageGaps } from '../schedule/on-call.js';
import { ExitWith } from './exit.js';

// What `correx runbook …` does (the commands are defined in ./runbook.ts).

/** How far ahead `validate` looks for spans of a schedule no rotation layer covers. */
const coverageWeeks = 4;

/**
 * Spans of the coming weeks that no layer of a schedule covers (overrides, made while running, are
 * not known here): a warning when the fallback person covers them, a problem when nobody would be on call.
 */
async function coverageProblems(loaded: LoadedRunbook, now: Date): Promise<{ problems: RunbookProblem[]; warnings: RunbookProblem[] }> {
  const problems: RunbookProblem[] = [];
  const warnings: RunbookProblem[] = [];
  const until = new Date(now.getTime() + coverageWeeks * 7 * 86_400_000);
  for (const [index, schedule] of loaded.runbook.schedules.entries()) {
    const zone = schedule.timeZone;
    const local = (date: Date) => DateTime.fromJSDate(date, { zone }).toFormat('ccc yyyy-LL-dd HH:mm');
    const gaps = coverageGaps(schedule, [], now, until);
    const first = gaps[0];
    if (!first) continue;
    // One line per schedule: a business-hours layer leaves a gap every night.
    const hours = Math.round(gaps.reduce((sum, gap) => sum + gap.until.getTime() - gap.since.getTime(), 0) / 3_600_000);
    const spans = `${gaps.length === 1 ? '1 span' : `${gaps.length} spans`} of the next ${coverageWeeks} weeks (${hours}h in all; the first ${local(first.since)} to ${local(first.until)}, ${zone})`;
    if (schedule.fallback !== undefined)
      warnings.push(
        await problemAt(
          loaded.file,
          ['schedules', index, 'fallback'],
          `schedule '${schedule.id}': no layer covers ${spans}; the fallback ${schedule.fallback} is on call then`,
        ),
      );
    else
      problems.push(
        await problemAt(
          loaded.file,
          ['schedules', index, 'layers'],
          `schedule '${schedule.id}': nobody is on call for ${spans}: no layer covers them and there is no fallback`,
        ),
      );
  }
  return { problems, warnings };
}

export async function validate(paths: string[]): Promise<void> {
  const targets = paths.length > 0 ? paths : [loadConfig().runbooksDir];
  const set = await withUniqueScheduleIds(await loadRunbooks(targets));
  if (set.files.length === 0) throw new OperatorError(`no runbook files (*.yaml, *.yml) in ${targets.join(', ')}`);
  const now = new Date();
  for (const loaded of set.runbooks.values()) {
    const coverage = await coverageProblems(loaded, now);
    set.problems.push(...coverage.problems);
    set.warnings.push(...coverage.warnings);
  }
  for (const problem of set.problems) console.log(formatProblem(problem));
  // Warnings say what this environment lacks (a secret only workers read): they never fail validation, which CI runs without secrets.
  for (const warning of set.warnings) console.log(`warning ${formatProblem(warning)}`);
  const badFiles = new Set(set.problems.map((p) => p.file)).size;
  if (set.problems.length > 0) {
    console.log(
      `${set.problems.length} problem${set.problems.length === 1 ? '' : 's'} in ${badFiles} of ${set.files.length} runbook file${set.files.length === 1 ? '' : 's'}`,
    );
    throw new ExitWith(1);
  }
  for (const loaded of set.runbooks.values()) console.log(`ok ${loaded.file} (${loaded.runbook.system.id}, ${loaded.version.slice(0, 19)})`);
}

export async function show(system: string, options: { json?: boolean; dir?: string }): Promise<void> {
  const dir = options.dir ?? loadConfig().runbooksDir;
  const set = await loadRunbooks([dir]);
  const loaded = set.runbooks.get(system);
  if (!loaded) {
    const broken = set.problems.length > 0 ? `; ${set.problems.length} problem(s) in the folder, see correx runbook validate` : '';
    throw new OperatorError(`no valid runbook for system '${system}' in ${dir} (found: ${[...set.runbooks.keys()].join(', ') || 'none'})${broken}`);
  }
  const effective = effectiveRunbook(loaded);
  process.stdout.write(options.json ? `${JSON.stringify(effective, null, 2)}\n` : stringify(effective, { lineWidth: 0, aliasDuplicateObjects: false }));
}

export async function schema(options: { output?: string }): Promise<void> {
  const text = `${JSON.stringify(runbookJsonSchema(), null, 2)}\n`;
  if (!options.output) {
    process.stdout.write(text);
    return;
  }
  await mkdir(path.dirname(options.output), { recursive: true });
  await writeFile(options.output, text);
  console.log(`wrote ${options.output}`);
}
