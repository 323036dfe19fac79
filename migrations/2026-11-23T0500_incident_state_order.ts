import type { Kysely } from 'kysely';

// Where the incident row's state came from in its workflow's order (the run, and the sequence number
// of the activity that recorded it there), so a transition recorded late never moves it backwards.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('incidents').addColumn('state_run_id', 'text').addColumn('state_ordinal', 'integer').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('incidents').dropColumn('state_run_id').dropColumn('state_ordinal').execute();
}
