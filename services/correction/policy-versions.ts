import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import type { EnforcementPointKind } from './kinds.js';
import type { pageCommander } from '../escalation/repository.js';
import { appendTimelineEvent } from '../timeline/repository.js';
import { activeCorrections } from './repository.js';
import type { ActiveCorrection } from './policy.js';

/** A system's policy as one version: every correction in force under it. */
export interface PolicyAtVersion {
  systemId: string;
  /** 0 while the system has never had a correction in force. */
  version: number;
  corrections: ActiveCorrection[];
}

/**
 * Puts a correction into its system's policy (`applied`) or takes it out (`lifted`): stamps the time
 * and gives the policy a new version, the first time only, so retries and the workflow's later record
 * of the same moment change nothing. Answers the moment on record, which the timeline event uses too.
 */
export async function stampPolicyChange(trx: Transaction<Database>, correctionId: string, change: 'applied' | 'lifted', at: string): Promise<string> {
  const stamp = change === 'applied' ? 'applied_at' : 'lifted_at';
  const row = await trx
    .selectFrom('corrections')
    .innerJoin('incidents', 'incidents.id', 'corrections.incident_id')
    .select(['corrections.system_id', `corrections.${stamp}`, 'incidents.drill'])
    .where('corrections.id', '=', correctionId)
    .forUpdate('corrections')
    .executeTakeFirst();
  if (!row) return at;
  const stamped = row[stamp];
  if (stamped !== null) return stamped.toISOString();
  // A drill's correction is never in the system's policy: it is stamped, and the version stays.
  if (row.drill) {
    await trx
      .updateTable('corrections')
      .set({ [stamp]: at })
      .where('id', '=', correctionId)
      .execute();
    return at;
  }
  const { version } = await trx
    .insertInto('policy_versions')
    .values({ system_id: row.system_id, version: 1, changed_at: at })
    .onConflict((oc) => oc.column('system_id').doUpdateSet({ version: sql`policy_versions.version + 1`, changed_at: at }))
    .returning('version')
    .executeTakeFirstOrThrow();
  await trx
    .updateTable('corrections')
    .set(change === 'applied' ? { applied_at: at, applied_version: version } : { lifted_at: at, lifted_version: version })
    .where('id', '=', correctionId)
    .execute();
  return at;
}

/** The built-in enforcer's apply and lift: the correction enters or leaves the policy gateways are answered from. */
export async function changePolicy(db: Kysely<Database>, correctionId: string, change: 'applied' | 'lifted'): Promise<void> {
  await db.transaction().execute((trx) => stampPolicyChange(trx, correctionId, change, new Date().toISOString()));
}

/** Every system's current policy version (cheap: one row per system that ever had a correction). */
export async function policyVersions(db: Kysely<Database>): Promise<Map<string, number>> {
  const rows = await db.selectFrom('policy_versions').select(['system_id', 'version']).execute();
  return new Map(rows.map((r) => [r.system_id, r.version]));
}

/** A system's policy and its version, read together so that the list is the version's. */
export async function loadPolicy(db: Kysely<Database>, systemId: string): Promise<PolicyAtVersion> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const row = await trx.selectFrom('policy_versions').select('version').where('system_id', '=', systemId).executeTakeFirst();
      return { systemId, version: row?.version ?? 0, corrections: await activeCorrections(trx, systemId) };
    });
}

/** What holds a system's policy, and the version each holds: the API instances answering decisions, and gateways. */
export interface EnforcementStatus {
  systemId: string;
  version: number;
  instances: { instanceId: string; version: number; heartbeatAt: string }[];
  points: { pointId: string; kind: EnforcementPointKind; owner: string; version: number; decisions: number; firstSeenAt: string; lastSeenAt: string }[];
}

/** Instances that have not reported within this long are gone (crashed or stopped): nothing waits on them. */
export const INSTANCE_SILENCE_MS = 3_000;
/** Gateways not heard from within this long are idle: shown, but not waited on. */
export const POINT_IDLE_MS = 10 * 60_000;

