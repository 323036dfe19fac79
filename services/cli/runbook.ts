import { Command, Option } from 'commander';
import { lazy } from './define.js';

const actions = () => import('./runbook-actions.js');

export function runbookCommand(): Command {
  const runbook = new Command('runbook').description('check and inspect runbooks (one YAML file per AI system)');

  runbook
    .command('validate')
    .description('check runbooks; lists every problem as file:line:column path: message (exit 0 valid, 1 invalid)')
    .argument('[paths...]', 'runbook files or folders (default: CORREX_RUNBOOKS)')
    .action(lazy(async () => (await actions()).validate));

  runbook
    .command('show')
    .description('print the effective runbook of a system: defaults filled in, regime overrides applied, with its version')
    .argument('<system>', 'system id')
    .addOption(new Option('--json', 'print JSON instead of YAML'))
    .addOption(new Option('--dir <folder>', 'runbook folder (default: CORREX_RUNBOOKS)'))
    .action(lazy(async () => (await actions()).show));

  runbook
    .command('schema')
    .description("write the runbook JSON Schema (for editors' YAML language servers)")
    .addOption(new Option('-o, --output <file>', 'write to this file instead of standard output'))
    .action(lazy(async () => (await actions()).schema));

  return runbook;
}
