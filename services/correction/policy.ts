import { z } from 'zod';
import { Instant } from '../instant.js';
import { CorrectionKind, CorrectionScope, correctionOf } from './schema.js';

/** A correction in force on a system: what `GET /v1/policy/{systemId}` lists and `POST /v1/decide` applies. */
export interface ActiveCorrection {
  id: string;
  incidentId: string;
  kind: CorrectionKind;
  scope: CorrectionScope;
  parameters: Record<string, unknown>;
  reason: string;
  appliedAt: string;
}

/** A correction in force as `GET /v1/policy/{systemId}` lists it: its kind with that kind's parameters. */
export const PolicyCorrection = correctionOf({
  id: z.uuid(),
  incidentId: z.uuid(),
  scope: CorrectionScope,
  reason: z.string(),
  appliedAt: Instant.describe('When it took effect'),
});
export type PolicyCorrection = z.infer<typeof PolicyCorrection>;

/** What a gateway asks before forwarding one request to the model. */
export const DecisionRequest = z.strictObject({
  systemId: z.string().min(1),
  userId: z.string().min(1).optional(),
  orgId: z.string().min(1).optional(),
  tier: z.string().min(1).optional(),
  region: z.string().min(1).optional(),
  useCase: z.string().min(1).optional(),
  capability: z.string().min(1).optional(),
});
export type DecisionRequest = z.infer<typeof DecisionRequest>;

export const Decision = z.strictObject({
  decision: z.enum(['allow', 'deny', 'throttle']),
  limit: z
    .strictObject({ requestsPerMinute: z.number().int().positive(), per: z.enum(['user', 'org']) })
    .optional()
    .describe('With throttle: the strictest limit among the rate limits that apply'),
  obligations: z
    .strictObject({ filterProfile: z.string().optional(), modelVersion: z.string().optional() })
    .optional()
    .describe('Conditions on an allowed or throttled request: an output filter profile, the model version to serve'),
  corrections: z
    .array(z.strictObject({ id: z.uuid(), kind: CorrectionKind, reason: z.string() }))
    .describe('The corrections that shaped the answer, with their reasons'),
});
export type Decision = z.infer<typeof Decision>;

/** The decision as `POST /v1/decide` answers it: under which policy version, and for a rate limit, whether this request is within it. */
export const DecisionAnswer = Decision.extend({
  policyVersion: z.number().int().nonnegative().describe("The version of the system's policy the decision was made under"),
  admitted: z.boolean().optional().describe('With throttle: whether this request is within the limit, counted across every API instance'),
  retryAfterSeconds: z.number().int().positive().optional().describe('With throttle and not admitted: when the count starts again'),
  message: z.string().optional().describe('With deny, or throttle not admitted: what to tell the person whose request it is (no internal rationale)'),
});

/** Whether a request falls in a correction's scope: all traffic, or any listed segment it belongs to. */
export function inScope(scope: CorrectionScope, request: DecisionRequest): boolean {
  if ('all' in scope) return true;
  const member = (list: string[] | undefined, value: string | undefined) => list !== undefined && value !== undefined && list.includes(value);
  return (
    member(scope.users, request.userId) ||
    member(scope.orgs, request.orgId) ||
    member(scope.tiers, request.tier) ||
    member(scope.regions, request.region) ||
    member(scope.useCases, request.useCase)
  );
}

/**
 * The answer for one request under every active correction of its system. Deny wins over
 * throttle, throttle over allow; every kind of the toolkit has a say.
 */
export function decide(active: ActiveCorrection[], request: DecisionRequest): Decision {
  const denying: ActiveCorrection[] = [];
  const limiting: ActiveCorrection[] = [];
  const shaping: ActiveCorrection[] = [];
  const obligations: NonNullable<Decision['obligations']> = {};

  for (const correction of active) {
    const p = correction.parameters;
    const applies = inScope(correction.scope, request);
    switch (correction.kind) {
      case 'shutdown':
        if (applies) denying.push(correction);
        break;
      case 'user_restriction':
        // A blocklist denies the listed segments; an allowlist denies everyone outside them.
        if (p.mode === 'allowlist' ? !applies : applies) denying.push(correction);
        break;
      case 'use_case_restriction': {
        const prohibited = (p.prohibitedUseCases as string[] | undefined) ?? [];
        if (applies && request.useCase !== undefined && prohibited.includes(request.useCase)) denying.push(correction);
        break;
      }
      case 'capability_restriction': {
        if (!applies) break;
        const disabled = (p.disabledCapabilities as string[] | undefined) ?? [];
        if (request.capability !== undefined && disabled.includes(request.capability)) {
          denying.push(correction);
        } else if (typeof p.filterProfile === 'string') {
          obligations.filterProfile = p.filterProfile;
          shaping.push(correction);
        }
        break;
      }
      case 'rollback':
        if (applies && typeof p.targetVersion === 'string') {
          obligations.modelVersion = p.targetVersion;
          shaping.push(correction);
        }
        break;
      case 'rate_limit':
        if (applies) limiting.push(correction);
        break;
    }
  }

  const cite = (list: ActiveCorrection[]) => list.map((c) => ({ id: c.id, kind: c.kind, reason: c.reason }));
  if (denying.length > 0) return { decision: 'deny', corrections: cite(denying) };
  const withObligations = Object.keys(obligations).length > 0 ? { obligations } : {};
  const strictest = strictestLimit(active, request);
  const limit = strictest && { requestsPerMinute: strictest.requestsPerMinute, per: strictest.per };
  if (limit) return { decision: 'throttle', limit, ...withObligations, corrections: cite([...limiting, ...shaping]) };
  return { decision: 'allow', ...withObligations, corrections: cite(shaping) };
}

/** The strictest rate-limit correction that applies to a request: the one its requests are counted against. */
export function strictestLimit(
  active: ActiveCorrection[],
  request: DecisionRequest,
): { correction: ActiveCorrection; requestsPerMinute: number; per: 'user' | 'org' } | undefined {
  let strictest: ReturnType<typeof strictestLimit>;
  for (const correction of active) {
    if (correction.kind !== 'rate_limit' || !inScope(correction.scope, request)) continue;
    const requestsPerMinute = Number(correction.parameters.requestsPerMinute);
    if (!strictest || requestsPerMinute < strictest.requestsPerMinute) {
      strictest = { correction, requestsPerMinute, per: correction.parameters.per === 'org' ? 'org' : 'user' };
    }
  }
  return strictest;
}
