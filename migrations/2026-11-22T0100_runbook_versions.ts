import { sql, type Kysely } from 'kysely';

// Runbooks are content-addressed: a version is the hash of its content, so a row never changes and an
// incident's rules can always be read back exactly as they were when it started.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('runbook_versions')
    .addColumn('version', 'text', (c) => c.primaryKey())
    .addColumn('system_id', 'text', (c) => c.notNull())
    .addColumn('content', 'jsonb', (c) => c.notNull())
    .addColumn('source_file', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('runbook_versions_system').on('runbook_versions').columns(['system_id', 'created_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('runbook_versions').execute();
}
