import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { sql, type Kysely } from 'kysely';
import { authenticate, type Authentication } from '../access/repository.js';
import { hashToken } from '../access/token.js';
import type { Database } from '../db/schema.js';
import { jsonb } from '../db/jsonb.js';
import type { EnforcementPointKind } from './kinds.js';
import { loadPolicy, policyVersions, type PolicyAtVersion } from './policy-versions.js';
import type { ActiveCorrection } from './policy.js';
import { drillCorrections } from './repository.js';

export interface LivePolicyOptions {
  /** How often the policy versions (and the credentials held) are checked against PostgreSQL. */
  pollMs?: number;
  /** Past this long without a successful check, the policy held is not vouched for: gateways get the runbook's failMode. */
  staleAfterMs?: number;
  /** How often this instance reports the versions it holds even when nothing changed (its heartbeat). */
  heartbeatMs?: number;
}

interface Observed {
  systemId: string;
  pointId: string;
  kind: EnforcementPointKind;
  owner: string;
  version: number;
  decisions: number;
}

/**
 * The policy each API instance answers gateways from, in memory: a gateway asks before every model
 * request, so a decision must not wait for PostgreSQL. Every `pollMs` the instance reads the systems'
 * policy versions (one small query) and reloads any that changed; it reports what it holds
 * (`decision_instances`), which is what verifies a correction. A policy not checked within
 * `staleAfterMs` is stale, and the caller answers as the system's runbook says (`failMode`).
 *
 * Gateway credentials are held the same way: checked once against PostgreSQL, then re-checked with
 * every poll, so a revoked token stops working within the same bound on every instance.
 */
export class LivePolicy {
  readonly instanceId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly held = new Map<string, PolicyAtVersion>();
  /** Corrections of drills under way, by drill incident: for requests marked as that drill's only. */
  private drills = new Map<string, { systemId: string; corrections: ActiveCorrection[] }>();
  private readonly loading = new Map<string, Promise<PolicyAtVersion>>();
  private readonly credentials = new Map<string, { auth: Extract<Authentication, { principal: unknown }>; checkedAt: number }>();
  private readonly observed = new Map<string, Observed>();
  private checkedAt = 0;
  private reportedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly pollMs: number;
  private readonly staleAfterMs: number;
  private readonly heartbeatMs: number;

  constructor(
    private readonly db: Kysely<Database>,
    options: LivePolicyOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 100;
    this.staleAfterMs = options.staleAfterMs ?? 1_000;
    this.heartbeatMs = options.heartbeatMs ?? 1_000;
  }

  start(): void {
    const loop = async () => {
      if (this.closed) return;
      await this.check().catch(() => {
        // PostgreSQL away: the policy held ages until it is stale; the next poll tries again.
      });
      if (!this.closed) this.timer = setTimeout(() => void loop(), this.pollMs).unref();
    };
    void loop();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.flushObserved().catch(() => {});
    // Gone at once, so that no correction waits for this instance to catch up.
    await this.db
      .deleteFrom('decision_instances')
      .where('instance_id', '=', this.instanceId)
      .execute()
      .catch(() => {});
  }

  /**
   * The system's policy as held, or `stale` when this instance cannot vouch for it. A request marked
   * as a running drill's (`drill`: its incident id) also meets that drill's corrections.
   */
  async policy(systemId: string, drill?: string): Promise<PolicyAtVersion | 'stale'> {
    const policy = await this.systemPolicy(systemId);
    const drilled = drill === undefined ? undefined : this.drills.get(drill);
    if (policy === 'stale' || !drilled || drilled.systemId !== systemId) return policy;
    return { ...policy, corrections: [...policy.corrections, ...drilled.corrections] };
  }

  private async systemPolicy(systemId: string): Promise<PolicyAtVersion | 'stale'> {
    const held = this.held.get(systemId);
    if (held) return this.fresh() ? held : 'stale';
    // First ask for this system: one read, then held and kept current by the poll.
    let loading = this.loading.get(systemId);
    if (!loading) {
      loading = loadPolicy(this.db, systemId).finally(() => this.loading.delete(systemId));
      this.loading.set(systemId, loading);
    }
    try {
      const policy = await loading;
      this.held.set(systemId, policy);
      void this.report().catch(() => {});
      return policy;
    } catch {
      return 'stale';
    }
  }

