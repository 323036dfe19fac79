import type { Kysely } from 'kysely';

// Corrections are enforced per system (the policy document and decision endpoint read them by system),
// and their authority depends on the incident's severity when proposed.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('corrections')
    .addColumn('system_id', 'text', (c) => c.notNull())
    .addColumn('severity', 'text', (c) => c.notNull())
    .addColumn('rejected_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('corrections_system_applied').on('corrections').columns(['system_id', 'applied_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('corrections_system_applied').execute();
  await db.schema.alterTable('corrections').dropColumn('system_id').dropColumn('severity').dropColumn('rejected_at').execute();
}
