import type { Kysely } from 'kysely';

// A signal a silence held back stays visible, with the silence that did it.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('signals').addColumn('suppressed_by', 'text').addColumn('labels', 'jsonb').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('signals').dropColumn('suppressed_by').dropColumn('labels').execute();
}
