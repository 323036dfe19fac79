import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { stringify } from 'yaml';
import { loadConfig } from '../config.js';
import { OperatorError } from '../errors.js';
import { effectiveRunbook } from '../runbook/effective.js';
import { runbookJsonSchema } from '../runbook/json-schema.js';
import { formatProblem, loadRunbooks } from '../runbook/load.js';
import { ExitWith } from './exit.js';

export function runbookCommand(): Command {
  const runbook = new Command('runbook').description('check and inspect runbooks (one YAML file per AI system)');

  runbook
    .command('validate')
    .description('check runbooks; lists every problem as file:line:column path: message (exit 0 valid, 1 invalid)')
    .argument('[paths...]', 'runbook files or folders (default: CORREX_RUNBOOKS)')
    .action(async (paths: string[]) => {
      const targets = paths.length > 0 ? paths : [loadConfig().runbooksDir];
      const set = await loadRunbooks(targets);
      if (set.files.length === 0) throw new OperatorError(`no runbook files (*.yaml, *.yml) in ${targets.join(', ')}`);
      for (const problem of set.problems) console.log(formatProblem(problem));
      // Warnings say what this environment lacks (a secret only workers read): they never fail validation, which CI runs without secrets.
      for (const warning of set.warnings) console.log(`warning ${formatProblem(warning)}`);
      const badFiles = new Set(set.problems.map((p) => p.file)).size;
      if (set.problems.length > 0) {
        console.log(`${set.problems.length} problem${set.problems.length === 1 ? '' : 's'} in ${badFiles} of ${set.files.length} runbook file${set.files.length === 1 ? '' : 's'}`);
        throw new ExitWith(1);
      }
      for (const loaded of set.runbooks.values()) console.log(`ok ${loaded.file} (${loaded.runbook.system.id}, ${loaded.version.slice(0, 19)})`);
    });

  runbook
    .command('show')
    .description('print the effective runbook of a system: defaults filled in, regime overrides applied, with its version')
    .argument('<system>', 'system id')
    .addOption(new Option('--json', 'print JSON instead of YAML'))
    .addOption(new Option('--dir <folder>', 'runbook folder (default: CORREX_RUNBOOKS)'))
    .action(async (system: string, options: { json?: boolean; dir?: string }) => {
      const dir = options.dir ?? loadConfig().runbooksDir;
      const set = await loadRunbooks([dir]);
      const loaded = set.runbooks.get(system);
      if (!loaded) {
        const broken = set.problems.length > 0 ? `; ${set.problems.length} problem(s) in the folder, see correx runbook validate` : '';
        throw new OperatorError(`no valid runbook for system '${system}' in ${dir} (found: ${[...set.runbooks.keys()].join(', ') || 'none'})${broken}`);
      }
      const effective = effectiveRunbook(loaded);
      process.stdout.write(options.json ? `${JSON.stringify(effective, null, 2)}\n` : stringify(effective, { lineWidth: 0, aliasDuplicateObjects: false }));
    });

  runbook
    .command('schema')
    .description("write the runbook JSON Schema (for editors' YAML language servers)")
    .addOption(new Option('-o, --output <file>', 'write to this file instead of standard output'))
    .action(async (options: { output?: string }) => {
      const text = `${JSON.stringify(runbookJsonSchema(), null, 2)}\n`;
      if (!options.output) {
        process.stdout.write(text);
        return;
      }
      await mkdir(path.dirname(options.output), { recursive: true });
      await writeFile(options.output, text);
      console.log(`wrote ${options.output}`);
    });

  return runbook;
}