export async function enforcementStatus(db: Kysely<Database>, systemId: string): Promise<EnforcementStatus> {
  const [versionRow, instances, points] = await Promise.all([
    db.selectFrom('policy_versions').select('version').where('system_id', '=', systemId).executeTakeFirst(),
    db
      .selectFrom('decision_instances')
      .selectAll()
      .where('heartbeat_at', '>', sql<Date>`now() - ${`${INSTANCE_SILENCE_MS} milliseconds`}::interval`)
      .orderBy('instance_id')
      .execute(),
    db
      .selectFrom('enforcement_points')
      .selectAll()
      .where('system_id', '=', systemId)
      .where('last_seen_at', '>', sql<Date>`now() - ${`${POINT_IDLE_MS} milliseconds`}::interval`)
      .orderBy('point_id')
      .execute(),
  ]);
  return {
    systemId,
    version: versionRow?.version ?? 0,
    // An instance that has not been asked about the system holds nothing to lag with: it loads the current policy when asked.
    instances: instances
      .filter((i) => i.versions[systemId] !== undefined)
      .map((i) => ({ instanceId: i.instance_id, version: i.versions[systemId]!, heartbeatAt: i.heartbeat_at.toISOString() })),
    points: points.map((p) => ({
      pointId: p.point_id,
      kind: p.kind,
      owner: p.owner,
      version: p.policy_version,
      decisions: p.decisions,
      firstSeenAt: p.first_seen_at.toISOString(),
      lastSeenAt: p.last_seen_at.toISOString(),
    })),
  };
}

/**
 * Who still answers from a policy older than `version`: API instances (which answer every asking
 * gateway) and gateways that hold the policy themselves (`policy` readers). Gateways that ask per
 * request enforce whatever the instance answering them holds.
 */
export function lagging(status: EnforcementStatus, version: number): string[] {
  return [
    ...status.instances.filter((i) => i.version < version).map((i) => `API instance ${i.instanceId} (version ${i.version})`),
    ...status.points.filter((p) => p.kind === 'policy' && p.version < version).map((p) => `policy reader ${p.pointId} (version ${p.version})`),
  ];
}

/**
 * Waits until everything enforcing the system holds the version that applied (or lifted) the
 * correction. Past `withinMs` it is verified anyway, with a `correction.enforcement_lagging` event
 * naming what lagged: a gateway that fell silent must not hold up a shutdown.
 */
export async function awaitEnforcement(
  db: Kysely<Database>,
  correction: { id: string; incidentId: string; systemId: string; kind: string; reason: string },
  expected: 'applied' | 'lifted',
  withinMs: number,
  /** Tells the incident's commander that enforcement lags (once per correction and direction). */
  pageLag?: (page: Parameters<typeof pageCommander>[3]) => Promise<void>,
): Promise<void> {
  const row = await db.selectFrom('corrections').select(['applied_version', 'lifted_version']).where('id', '=', correction.id).executeTakeFirst();
  const version = expected === 'applied' ? row?.applied_version : row?.lifted_version;
  if (version === null || version === undefined) return;
  const deadline = Date.now() + withinMs;
  for (;;) {
    const behind = lagging(await enforcementStatus(db, correction.systemId), version);
    if (behind.length === 0) return;
    if (Date.now() >= deadline) {
      await appendTimelineEvent(db, {
        incidentId: correction.incidentId,
        kind: 'correction.enforcement_lagging',
        actor: 'system:enforcement',
        occurredAt: new Date(),
        data: { correctionId: correction.id, expected, policyVersion: version, afterMs: withinMs, lagging: behind },
        idempotencyKey: `correction:${correction.id}:enforcement_lagging:${expected}`,
      });
      await pageLag?.({
        incidentId: correction.incidentId,
        idempotencyKey: `${correction.id}:enforcement-lagging:${expected}`,
        level: 0,
        attempt: 1,
        reason: 'enforcement-lagging',
        correction: { id: correction.id, kind: correction.kind, reason: correction.reason },
        what: `The ${correction.kind.replace(/_/g, ' ')} is ${expected === 'applied' ? 'in force' : 'lifted'} in Correx's policy (version ${version}), but after ${Math.round(withinMs / 1000)} s these still answer from an older one: ${behind.join('; ')}. Requests they answer may not ${expected === 'applied' ? 'meet the correction yet' : 'be let through yet'}: check them (a stuck API instance, or a gateway that holds the policy and stopped polling).`,
        action: { what: 'See where the correction is enforced', path: `/console/incidents/${correction.incidentId}#enforcement` },
      });
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
