import { createHmac } from 'node:crypto';
import type { CorrectionKind, CorrectionScope } from './schema.js';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { parseDuration } from '../duration.js';
import type { EnforcementPlan } from '../incident/plan.js';
import { awaitEnforcement, changePolicy } from './policy-versions.js';

export interface CorrectionToEnforce {
  id: string;
  incidentId: string;
  systemId: string;
  kind: CorrectionKind;
  scope: CorrectionScope;
  parameters: Record<string, unknown>;
  reason: string;
}

/** How a correction takes effect on a system. Every call is idempotent per correction and action. */
export interface Enforcer {
  adapter: EnforcementPlan['adapter'];
  apply(correction: CorrectionToEnforce): Promise<void>;
  lift(correction: CorrectionToEnforce): Promise<void>;
  /** Reads the system's state back: is the correction in force (`applied`) or not (`lifted`)? */
  verify(correction: CorrectionToEnforce, expected: 'applied' | 'lifted'): Promise<boolean>;
}

export class EnforcementFailure extends Error {
  override readonly name = 'EnforcementFailure';
}

export interface EnforcerDependencies {
  /** Reads a secret by environment variable name (the runbook names the variable, never the secret). */
  secret: (name: string) => string | undefined;
  db: Kysely<Database>;
  /** Pages the incident's commander (the built-in enforcer, when a correction is not held everywhere in time). */
  pageCommander?: Parameters<typeof awaitEnforcement>[4];
}

export function enforcerFor(plan: EnforcementPlan, deps: EnforcerDependencies): Enforcer {
  switch (plan.adapter) {
    case 'policy':
      return policyEnforcer(plan, deps);
    case 'webhook':
      return webhookEnforcer(plan, deps);
    case 'dry-run':
      return { adapter: 'dry-run', apply: async () => {}, lift: async () => {}, verify: async () => true };
  }
}

/**
 * The built-in adapter: applying puts the correction into the system's policy (a new policy version,
 * `applied_at`), lifting takes it out; every API instance answers gateways from that policy in memory.
 * Verified once every API instance and every gateway that holds the policy itself has the version
 * (services/correction/policy-versions.ts), or after `verifyWithin` with a recorded warning.
 */
function policyEnforcer(plan: Extract<EnforcementPlan, { adapter: 'policy' }>, { db, pageCommander }: EnforcerDependencies): Enforcer {
  // Plans recorded before gateways were verified have no verifyWithin.
  const withinMs = parseDuration(plan.verifyWithin ?? '5s') ?? 5_000;
  return {
    adapter: 'policy',
    apply: (c) => changePolicy(db, c.id, 'applied'),
    lift: (c) => changePolicy(db, c.id, 'lifted'),
    async verify(c, expected) {
      // A break-glass apply may be sent beside the proposal, before the correction's row is recorded, so
      // it could not stamp the row: once the row is there, the stamp is written here (first time only).
      const deadline = Date.now() + 3_000;
      for (;;) {
        const row = await db.selectFrom('corrections').select(['applied_version', 'lifted_version']).where('id', '=', c.id).executeTakeFirst();
        if (row) {
          if ((expected === 'applied' ? row.applied_version : row.lifted_version) === null) await changePolicy(db, c.id, expected);
          break;
        }
        if (Date.now() >= deadline) return false;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await awaitEnforcement(db, c, expected, withinMs, pageCommander);
      return true;
    },
  };
}

/**
 * Signature of a webhook body: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, as in
 * Stripe-style webhooks, so a receiver can reject replays and forgeries.
 */
export function signWebhook(secret: string, body: string, timestamp: number): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * The system's own control endpoint: `POST <url>` with `{ action: "apply" | "lift", correction }`,
 * an `Idempotency-Key` header (`<correction id>:<action>`) and `Correx-Signature`; verification is
 * `GET <url>/<correction id>` answering `{ "applied": true | false }`.
 */
function webhookEnforcer(plan: Extract<EnforcementPlan, { adapter: 'webhook' }>, deps: EnforcerDependencies): Enforcer {
  const timeoutMs = 10_000;
  const secret = () => {
    const value = deps.secret(plan.secretEnv);
    if (!value) throw new EnforcementFailure(`the webhook secret environment variable ${plan.secretEnv} is not set`);
    return value;
  };
  const call = async (action: 'apply' | 'lift', c: CorrectionToEnforce) => {
    const body = JSON.stringify({ action, correction: c });
    const response = await fetch(plan.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'idempotency-key': `${c.id}:${action}`,
        'correx-signature': signWebhook(secret(), body, Math.floor(Date.now() / 1000)),
      },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    }).catch((error: unknown) => {
      throw new EnforcementFailure(`${action} ${c.id}: ${plan.url} unreachable: ${(error as Error).message}`);
    });
    if (!response.ok) throw new EnforcementFailure(`${action} ${c.id}: ${plan.url} answered ${response.status}`);
  };
  return {
    adapter: 'webhook',
    apply: (c) => call('apply', c),
    lift: (c) => call('lift', c),
    async verify(c, expected) {
      const url = `${plan.url.replace(/\/$/, '')}/${encodeURIComponent(c.id)}`;
      const response = await fetch(url, {
        headers: { 'correx-signature': signWebhook(secret(), '', Math.floor(Date.now() / 1000)) },
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!response.ok) throw new EnforcementFailure(`verify ${c.id}: ${url} answered ${response.status}`);
      const state = (await response.json()) as { applied?: unknown };
      return expected === 'applied' ? state.applied === true : state.applied === false;
    },
  };
}
