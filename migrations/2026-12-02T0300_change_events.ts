import { sql, type Kysely } from 'kysely';

// PagerDuty change events (`POST /v2/change/enqueue`): what changed about a system (a deploy, a config
// push), kept as context for its incidents. Never a signal: a change event pages nobody and opens nothing.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('change_events')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('system_id', 'text', (c) => c.notNull())
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('source', 'text')
    .addColumn('custom_details', 'jsonb')
    .addColumn('links', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    // The owner of the integration key it came with.
    .addColumn('sent_by', 'text', (c) => c.notNull())
    // The change's own time (payload.timestamp), else when it was received.
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('change_events_system_occurred').on('change_events').columns(['system_id', 'occurred_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('change_events').execute();
}
