import type { Kysely } from 'kysely';

// Who created each token: an admin's person id through the API, `direct:<user>` for a token written
// straight into the database (the first admin). Earlier tokens keep NULL: their creator is unknown.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('api_tokens').addColumn('created_by', 'text').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('api_tokens').dropColumn('created_by').execute();
}
