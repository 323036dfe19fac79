import { Command, CommanderError, Option } from 'commander';
import type { Kysely } from 'kysely';
import type * as migrate from '../db/migrate.js';
import type { Database } from '../db/schema.js';
import { OperatorError } from '../errors.js';
import { auditCommand, exportCommand } from './compliance.js';
import { correctionCommand } from './correction.js';
import { CliError, ExitCode, ExitWith } from './exit.js';
import { incidentCommand } from './incident.js';
import { reportCommand } from './report.js';
import { drillCommand, reviewCommand } from './review.js';
import { runbookCommand } from './runbook.js';
import { scheduleCommand } from './schedule.js';
import { taskCommand } from './task.js';
import { tokenCommand } from './token.js';

// The command tree loads nothing but commander and the definitions (./define.ts): each command imports
// what it runs when it runs, so `correx --help` starts about as fast as Node itself.

export function buildProgram(): Command {
  const program = new Command('correx')
    .description('Incident response for deployed AI systems: from the first alert to a verified deployment correction.')
    .version(process.env.npm_package_version ?? '0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('dev')
    .description('run Correx locally: Temporal dev server with web UI, migrations, worker and HTTP service, until Ctrl-C')
    .action(async () => {
      const [{ runDev }, { loadConfig }] = await Promise.all([import('../dev.js'), import('../config.js')]);
      await runDev(loadConfig());
    });

  program
    .command('api')
    .description('run the HTTP API alone (any number of instances): DATABASE_URL, TEMPORAL_ADDRESS and CORREX_SIGNING_KEY_FILE required; drains on SIGTERM')
    .action(async () => {
      const [{ runApiProcess }, { loadConfig }] = await Promise.all([import('../api-process.js'), import('../config.js')]);
      await runApiProcess(loadConfig());
    });

  program
    .command('worker')
    .description(
      'run a worker (any number of them): workflows and activities against TEMPORAL_ADDRESS (default localhost:7233) and DATABASE_URL; health on CORREX_WORKER_HEALTH_PORT; drains on SIGTERM',
    )
    .action(async () => {
      const [{ runWorkerProcess }, { loadConfig }] = await Promise.all([import('../worker-process.js'), import('../config.js')]);
      await runWorkerProcess(loadConfig());
    });

  const migrate = program.command('migrate').description('apply, revert or list database migrations (DATABASE_URL, else the embedded database)');
  migrate
    .command('up')
    .description('apply every pending migration')
    .action(async () => {
      await withDatabase(async (db, describe, { migrateUp }) => {
        const applied = await migrateUp(db);
        console.log(applied.length ? `applied to ${describe}: ${applied.join(', ')}` : `${describe}: already up to date`);
      });
    });
  migrate
    .command('down')
    .description('revert the most recent migration')
    .addOption(new Option('--all', 'revert every migration'))
    .action(async (options: { all?: boolean }) => {
      await withDatabase(async (db, describe, { migrateDown }) => {
        const reverted = await migrateDown(db, { all: options.all === true });
        console.log(reverted.length ? `reverted on ${describe}: ${reverted.join(', ')}` : `${describe}: nothing to revert`);
      });
    });
  migrate
    .command('status')
    .description('list migrations and when each was applied')
    .addOption(new Option('--json', 'print JSON'))
    .action(async (options: { json?: boolean }) => {
      await withDatabase(async (db, _describe, { migrationStatus }) => {
        const status = await migrationStatus(db);
        if (options.json) {
          console.log(
            JSON.stringify(
              status.map((m) => ({ name: m.name, appliedAt: m.executedAt?.toISOString() ?? null })),
              null,
              2,
            ),
          );
          return;
        }
        for (const m of status) console.log(`${m.executedAt ? 'applied ' + m.executedAt.toISOString() : 'pending                 '}  ${m.name}`);
      });
    });

  program.addCommand(runbookCommand());

  // Commands that talk to the Correx HTTP API (and `token … --direct`, to the database).
  incidentCommand(program);
  correctionCommand(program);
  reportCommand(program);
  taskCommand(program);
  scheduleCommand(program);
  tokenCommand(program);
  reviewCommand(program);
  drillCommand(program);
  exportCommand(program);
  auditCommand(program);

  return program;
}

async function withDatabase(run: (db: Kysely<Database>, describe: string, migrations: typeof migrate) => Promise<void>): Promise<void> {
  const [{ loadConfig }, { openConfiguredDatabase }, migrations] = await Promise.all([
    import('../config.js'),
    import('../db/configured.js'),
    import('../db/migrate.js'),
  ]);
  const database = await openConfiguredDatabase(loadConfig());
  try {
    await run(database.db, database.describe, migrations);
  } finally {
    await database.close();
  }
}

/** Runs the CLI; errors become one line on stderr and an exit code, never a stack trace. */
export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (error instanceof ExitWith) return error.code;
    if (error instanceof CliError) {
      process.stderr.write(`correx: ${error.message.replace(/\s*\n\s*/g, ' ')}\n`);
      return error.code;
    }
    if (error instanceof OperatorError) {
      process.stderr.write(`correx: ${error.message}\n`);
      return ExitCode.failure;
    }
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    process.stderr.write(`correx: unexpected error: ${message}\n`);
    if (process.env.CORREX_DEBUG) console.error(error);
    return ExitCode.failure;
  }
}
