import type { Command } from 'commander';
import { collect, commandGroup, lazy, withApi } from './define.js';

const actions = () => import('./report-actions.js');

export function reportCommand(program: Command): void {
  const report = commandGroup(program, 'report', "list, show, edit and approve an incident's regulator reports (through the Correx API)");

  withApi(
    report.command('list').description("an incident's regulator reports: regime, report, deadline, state").argument('<incidentId>', 'incident id'),
  ).action(lazy(async () => (await actions()).list));

  withApi(
    report
      .command('show')
      .description("a regulator report's content: each field of its regime, derived from the incident or edited, missing ones marked")
      .argument('<reportId>', 'report id (from correx report list)'),
  ).action(lazy(async () => (await actions()).show));

  withApi(
    report
      .command('edit')
      .description("change or complete fields of a drafted report before approving it (kept as compliance's edits, on the timeline)")
      .argument('<reportId>', 'report id (from correx report list)')
      .requiredOption('--set <field=value>', "a field of the regime and its value, repeatable; an empty value goes back to Correx's", collect),
  ).action(lazy(async () => (await actions()).edit));

  withApi(
    report
      .command('approve')
      .description('approve a drafted regulator report, which sends it (report approvers of the runbook only)')
      .argument('<reportId>', 'report id (from correx report list)')
      .option('--edit <field=value>', 'change or complete a field of the draft as it is approved (as correx report edit --set), repeatable', collect)
      .option('--late-reason <text>', 'required once the deadline has passed: sent with the late report'),
  ).action(lazy(async () => (await actions()).approve));

  withApi(
    report
      .command('declare-submitted')
      .description('record that a drafted report was made outside Correx (a portal, a call); the clocks chained from it start then')
      .argument('<reportId>', 'report id (from correx report list)')
      .requiredOption('--at <time>', 'when it was submitted (ISO 8601 with an offset)')
      .requiredOption('--evidence <text>', 'what shows it was: a portal reference, a call log'),
  ).action(lazy(async () => (await actions()).declareSubmitted));
}
