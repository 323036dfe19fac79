import { sql, type Kysely } from 'kysely';

// A regulator report's content is derived again from the incident whenever it is shown or approved;
// what compliance changed or completed is kept apart, in `edits` (field -> value), and wins. `fields`
// keeps the draft as first made (so a reader sees what changed since), then, once approved, the
// content sent.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('notifications')
    .addColumn('edits', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('notifications').dropColumn('edits').execute();
}
