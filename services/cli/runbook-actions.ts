import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { loadConfig } from '../config.js';
import { OperatorError } from '../errors.js';
import { effectiveRunbook } from '../runbook/effective.js';
import { runbookJsonSchema } from '../runbook/json-schema.js';
import { formatProblem, loadRunbooks } from '../runbook/load.js';
import { ExitWith } from './exit.js';

// What `correx runbook …` does (the commands are defined in ./runbook.ts).

export async function validate(paths: string[]): Promise<void> {
  const targets = paths.length > 0 ? paths : [loadConfig().runbooksDir];
  const set = await loadRunbooks(targets);
  if (set.files.length === 0) throw new OperatorError(`no runbook files (*.yaml, *.yml) in ${targets.join(', ')}`);
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
