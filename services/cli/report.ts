import type { Command } from 'commander';
import { collect, commandGroup, lazy, withApi } from './define.js';

const actions = () => import('./report-actions.js');

export function reportCommand(program: Command): void {
  const report = commandGroup(program, 'report', "list and approve an incident's regulator reports (through the Correx API)");

  withApi(
    report.command('list').description("an incident's regulator reports: regime, report, deadline, state").argument('<incidentId>', 'incident id'),
  ).action(lazy(async () => (await actions()).list));

  withApi(
    report
      .command('approve')
      .description('approve a drafted regulator report, which sends it (report approvers of the runbook only)')
      .argument('<reportId>', 'report id (from correx report list)')
      .option('--edit <field=value>', 'change or complete a field of the draft before it is sent, repeatable', collect)
      .option('--late-reason <text>', 'required once the deadline has passed: sent with the late report'),
  ).action(lazy(async () => (await actions()).approve));
}