  /** A gateway's credential: from memory while the poll keeps confirming it, from PostgreSQL otherwise. */
  async authenticate(secret: string): Promise<Authentication> {
    const hash = hashToken(secret);
    const held = this.credentials.get(hash);
    if (held && Date.now() - held.checkedAt <= this.staleAfterMs && (!held.auth.principal.expiresAt || held.auth.principal.expiresAt.getTime() > Date.now())) {
      return held.auth;
    }
    let result: Authentication;
    try {
      result = await authenticate(this.db, secret);
    } catch (error) {
      // PostgreSQL away: a gateway known before is still answered (and, its policy being stale, as the
      // runbook's failMode says); nobody could have revoked it meanwhile. An unknown one is not.
      if (held) return held.auth;
      throw error;
    }
    if ('principal' in result) this.credentials.set(hash, { auth: result, checkedAt: Date.now() });
    else this.credentials.delete(hash);
    return result;
  }

  /** Notes that a gateway was answered under a version; written to `enforcement_points` with the next poll. */
  observe(point: Omit<Observed, 'decisions'>): void {
    const key = `${point.systemId}\u0000${point.pointId}`;
    const seen = this.observed.get(key);
    if (seen) {
      seen.decisions += 1;
      seen.version = Math.max(seen.version, point.version);
    } else this.observed.set(key, { ...point, decisions: 1 });
  }

  private fresh(): boolean {
    return Date.now() - this.checkedAt <= this.staleAfterMs;
  }

  /** How long ago the policy held was last confirmed against PostgreSQL. */
  confirmedMsAgo(): number {
    return Date.now() - this.checkedAt;
  }

  private async check(): Promise<void> {
    const started = Date.now();
    // One round trip's time, not three: under load a slow cycle would age the policy toward its bound.
    const [versions, drills] = await Promise.all([policyVersions(this.db), drillCorrections(this.db), this.recheckCredentials(started)]);
    let changed = false;
    await Promise.all(
      [...this.held.entries()]
        .filter(([systemId, policy]) => (versions.get(systemId) ?? 0) !== policy.version)
        .map(async ([systemId]) => {
          this.held.set(systemId, await loadPolicy(this.db, systemId));
          changed = true;
        }),
    );
    const drillKeys = (m: Map<string, unknown>) => [...m.keys()].sort().join(',');
    if (drillKeys(drills) !== drillKeys(this.drills)) changed = true;
    this.drills = drills;
    this.checkedAt = started;
    if (changed || started - this.reportedAt >= this.heartbeatMs) await this.report();
    await this.flushObserved();
  }

  private async recheckCredentials(started: number): Promise<void> {
    if (this.credentials.size === 0) return;
    const ids = [...this.credentials.values()].map((c) => c.auth.principal.tokenId);
    const valid = await this.db
      .selectFrom('api_tokens')
      .select('id')
      .where('id', 'in', ids)
      .where('revoked_at', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', new Date(started))]))
      .execute();
    const stillValid = new Set(valid.map((row) => row.id));
    for (const [hash, held] of this.credentials) {
      if (stillValid.has(held.auth.principal.tokenId)) held.checkedAt = started;
      else this.credentials.delete(hash);
    }
  }

  /** Reports the versions this instance answers from: what `awaitEnforcement` waits for. */
  private async report(): Promise<void> {
    // Drills held are reported as `drill:<incident id>`, so a drill's probe knows when every instance has its corrections.
    const versions = Object.fromEntries([
      ...[...this.held.entries()].map(([systemId, policy]) => [systemId, policy.version]),
      ...[...this.drills.keys()].map((incidentId) => [`drill:${incidentId}`, 1]),
    ]);
    this.reportedAt = Date.now();
    await this.db
      .insertInto('decision_instances')
      .values({ instance_id: this.instanceId, versions: jsonb(versions), heartbeat_at: sql`now()` })
      .onConflict((oc) => oc.column('instance_id').doUpdateSet({ versions: jsonb(versions), heartbeat_at: sql`now()` }))
      .execute();
  }

  private async flushObserved(): Promise<void> {
    if (this.observed.size === 0) return;
    const batch = [...this.observed.values()];
    this.observed.clear();
    await this.db
      .insertInto('enforcement_points')
      .values(
        batch.map((p) => ({
          system_id: p.systemId,
          point_id: p.pointId,
          kind: p.kind,
          owner: p.owner,
          policy_version: p.version,
          decisions: p.decisions,
        })),
      )
      .onConflict((oc) =>
        oc.columns(['system_id', 'point_id']).doUpdateSet({
          kind: sql`excluded.kind`,
          owner: sql`excluded.owner`,
          policy_version: sql`greatest(enforcement_points.policy_version, excluded.policy_version)`,
          decisions: sql`enforcement_points.decisions + excluded.decisions`,
          last_seen_at: sql`now()`,
        }),
      )
      .execute();
  }
}
