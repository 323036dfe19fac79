import type { Command } from 'commander';
import { correctionKinds } from '../correction/kinds.js';
import { collect, commandGroup, lazy, withApi } from './define.js';

const actions = () => import('./correction-actions.js');

export function correctionCommand(program: Command): void {
  const correction = commandGroup(program, 'correction', 'propose, decide on and lift deployment corrections (through the Correx API)');

  withApi(
    correction
      .command('propose')
      .description("propose a deployment correction; the runbook's decision authority decides who approves it")
      .argument('<incidentId>', 'incident id')
      .requiredOption('--kind <kind>', `correction kind (${correctionKinds.join(', ')})`)
      .requiredOption('--reason <text>', 'why this correction')
      .option('--scope <json>', 'traffic it applies to, as JSON: {"all":true} (default) or segments {"users"|"orgs"|"tiers"|"regions"|"useCases": [...]}')
      .option('--scope-file <file>', 'the scope JSON from a file')
      .option('--param <key=value>', 'a parameter of the kind, repeatable (e.g. requestsPerMinute=10); values are JSON, text or comma-separated lists', collect)
      .option('--break-glass', 'apply at once as incident commander, to be ratified later (where the runbook allows it)')
      .option('--customer-message <text>', "what affected customers are told (default: the runbook's message for the kind); the reason is never sent to them"),
  ).action(lazy(async () => (await actions()).propose));

  const decision = (name: 'approve' | 'reject', description: string) =>
    withApi(
      correction
        .command(name)
        .description(description)
        .argument('<correctionId>', 'correction id')
        .requiredOption('--rationale <text>', 'why (recorded with the vote)'),
    ).action(lazy(async () => (await actions()).decide(name)));
  decision('approve', "approve a proposed correction (counts if the runbook's decision authority gives you a vote)");
  decision('reject', 'reject a proposed correction');

  withApi(
    correction
      .command('lift')
      .description(
        "vote to lift a correction in force: it comes off once the lift votes meet the runbook's quorum (liftAuthority, else the kind's decisionAuthority); the last one of a severe incident needs the restoration criteria met",
      )
      .argument('<correctionId>', 'correction id')
      .requiredOption('--rationale <text>', 'why it can come off')
      .option(
        '--restoration <criterion=evidence>',
        "evidence that one of the runbook's restoration criteria is met, repeatable (e.g. fix-deployed='deploy 4821'); evidence given with an earlier vote on the same lift counts",
        collect,
      ),
  ).action(lazy(async () => (await actions()).lift));

  withApi(
    correction
      .command('show')
      .description('a correction with its approval state: the authority rule and the votes')
      .argument('<correctionId>', 'correction id'),
  ).action(lazy(async () => (await actions()).show));

  withApi(
    correction
      .command('enforcement')
      .description("where a system's corrections are enforced: its policy version, and each API instance and gateway with the version it holds")
      .argument('<systemId>', 'system id, as its runbook names it'),
  ).action(lazy(async () => (await actions()).enforcement));
}
