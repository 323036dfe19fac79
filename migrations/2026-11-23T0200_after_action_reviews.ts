import { sql, type Kysely } from 'kysely';

// After-action reviews (one per incident, with the attribution of the failure), follow-up tasks that
// remember where they came from and whether their owner's manager was told, and drills kept apart.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('after_action_reviews')
    .addColumn('incident_id', 'uuid', (c) => c.primaryKey().references('incidents.id').onDelete('restrict'))
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('impact', 'text', (c) => c.notNull())
    .addColumn('highlights', 'jsonb', (c) => c.notNull())
    .addColumn('root_cause', 'text', (c) => c.notNull())
    .addColumn('contributing_factors', 'jsonb', (c) => c.notNull())
    .addColumn('attribution', 'jsonb', (c) => c.notNull())
    .addColumn('runbook_changes', 'jsonb', (c) => c.notNull())
    .addColumn('submitted_by', 'text', (c) => c.notNull())
    .addColumn('submitted_at', 'timestamptz', (c) => c.notNull())
    .addColumn('signed_off_by', 'text')
    .addColumn('signed_off_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .alterTable('tasks')
    .addColumn('origin', 'text', (c) => c.notNull().defaultTo('template'))
    .addColumn('reminded_at', 'timestamptz')
    .addColumn('escalated_at', 'timestamptz')
    .execute();
  await db.schema
    .alterTable('incidents')
    .addColumn('drill', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
  // Metrics find an incident's signals (time to detect) by incident.
  await db.schema.createIndex('signals_incident').on('signals').column('incident_id').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('signals_incident').execute();
  await db.schema.alterTable('incidents').dropColumn('drill').execute();
  await db.schema.alterTable('tasks').dropColumn('origin').dropColumn('reminded_at').dropColumn('escalated_at').execute();
  await db.schema.dropTable('after_action_reviews').execute();
}
