import { Option, type Command } from 'commander';
import { roles } from '../access/roles.js';
import { commandGroup, lazy, withApi } from './define.js';

const actions = () => import('./token-actions.js');

const directOption = () =>
  new Option('--direct', 'work on the database itself (DATABASE_URL, else the embedded one) instead of the API: how the first admin token is made');

export function tokenCommand(program: Command): void {
  const token = commandGroup(program, 'token', 'API tokens and integration keys (through the API with an admin token, or --direct on the database)');

  withApi(
    token
      .command('create')
      .description('create an API token (or an integration key); its secret is printed once')
      .requiredOption('--owner <personId>', 'the person the token acts as (as the runbooks name people); the timeline records it')
      .addOption(new Option('--role <role...>', `roles, space- or comma-separated (${roles.join(', ')})`).makeOptionMandatory())
      .option('--description <text>', 'what the token is for')
      .option('--expires-in <duration>', 'lifetime such as 12h, 30d or 1w (default: until revoked)')
      .option('--integration-key-for <systemId>', 'an integration key (PagerDuty routing key) for one system; roles must be ingest')
      .option('--owner-outside-runbooks', 'the owner is no person the runbooks name (an auditor, a service account): mint it anyway')
      .addOption(directOption()),
  ).action(lazy(async () => (await actions()).create));

  withApi(
    token
      .command('list')
      .description('tokens and integration keys (prefixes only, never secrets)')
      .option('--include-revoked', 'list revoked tokens too')
      .addOption(directOption()),
  ).action(lazy(async () => (await actions()).list));

  withApi(
    token
      .command('revoke')
      .description('revoke a token by id or prefix; it stops working at once')
      .argument('<token>', 'token id or prefix (as token list shows it)')
      .addOption(directOption()),
  ).action(lazy(async () => (await actions()).revoke));
}
