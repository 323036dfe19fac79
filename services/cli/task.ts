import { Option, type Command } from 'commander';
import { taskStates } from '../review/task-states.js';
import { commandGroup, lazy, withApi } from './define.js';

const actions = () => import('./task-actions.js');

export function taskCommand(program: Command): void {
  const task = commandGroup(program, 'task', 'post-incident follow-up tasks (through the Correx API)');

  withApi(
    task
      .command('list')
      .description('follow-up tasks, soonest due first')
      .option('--incident <id>', "only this incident's tasks")
      .addOption(new Option('--state <state>', 'only tasks in this state').choices(taskStates))
      .option('--owner <personId>', 'only tasks of this person')
      .option('--limit <n>', 'at most this many (1-500)', '100'),
  ).action(lazy(async () => (await actions()).list));

  withApi(
    task.command('done').description('mark a task done').argument('<taskId>', 'task id').option('--note <text>', 'what was done (recorded on the timeline)'),
  ).action(lazy(async () => (await actions()).done));

  withApi(
    task
      .command('reassign')
      .description('give a task to another person of the runbook')
      .argument('<taskId>', 'task id')
      .requiredOption('--to <personId>', 'the new owner'),
  ).action(lazy(async () => (await actions()).reassign));

  withApi(
    task
      .command('drop')
      .description('mark a task as not being done, with the reason')
      .argument('<taskId>', 'task id')
      .requiredOption('--reason <text>', 'why it will not be done (recorded on the timeline)'),
  ).action(lazy(async () => (await actions()).drop));
}
