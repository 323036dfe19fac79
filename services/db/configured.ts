import path from 'node:path';
import type { Config } from '../config.js';
import { withBackoff } from '../backoff.js';
import { OperatorError, connectionFailureReason } from '../errors.js';
import { databaseUnavailable, openDatabase, redactUrl, type DatabaseHandle } from './connect.js';
import { migrationStatus } from './migrate.js';

/** The database the configuration names: DATABASE_URL, else the embedded one under CORREX_DATA_DIR. */
export function openConfiguredDatabase(config: Pick<Config, 'databaseUrl' | 'dataDir'>): Promise<DatabaseHandle> {
  return openDatabase(config.databaseUrl ? { url: config.databaseUrl } : { pgliteDir: path.join(config.dataDir, 'pgdata') });
}

/** `host:port` of a PostgreSQL URL, for the lines a waiting process prints. */
function hostAndPort(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5432'}`;
  } catch {
    return redactUrl(url);
  }
}

export interface SharedDatabaseOptions {
  /** How long to wait for a PostgreSQL that does not answer (down, restarting); 0 (default): fail at once. */
  waitSeconds?: number;
  /** The process's own output: each wait and each lost connection is one line. */
  say?: (line: string) => void;
}

/**
 * The shared PostgreSQL a scaled-out process (`correx api`, `correx worker`) needs: the embedded
 * database serves one process only, so it is refused here, and the schema must be up to date.
 * While the server does not answer it waits with the same backoff as for Temporal, saying so.
 */
export async function openSharedDatabase(
  config: Pick<Config, 'databaseUrl' | 'dataDir'>,
  processName: string,
  options: SharedDatabaseOptions = {},
): Promise<DatabaseHandle> {
  const url = config.databaseUrl;
  if (!url) {
    throw new OperatorError(
      `${processName} needs DATABASE_URL: the embedded database serves a single process (correx dev); API instances and workers share one PostgreSQL`,
    );
  }
  const database = await withBackoff(() => openDatabase({ url }, options.say ? { onConnectionLost: options.say } : {}), {
    waitSeconds: options.waitSeconds ?? 0,
    retryable: (error) => error instanceof OperatorError && databaseUnavailable(error.cause),
    waiting: (error) => `PostgreSQL at ${hostAndPort(url)} does not answer (${connectionFailureReason((error as Error).cause)})`,
    ...(options.say ? { onWaiting: options.say } : {}),
  });
  const pending = (await migrationStatus(database.db)).filter((m) => !m.executedAt).map((m) => m.name);
  if (pending.length) {
    await database.close();
    throw new OperatorError(`${database.describe} has ${pending.length} pending migration(s) (${pending.join(', ')}): run correx migrate up first`);
  }
  return database;
}
