import type { Command } from 'commander';
import { commandGroup, lazy, withApi } from './define.js';

const actions = () => import('./review-actions.js');

export function reviewCommand(program: Command): void {
  const review = commandGroup(program, 'review', "an incident's after-action review: record, attribution, sign-off (through the Correx API)");

  withApi(review.command('show').description('the review record, its tasks and its sign-off').argument('<incidentId>')).action(
    lazy(async () => (await actions()).show),
  );

  withApi(
    review
      .command('template')
      .description(
        "print a review record to start from: the incident's title, times, corrections and timeline milestones filled in, the rest marked TODO (valid as printed, for review submit)",
      )
      .argument('<incidentId>'),
  ).action(lazy(async () => (await actions()).template));

  withApi(
    review
      .command('submit')
      .description(
        "submit (or revise) the review record from a YAML or JSON file (start from review template): summary, impact, rootCause, attribution, correctiveActions…; completes the runbook's write-review task",
      )
      .argument('<incidentId>')
      .requiredOption('-f, --file <file>', 'the review record'),
  ).action(lazy(async () => (await actions()).submit));

  withApi(
    review
      .command('sign-off')
      .description("sign the review off, which closes the incident (the decision authority at the incident's severity over its corrections)")
      .argument('<incidentId>'),
  ).action(lazy(async () => (await actions()).signOff));

  withApi(
    review
      .command('attributions')
      .description('attributions across reviewed incidents, by lifecycle stage and value-chain actor')
      .option('--system <systemId>'),
  ).action(lazy(async () => (await actions()).attributions));
}

export function drillCommand(program: Command): void {
  withApi(
    program
      .command('drill')
      .description(
        'rehearse an incident of a system end to end under its runbook: dry-run enforcer, mail to the outbox, no regulator clocks, kept out of metrics',
      )
      .argument('<systemId>')
      .option('--scenario <file>', 'YAML or JSON: title, severity, correction {kind, scope, parameters, reason}; default: the runbook playbook for SEV2'),
  ).action(lazy(async () => (await actions()).drill));
}
