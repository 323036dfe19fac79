import type { Kysely } from 'kysely';

// A consumer's fallback whose switch keeps failing is shown as failing, with its last error and when
// it is tried next, instead of "activating" forever; `action` says which way it was being switched.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('fallbacks')
    .addColumn('action', 'text')
    .addColumn('failed_attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_error', 'text')
    .addColumn('next_attempt_at', 'timestamptz')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('fallbacks').dropColumn('action').dropColumn('failed_attempts').dropColumn('last_error').dropColumn('next_attempt_at').execute();
}
