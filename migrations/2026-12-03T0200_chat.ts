import { sql, type Kysely } from 'kysely';

// Matrix rooms Correx keeps (issue #23): a direct room per person it pages there, and a room per incident
// at or above its runbook's `incidentRoom` severity. A room's row is written before the homeserver is asked
// to create it and gets its id after, so a crash in between never makes a second room (services/channel/
// matrix.ts ensureRoom). An incident room remembers the last timeline event posted to it (`posted_seq`); a
// direct room the incident paged there last (what `!ack` acknowledges). `chat_sync` holds the listener's
// /sync position and `chat_commands` every command read from a room, once per Matrix event.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('chat_rooms')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('incident', 'direct')`))
    .addColumn('room_id', 'text', (c) => c.unique())
    .addColumn('incident_id', 'uuid', (c) => c.references('incidents.id'))
    .addColumn('person', 'text')
    .addColumn('matrix_user', 'text')
    .addColumn('last_incident_id', 'uuid', (c) => c.references('incidents.id'))
    .addColumn('posted_seq', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('chat_rooms_incident').on('chat_rooms').column('incident_id').execute();
  await db.schema
    .createTable('chat_sync')
    .addColumn('account', 'text', (c) => c.primaryKey())
    .addColumn('next_batch', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createTable('chat_commands')
    .addColumn('event_id', 'text', (c) => c.primaryKey())
    .addColumn('room_id', 'text', (c) => c.notNull())
    .addColumn('sender', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('person', 'text')
    .addColumn('incident_id', 'uuid')
    .addColumn('outcome', 'text')
    .addColumn('reply', 'text')
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('handled_at', 'timestamptz')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('chat_commands').execute();
  await db.schema.dropTable('chat_sync').execute();
  await db.schema.dropTable('chat_rooms').execute();
}
