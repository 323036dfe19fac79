import { Option, type Command } from 'commander';
import { commandGroup, lazy, withApi } from './define.js';

const actions = () => import('./compliance-actions.js');

export function exportCommand(program: Command): void {
  const exports = commandGroup(program, 'export', 'export timelines (signed JSON or CSV), the printable report, and regulator mappings (compliance role)');

  withApi(
    exports
      .command('timeline')
      .description('stream the timelines of one incident or of those matching the filters; verify a JSON export with `correx audit verify`')
      .option('--incident <id>', 'one incident')
      .option('--system <systemId>', 'incidents of this system')
      .option('--severity <severity>', 'incidents of this severity')
      .option('--from <time>', 'incidents opened at or after (ISO 8601)')
      .option('--to <time>', 'incidents opened before (ISO 8601)')
      .addOption(new Option('--format <format>', 'json or csv').choices(['json', 'csv']).default('json'))
      .option('-o, --output <file>', 'write to this file (default: standard output)'),
  ).action(lazy(async () => (await actions()).timeline));

  withApi(
    exports
      .command('report')
      .description('the printable incident report (HTML; print it to PDF from a browser)')
      .argument('<incidentId>')
      .option('-o, --output <file>', 'write to this file (default: standard output)'),
  ).action(lazy(async () => (await actions()).report));

  withApi(
    exports
      .command('mappings')
      .description('the incident in the EU AI Act, GPAI Code of Practice, OECD and AI Incident Database fields, with what is missing and why')
      .argument('<incidentId>')
      .option('--schema <schema>', 'only this schema'),
  ).action(lazy(async () => (await actions()).mappings));
}

export function auditCommand(program: Command): void {
  const audit = commandGroup(program, 'audit', 'check exports offline');
  audit
    .command('verify')
    .description('check every hash link, sequence number and the Ed25519 signature of a JSON export; exit 1 naming the first broken event')
    .argument('<export-file>')
    .option('--public-key <file>', "the signer's public key (PEM, from /.well-known/correx-signing-key); without it, the key inside the file is used")
    .option('--json', 'print the result as JSON')
    .action(lazy(async () => (await actions()).verify));
}
