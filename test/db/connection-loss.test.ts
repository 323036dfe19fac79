import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../services/db/connect.js';
import { createPostgresTestDatabase, eventually, type TestDatabase } from '../support/database.js';

// PostgreSQL ending a connection (a restart, `pg_terminate_backend`: 57P01 "terminating connection due
// to administrator command") must cost the statement in progress, never the process.
describe('the shared pool when PostgreSQL ends its connections', () => {
  let database: TestDatabase;
  let handle: DatabaseHandle;
  let admin: pg.Client;
  const lost: string[] = [];
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);

  beforeAll(async () => {
    database = await createPostgresTestDatabase({ migrate: false });
    admin = new pg.Client({ connectionString: database.location });
    await admin.connect();
    process.on('uncaughtException', onUncaught);
  });
  afterAll(async () => {
    process.off('uncaughtException', onUncaught);
    await admin?.end();
    await database?.destroy();
  });
  beforeEach(async () => {
    lost.length = 0;
    uncaught.length = 0;
    const url = new URL(database.location);
    url.searchParams.set('application_name', 'correx-connection-loss');
    handle = await openDatabase({ url: url.toString() }, { onConnectionLost: (line) => lost.push(line) });
  });
  afterEach(async () => {
    await handle.close();
  });

  /** Ends every connection of the pool under test, as a restart of the server would; returns how many. */
  async function terminateOthers(): Promise<number> {
    const pids = await admin.query<{ pid: number }>("select pid from pg_stat_activity where application_name = 'correx-connection-loss'");
    for (const { pid } of pids.rows) await admin.query('select pg_terminate_backend($1)', [pid]);
    return pids.rows.length;
  }

  it('survives the loss of a connection checked out between two statements of a transaction', async () => {
    let inTransaction!: () => void;
    const started = new Promise<void>((resolve) => (inTransaction = resolve));
    let terminated!: () => void;
    const afterTermination = new Promise<void>((resolve) => (terminated = resolve));
    const transaction = handle.db.transaction().execute(async (trx) => {
      await sql`select 1`.execute(trx);
      inTransaction();
      await afterTermination;
      await sql`select 2`.execute(trx);
    });
    await started;
    try {
      expect(await terminateOthers()).toBeGreaterThanOrEqual(1);
      // The server's FATAL reaches the checked-out client as an 'error' event.
      await eventually(async () => (lost.length > 0 || uncaught.length > 0 ? true : undefined), 10_000);
    } finally {
      terminated();
    }
    await expect(transaction).rejects.toThrow();

    expect(uncaught).toEqual([]);
    expect(lost[0]).toMatch(
      /^PostgreSQL at postgres:\/\/\S+ ended a connection \(terminating connection due to administrator command\); it is discarded, the next query reconnects$/,
    );
    const next = await sql<{ n: number }>`select 42 as n`.execute(handle.db);
    expect(next.rows).toEqual([{ n: 42 }]);
  });

  it('survives the loss of idle connections and reconnects on the next query', async () => {
    // Several connections in the pool, all idle once the queries finish.
    await Promise.all([1, 2, 3].map((n) => sql`select pg_sleep(0.05), ${n}::int`.execute(handle.db)));
    expect(await terminateOthers()).toBeGreaterThanOrEqual(1);
    await eventually(async () => (lost.length > 0 || uncaught.length > 0 ? true : undefined), 10_000);
    // Give the remaining terminations time to arrive as events too.
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(uncaught).toEqual([]);
    const next = await sql<{ n: number }>`select 7 as n`.execute(handle.db);
    expect(next.rows).toEqual([{ n: 7 }]);
  });
});
