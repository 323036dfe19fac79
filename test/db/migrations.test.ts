import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { migrateDown, migrateUp, migrationStatus } from '../../services/db/migrate.js';
import { migrations } from '../../migrations/index.js';
import { testDatabaseBackends, type TestDatabase } from '../support/database.js';

const tables = [
  'after_action_reviews',
  'api_tokens',
  'approvals',
  'change_events',
  'chat_commands',
  'chat_rooms',
  'chat_sync',
  'console_sessions',
  'corrections',
  'decision_instances',
  'enforcement_points',
  'fallbacks',
  'idempotency_keys',
  'incidents',
  'notifications',
  'page_deliveries',
  'pages',
  'policy_versions',
  'rate_limit_counts',
  'runbook_versions',
  'schedule_feeds',
  'schedule_overrides',
  'signals',
  'systems',
  'tasks',
  'timeline_events',
];

async function userTables(database: TestDatabase): Promise<string[]> {
  const result = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
    where table_schema = 'public' and table_type = 'BASE TABLE' and table_name not like 'kysely_%'
    order by table_name`.execute(database.db);
  return result.rows.map((r) => r.table_name);
}

describe.each(testDatabaseBackends)('migrations on $backend', ({ create }) => {
  let database: TestDatabase;
  afterEach(async () => {
    await database?.destroy();
  });

  it('go up, all the way down, and up again', async () => {
    database = await create({ migrate: false });
    const names = Object.keys(migrations).sort();

    expect(await migrateUp(database.db)).toEqual(names);
    expect(await userTables(database)).toEqual(tables);
    expect((await migrationStatus(database.db)).every((m) => m.executedAt instanceof Date)).toBe(true);
    expect(await migrateUp(database.db)).toEqual([]);

    expect(await migrateDown(database.db, { all: true })).toEqual([...names].reverse());
    expect(await userTables(database)).toEqual([]);
    expect((await migrationStatus(database.db)).every((m) => m.executedAt === undefined)).toBe(true);

    expect(await migrateUp(database.db)).toEqual(names);
    expect(await userTables(database)).toEqual(tables);
  });

  it('reads timestamptz as Date and jsonb as parsed JSON', async () => {
    database = await create();
    await database.db
      .insertInto('systems')
      .values({ id: 'assistant-prod', name: 'Assistant', runbook_version: null, definition: sql`${JSON.stringify({ tiers: ['free', 'pro'] })}::jsonb` })
      .execute();
    const row = await database.db.selectFrom('systems').selectAll().executeTakeFirstOrThrow();
    expect(row.created_at).toBeInstanceOf(Date);
    expect(row.definition).toEqual({ tiers: ['free', 'pro'] });
    const count = await database.db
      .selectFrom('systems')
      .select((eb) => eb.fn.countAll().as('n'))
      .executeTakeFirstOrThrow();
    expect(count.n).toBe(1);
  });
});
