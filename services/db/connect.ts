import { mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { OperatorError, connectionFailureReason } from '../errors.js';
import type { Database } from './schema.js';

// int8 (counts, sums) as numbers, like PGlite; Correx never stores values beyond 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export interface DatabaseHandle {
  db: Kysely<Database>;
  /** `postgres://host:port/db` (no password) or `pglite:<folder>`, for messages and health. */
  describe: string;
  backend: 'postgres' | 'pglite';
  close(): Promise<void>;
}

export type DatabaseTarget = { url: string } | { pgliteDir: string };

/** PostgreSQL URL without its password, safe to print. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.username ? `${parsed.username}@` : ''}${parsed.host}${parsed.pathname}`;
  } catch {
    return '<unparseable URL>';
  }
}

/**
 * Opens the database and proves it answers, or fails with one line the operator can act on.
 * `{ url }` uses a real PostgreSQL server; `{ pgliteDir }` the embedded PostgreSQL (PGlite) in that folder.
 */
export async function openDatabase(target: DatabaseTarget, options: { onConnectionLost?: ConnectionLossReporter } = {}): Promise<DatabaseHandle> {
  return 'url' in target ? openPostgres(target.url, options.onConnectionLost) : openPglite(target.pgliteDir);
}

/** Where a lost connection is reported: one line on stderr unless the caller says otherwise. */
export type ConnectionLossReporter = (line: string) => void;

const reportToStderr: ConnectionLossReporter = (line) => process.stderr.write(`correx: ${line}\n`);

async function openPostgres(url: string, onConnectionLost: ConnectionLossReporter = reportToStderr): Promise<DatabaseHandle> {
  const describe = redactUrl(url);
  const pool = new pg.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 5_000 });
  // The server ending a connection (a restart: 57P01 "terminating connection due to administrator
  // command", a network cut) must not crash the process. pg emits 'error' on the client, and pg-pool
  // forwards it to the pool only while the client is idle (it removes its listener while the client
  // is checked out, e.g. between two statements of a transaction); an 'error' event nobody listens
  // to is an uncaught exception. So every client gets a listener of its own, which reports the loss;
  // pg discards the broken client (the statement in progress fails, so its activity or request is
  // retried) and the next query opens a new connection.
  pool.on('connect', (client) =>
    client.on('error', (error) =>
      onConnectionLost(`PostgreSQL at ${describe} ended a connection (${connectionFailureReason(error)}); it is discarded, the next query reconnects`),
    ),
  );
  // Reported by the client's own listener above; the pool's copy of an idle client's error is only
  // acknowledged here so that it is not an uncaught exception.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  try {
    await sql`select 1`.execute(db);
  } catch (error) {
    await db.destroy().catch(() => {});
    // The cause says whether waiting could help (databaseUnavailable) or not (a wrong password).
    throw Object.assign(new OperatorError(`cannot connect to PostgreSQL at ${describe}: ${connectionFailureReason(error)}`), { cause: error });
  }
  return { db, describe, backend: 'postgres', close: () => db.destroy() };
}

async function openPglite(dir: string): Promise<DatabaseHandle> {
  const folder = path.resolve(dir);
  await mkdir(folder, { recursive: true });
  const releaseLock = await lockFolder(folder);
  let pglite: PGlite;
  try {
    pglite = new PGlite(folder);
    await pglite.waitReady;
  } catch (error) {
    await releaseLock();
    throw new OperatorError(`cannot open the embedded database in ${folder}: ${connectionFailureReason(error)}`);
  }
  const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
  return {
    db,
    describe: `pglite:${folder}`,
    backend: 'pglite',
    close: async () => {
      await db.destroy();
      await releaseLock();
    },
  };
}

/**
 * PGlite has no locking of its own and two processes on one data folder corrupt it, so the folder
 * gets a pid lock file. A lock left by a process that no longer runs is taken over.
 */
async function lockFolder(folder: string): Promise<() => Promise<void>> {
  const lockPath = `${folder}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => rm(lockPath, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
      if (owner && owner !== process.pid && isRunning(owner)) {
        throw new OperatorError(`the embedded database in ${folder} is in use by process ${owner}; stop it, or set DATABASE_URL to share a PostgreSQL server`);
      }
      await rm(lockPath, { force: true });
    }
  }
  throw new OperatorError(`cannot lock the embedded database folder ${folder}`);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** For health checks: true when a trivial query answers. */
export async function databaseReachable(db: Kysely<Database>): Promise<boolean> {
  try {
    await sql`select 1`.execute(db);
    return true;
  } catch {
    return false;
  }
}

/** PostgreSQL error codes and socket errors that mean the server is away, not that the request is wrong. */
const unavailableCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  '57P01', // admin_shutdown: terminating connection due to administrator command
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: the database system is starting up / shutting down
  '08000', // connection_exception
  '08001', // sqlclient_unable_to_establish_sqlconnection
  '08003', // connection_does_not_exist
  '08006', // connection_failure
]);
/** What pg and pg-pool say, without a code, when a connection is lost or cannot be had in time. */
const unavailableMessages =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended unexpectedly/i;

/**
 * True when an error means the database does not answer (down, restarting, unreachable, the
 * connection cut): the request may succeed if retried shortly, so the API answers 503, not 500.
 */
export function databaseUnavailable(error: unknown, depth = 0): boolean {
  if (depth > 5 || error === null || typeof error !== 'object') return false;
  if (error instanceof AggregateError && error.errors.some((e) => databaseUnavailable(e, depth + 1))) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && unavailableCodes.has(code)) return true;
  if (error instanceof Error && unavailableMessages.test(error.message)) return true;
  return databaseUnavailable((error as { cause?: unknown }).cause, depth + 1);
}
