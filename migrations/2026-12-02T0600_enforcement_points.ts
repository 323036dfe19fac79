import { sql, type Kysely } from 'kysely';

// Gateways ask Correx before every model request, so each API instance answers from a policy held in
// memory. `policy_versions` numbers every change of a system's policy (a correction taking effect or
// ending); each correction keeps the version it entered and left the policy with. Instances report the
// version they hold (`decision_instances`), gateways the version their last decision was made under
// (`enforcement_points`): a correction is verified once what enforces it holds a version that has it.
// `rate_limit_counts` is the count every instance shares for a rate-limit correction.
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('policy_versions')
    .addColumn('system_id', 'text', (c) => c.primaryKey())
    .addColumn('version', 'bigint', (c) => c.notNull())
    .addColumn('changed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.alterTable('corrections').addColumn('applied_version', 'bigint').addColumn('lifted_version', 'bigint').execute();
  // Corrections already in force or lifted are in the policy as it is now: version 1 of their system.
  await sql`insert into policy_versions (system_id, version) select distinct system_id, 1 from corrections where applied_at is not null`.execute(db);
  await sql`update corrections set applied_version = 1 where applied_at is not null`.execute(db);
  await sql`update corrections set lifted_version = 1 where lifted_at is not null`.execute(db);
  await db.schema
    .createTable('decision_instances')
    .addColumn('instance_id', 'text', (c) => c.primaryKey())
    .addColumn('versions', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('heartbeat_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createTable('enforcement_points')
    .addColumn('system_id', 'text', (c) => c.notNull())
    .addColumn('point_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('policy_version', 'bigint', (c) => c.notNull())
    .addColumn('decisions', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('first_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('enforcement_points_pkey', ['system_id', 'point_id'])
    .execute();
  await db.schema
    .createTable('rate_limit_counts')
    .addColumn('correction_id', 'uuid', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('window_start', 'timestamptz', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('rate_limit_counts_pkey', ['correction_id', 'subject', 'window_start'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('rate_limit_counts').execute();
  await db.schema.dropTable('enforcement_points').execute();
  await db.schema.dropTable('decision_instances').execute();
  await db.schema.alterTable('corrections').dropColumn('applied_version').dropColumn('lifted_version').execute();
  await db.schema.dropTable('policy_versions').execute();
}
