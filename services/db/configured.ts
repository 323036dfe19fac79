import path from 'node:path';
import type { Config } from '../config.js';
import { OperatorError } from '../errors.js';
import { openDatabase, type DatabaseHandle } from './connect.js';
import { migrationStatus } from './migrate.js';

/** The database the configuration names: DATABASE_URL, else the embedded one under CORREX_DATA_DIR. */
export function openConfiguredDatabase(config: Pick<Config, 'databaseUrl' | 'dataDir'>): Promise<DatabaseHandle> {
  return openDatabase(config.databaseUrl ? { url: config.databaseUrl } : { pgliteDir: path.join(config.dataDir, 'pgdata') });
}

/**
 * The shared PostgreSQL a scaled-out process (`correx api`, `correx worker`) needs: the embedded
 * database serves one process only, so it is refused here, and the schema must be up to date.
 */
export async function openSharedDatabase(config: Pick<Config, 'databaseUrl' | 'dataDir'>, processName: string): Promise<DatabaseHandle> {
  if (!config.databaseUrl) {
    throw new OperatorError(`${processName} needs DATABASE_URL: the embedded database serves a single process (correx dev); API instances and workers share one PostgreSQL`);
  }
  const database = await openDatabase({ url: config.databaseUrl });
  const pending = (await migrationStatus(database.db)).filter((m) => !m.executedAt).map((m) => m.name);
  if (pending.length) {
    await database.close();
    throw new OperatorError(`${database.describe} has ${pending.length} pending migration(s) (${pending.join(', ')}): run correx migrate up first`);
  }
  return database;
}
