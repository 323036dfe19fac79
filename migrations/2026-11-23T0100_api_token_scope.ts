import type { Kysely } from 'kysely';

// An integration key (PagerDuty's routing key) selects the system its events are about; tokens are
// looked up by hash on every request.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('api_tokens')
    .addColumn('system_id', 'text')
    .addColumn('kind', 'text', (c) => c.notNull().defaultTo('token'))
    .execute();
  await db.schema.createIndex('api_tokens_hash').unique().on('api_tokens').column('hash').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('api_tokens_hash').execute();
  await db.schema.alterTable('api_tokens').dropColumn('system_id').dropColumn('kind').execute();
}
