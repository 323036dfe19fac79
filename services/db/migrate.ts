import type { Kysely } from 'kysely';
import { Migrator, NO_MIGRATIONS, type MigrationResult } from 'kysely/migration';
import { migrations } from '../../migrations/index.js';
import { OperatorError } from '../errors.js';

function migrator(db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: { getMigrations: async () => migrations } });
}

function check(outcome: { error?: unknown; results?: MigrationResult[] }, doing: string): MigrationResult[] {
  if (outcome.error) {
    const failed = outcome.results?.find((r) => r.status === 'Error');
    const reason = outcome.error instanceof Error ? outcome.error.message : String(outcome.error);
    throw new OperatorError(`${doing} failed${failed ? ` at ${failed.migrationName}` : ''}: ${reason}`);
  }
  return outcome.results ?? [];
}

/** Applies every pending migration; returns the names applied (none when up to date). */
export async function migrateUp(db: Kysely<any>): Promise<string[]> {
  return check(await migrator(db).migrateToLatest(), 'migration').map((r) => r.migrationName);
}

/** Reverts the most recent migration, or all of them with `all`. Returns the names reverted. */
export async function migrateDown(db: Kysely<any>, options: { all?: boolean } = {}): Promise<string[]> {
  const m = migrator(db);
  const outcome = options.all ? await m.migrateTo(NO_MIGRATIONS) : await m.migrateDown();
  return check(outcome, 'rollback').map((r) => r.migrationName);
}

export interface MigrationStatus {
  name: string;
  executedAt: Date | undefined;
}

export async function migrationStatus(db: Kysely<any>): Promise<MigrationStatus[]> {
  const all = await migrator(db).getMigrations();
  return all.map((m) => ({ name: m.name, executedAt: m.executedAt }));
}
