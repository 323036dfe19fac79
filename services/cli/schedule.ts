import { Option, type Command } from 'commander';
import { commandGroup, lazy, withApi } from './define.js';

const actions = () => import('./schedule-actions.js');

export function scheduleCommand(program: Command): void {
  const schedule = commandGroup(program, 'schedule', 'on-call schedules: who is on call, overrides and calendar feeds (through the Correx API)');

  withApi(schedule.command('list').description('every on-call schedule the runbooks define')).action(lazy(async () => (await actions()).list));

  withApi(
    schedule
      .command('show')
      .description("a schedule: its layers, who is on call now, the next two weeks' shifts (in the schedule's zone), gaps and overrides")
      .argument('<id>', 'schedule id'),
  ).action(lazy(async () => (await actions()).show));

  withApi(
    schedule
      .command('on-call')
      .description('who is on call under a schedule, since and until when, and why (layer, override or fallback)')
      .argument('<id>', 'schedule id')
      .option('--at <time>', 'at this instant (ISO 8601 with an offset; default now)'),
  ).action(lazy(async () => (await actions()).onCall));

  withApi(
    schedule
      .command('override')
      .description('put someone on call for a while (at most 90 days) in place of whoever the layers say')
      .argument('<id>', 'schedule id')
      .requiredOption('--person <personId>', "who is on call instead (one of the runbook's people)")
      .requiredOption('--from <time>', 'from (ISO 8601 with an offset, e.g. 2026-12-24T18:00:00+01:00)')
      .requiredOption('--to <time>', 'until (ISO 8601 with an offset)')
      .requiredOption('--reason <text>', 'why (shown to whoever looks at the schedule)'),
  ).action(lazy(async () => (await actions()).override));

  withApi(
    schedule
      .command('cancel-override')
      .description('cancel an override (it stays on record, with who cancelled it)')
      .argument('<id>', 'schedule id')
      .argument('<overrideId>', 'override id'),
  ).action(lazy(async () => (await actions()).cancelOverride));

  withApi(
    schedule
      .command('feed')
      .description('make a secret calendar URL (RFC 5545) with the next 8 weeks of shifts; it is printed only once')
      .argument('<id>', 'schedule id (or person id with --person)')
      .addOption(new Option('--person', "the id is a person's: their shifts under every schedule")),
  ).action(lazy(async () => (await actions()).feed));
}
