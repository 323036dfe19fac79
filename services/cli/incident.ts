import { Option, type Command } from 'commander';
import { incidentStates } from '../incident/states.js';
import { incidentClasses } from '../regulatory/classes.js';
import { commandGroup, commaSeparatedChoices, lazy, withApi } from './define.js';

const actions = () => import('./incident-actions.js');

export function incidentCommand(program: Command): void {
  const incident = commandGroup(program, 'incident', 'trigger, list, inspect and act on incidents (through the Correx API)');

  withApi(
    incident
      .command('trigger')
      .description('open an incident for a system (or join the open one with the same dedup key)')
      .argument('<systemId>', 'system id, as its runbook names it')
      .requiredOption('--title <title>', 'what is wrong, in one line')
      .requiredOption('--severity <severity>', "one of the runbook's severities, e.g. SEV2")
      .option('--dedup-key <key>', 'triggers with the same key join the open incident')
      .option('--summary <text>', 'more detail')
      .option('--aware-since <time>', 'the organisation knew earlier (ISO 8601 with an offset): clocks that run from awareness run from then')
      .option('--awareness-reason <text>', 'how that earlier moment is known (with --aware-since)'),
  ).action(lazy(async () => (await actions()).trigger));

  withApi(
    incident
      .command('list')
      .description('list incidents, newest first')
      .option('--system <systemId>', 'only this system')
      .addOption(commaSeparatedChoices(new Option('--state <states>', 'only these states, comma-separated'), incidentStates))
      .option('--severity <severity>', 'only this severity')
      .option('--limit <n>', 'incidents per page (1-200)', '50')
      .option('--cursor <cursor>', 'the page after this cursor (printed under the previous page)')
      .option('--all', 'follow the cursor to the last page'),
  ).action(lazy(async () => (await actions()).list));

  withApi(incident.command('show').description('an incident with its corrections and timeline').argument('<id>', 'incident id')).action(
    lazy(async () => (await actions()).show),
  );

  const transition = (name: 'ack' | 'resolve', route: 'acknowledge' | 'resolve', description: string) =>
    withApi(incident.command(name).description(description).argument('<id>', 'incident id').option('--reason <text>', 'why (recorded on the timeline)')).action(
      lazy(async () => (await actions()).transition(route)),
    );
  transition('ack', 'acknowledge', 'acknowledge: stops paging; the first to acknowledge becomes incident commander');
  transition('resolve', 'resolve', 'resolve the incident');

  withApi(
    incident
      .command('classify')
      .description('set or revise the incident classes (which decide the regulator reports that apply)')
      .argument('<id>', 'incident id')
      .addOption(new Option('--class <class...>', `incident classes, space- or comma-separated (${incidentClasses.join(', ')})`).makeOptionMandatory())
      .requiredOption('--reason <text>', 'why this classification'),
  ).action(lazy(async () => (await actions()).classify));

  withApi(
    incident
      .command('awareness')
      .description('record that the organisation became aware before the incident was opened (clocks that run from awareness move to it)')
      .argument('<id>', 'incident id')
      .requiredOption('--since <time>', 'when the organisation became aware (ISO 8601 with an offset, e.g. 2026-12-01T22:10:00Z)')
      .requiredOption('--reason <text>', 'how that moment is known'),
  ).action(lazy(async () => (await actions()).awareness));
}
