import { sql, type Kysely } from 'kysely';

// Ingestion answers 202 once a signal is stored and hands it to its monitor afterwards (an outbox):
// `handed_over` is the latest receipt of the signal its monitor has been given (0: none yet), so a
// signal whose hand-over was cut short (a crash, Temporal down) is found and handed over again; the
// runbook version it was accepted under travels with it. Earlier signals were handed over before 202.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('signals')
    .addColumn('handed_over', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('runbook_version', 'text')
    .execute();
  await sql`UPDATE signals SET handed_over = occurrences`.execute(db);
  await sql`CREATE INDEX signals_awaiting_hand_over ON signals (created_at) WHERE handed_over = 0`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX IF EXISTS signals_awaiting_hand_over`.execute(db);
  await db.schema.alterTable('signals').dropColumn('handed_over').dropColumn('runbook_version').execute();
}
