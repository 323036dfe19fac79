import { sql, type Kysely } from 'kysely';

// On-call schedules live in the runbooks; what changes while running is here. `schedule_overrides`
// puts someone on call for a while, with who asked and why, and is cancelled rather than deleted so
// that who was on call when stays answerable. `schedule_feeds` are secret calendar URLs, one per
// schedule or per person (only a hash of the secret is kept, as for API tokens).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('schedule_overrides')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('schedule_id', 'text', (c) => c.notNull())
    .addColumn('person', 'text', (c) => c.notNull())
    .addColumn('starts_at', 'timestamptz', (c) => c.notNull())
    .addColumn('ends_at', 'timestamptz', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('cancelled_at', 'timestamptz')
    .addColumn('cancelled_by', 'text')
    .addCheckConstraint('schedule_overrides_ends_after_starts', sql`ends_at > starts_at`)
    .execute();
  await db.schema.createIndex('schedule_overrides_schedule_ends').on('schedule_overrides').columns(['schedule_id', 'ends_at']).execute();
  await db.schema
    .createTable('schedule_feeds')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('schedule_id', 'text')
    .addColumn('person_id', 'text')
    .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('revoked_at', 'timestamptz')
    .addCheckConstraint('schedule_feeds_one_subject', sql`(schedule_id is null) <> (person_id is null)`)
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('schedule_feeds').execute();
  await db.schema.dropTable('schedule_overrides').execute();
}
