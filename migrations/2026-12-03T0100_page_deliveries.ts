import { sql, type Kysely } from 'kysely';

// A person is paged through their contact methods in order (email, Matrix, Slack, Teams, a signed
// webhook), the next one only when one cannot be delivered. Every attempt is a row here: which channel,
// when it was tried, when it was delivered or why it was not. In a drill, nothing but the drill outbox is
// used: the row names the channel that would have been used and says `drill`.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('page_deliveries')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('page_key', 'text', (c) => c.notNull().references('pages.idempotency_key').onDelete('restrict'))
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('attempted_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('delivered_at', 'timestamptz')
    .addColumn('error', 'text')
    .addColumn('reference', 'text')
    .addColumn('drill', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute();
  await db.schema.createIndex('page_deliveries_page').on('page_deliveries').columns(['page_key', 'attempted_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('page_deliveries').execute();
}
