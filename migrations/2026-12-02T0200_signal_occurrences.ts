import { sql, type Kysely } from 'kysely';

// A repeat of a stored alert (Alertmanager re-sends every repeat_interval, PagerDuty triggers with the
// same dedup_key) is counted on its row instead of being dropped: thresholds that count occurrences and
// the alerts view need how often and how lately it was seen. One row per alert stays one row.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('signals')
    .addColumn('occurrences', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('last_seen_at', 'timestamptz')
    .execute();
  await sql`UPDATE signals SET last_seen_at = received_at`.execute(db);
  await db.schema
    .alterTable('signals')
    .alterColumn('last_seen_at', (c) => c.setNotNull())
    .execute();
  await db.schema
    .alterTable('signals')
    .alterColumn('last_seen_at', (c) => c.setDefault(sql`now()`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('signals').dropColumn('occurrences').dropColumn('last_seen_at').execute();
}
