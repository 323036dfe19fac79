import { sql, type Kysely } from 'kysely';

// Regulator reports are notifications with a clock, fields, an approval and a recorded submission;
// downstream fallbacks get their own projection so their state is visible at a glance.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('notifications')
    .addColumn('clock_id', 'text')
    .addColumn('occurrence', 'integer')
    .addColumn('correction_id', 'uuid')
    .addColumn('fields', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('message_id', 'text')
    .addColumn('content_hash', 'text')
    .addColumn('late', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('late_reason', 'text')
    .addColumn('approved_by', 'text')
    .addColumn('approved_at', 'timestamptz')
    .execute();

  await db.schema
    .createTable('fallbacks')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('incident_id', 'uuid', (c) => c.notNull().references('incidents.id').onDelete('restrict'))
    .addColumn('correction_id', 'uuid', (c) => c.notNull().references('corrections.id').onDelete('restrict'))
    .addColumn('consumer_id', 'text', (c) => c.notNull())
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('activated_at', 'timestamptz')
    .addColumn('deactivated_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('fallbacks_one_per_correction_consumer', ['correction_id', 'consumer_id'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('fallbacks').execute();
  await db.schema
    .alterTable('notifications')
    .dropColumn('clock_id')
    .dropColumn('occurrence')
    .dropColumn('correction_id')
    .dropColumn('fields')
    .dropColumn('message_id')
    .dropColumn('content_hash')
    .dropColumn('late')
    .dropColumn('late_reason')
    .dropColumn('approved_by')
    .dropColumn('approved_at')
    .execute();
}
