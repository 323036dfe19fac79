import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Principal } from '../access/roles.js';
import type { CorrexApp, RouteDependencies } from '../http/app.js';
import type { EnforcementPlan } from '../incident/plan.js';
import { SystemId } from '../incident/schema.js';
import type { EnforcementPointKind } from './kinds.js';
import type { LivePolicy } from './live-policy.js';
import { decide, strictestLimit, type Decision, type DecisionRequest } from './policy.js';
import type { Admission, RateLimitCounter } from './rate-limit.js';
import { refusalInWords } from './wording.js';

/** One request's fate at a gateway, whatever the gateway's protocol. */
export type GatewayAnswer =
  | { outcome: 'allow'; policyVersion: number; obligations: NonNullable<Decision['obligations']>; decision: Decision; admission?: Admission }
  | { outcome: 'deny'; policyVersion: number; message: string; correctionId: string; decision: Decision }
  | { outcome: 'throttle'; policyVersion: number; message: string; correctionId: string; retryAfterSeconds: number; decision: Decision; admission: Admission }
  /** This instance cannot vouch for the policy it holds: the runbook's failMode says what the gateway does. */
  | { outcome: 'unavailable'; failMode: 'closed' | 'open'; message: string };

export interface GatewayDependencies {
  livePolicy: LivePolicy;
  counter: RateLimitCounter;
  runbooks: RouteDependencies['runbooks'];
}

type PolicyPlan = Extract<EnforcementPlan, { adapter: 'policy' }>;
const defaultHeaders: PolicyPlan['requestHeaders'] = {
  user: 'x-correx-user',
  org: 'x-correx-org',
  tier: 'x-correx-tier',
  region: 'x-correx-region',
  useCase: 'x-correx-use-case',
  capability: 'x-correx-capability',
};

/** The system as the gateway endpoints need it: its name for end users, and how its gateways are to be read. */
async function systemFor(deps: GatewayDependencies, systemId: string) {
  const set = await deps.runbooks.current();
  const runbook = set.runbooks.get(systemId)?.runbook ?? (await deps.runbooks.find(systemId))?.runbook;
  if (!runbook) return undefined;
  const enforcement = runbook.system.enforcement;
  return {
    name: runbook.system.name,
    failMode: enforcement.adapter === 'policy' ? enforcement.failMode : ('closed' as const),
    headers: enforcement.adapter === 'policy' ? enforcement.requestHeaders : defaultHeaders,
  };
}

/**
 * Answers one model request under the system's policy as this instance holds it: deny, throttle once
 * the shared count for the strictest rate limit is spent, or allow with the obligations (filter
 * profile, model version). Every answer is noted against the gateway that asked, with its version.
 */
export async function answerRequest(
  deps: GatewayDependencies,
  request: DecisionRequest,
  point: { kind: EnforcementPointKind; principal: Principal; pointId?: string | undefined },
  system: { name: string; failMode: 'closed' | 'open' },
  /** A drill's probe request: its incident id (`x-correx-drill`), whose corrections it meets too. */
  drill?: string,
): Promise<GatewayAnswer> {
  const policy = await deps.livePolicy.policy(request.systemId, drill);
  if (policy === 'stale') {
    return {
      outcome: 'unavailable',
      failMode: system.failMode,
      message: `${system.name}: Correx cannot confirm its corrections at the moment (last confirmed ${deps.livePolicy.confirmedMsAgo()} ms ago); the request is ${system.failMode === 'closed' ? 'refused' : 'let through'} as its runbook says (failMode ${system.failMode}).`,
    };
  }
  deps.livePolicy.observe({
    systemId: request.systemId,
    pointId: point.pointId ?? `${point.kind}:${point.principal.owner}`,
    kind: point.kind,
    owner: point.principal.owner,
    version: policy.version,
  });
  const decision = decide(policy.corrections, request);
  const policyVersion = policy.version;
  if (decision.decision === 'deny') {
    const first = policy.corrections.find((c) => c.id === decision.corrections[0]!.id)!;
    return { outcome: 'deny', policyVersion, decision, correctionId: first.id, message: refusalInWords(first, request, system.name) };
  }
  const obligations = decision.obligations ?? {};
  if (decision.decision === 'throttle') {
    const limit = strictestLimit(policy.corrections, request)!;
    const admission = await deps.counter.admit(limit, request);
    if (!admission.admitted) {
      const message = `${refusalInWords(limit.correction, request, system.name)} Retry in ${admission.retryAfterSeconds} s.`;
      return {
        outcome: 'throttle',
        policyVersion,
        decision,
        correctionId: limit.correction.id,
        retryAfterSeconds: admission.retryAfterSeconds,
        admission,
        message,
      };
    }
    return { outcome: 'allow', policyVersion, decision, obligations, admission };
  }
  return { outcome: 'allow', policyVersion, decision, obligations };
}

/** Reads a gateway's credential from its own header; with a reply, answers 401 (or 403) problem+json itself when it is refused. */
async function gatewayPrincipal(
  deps: GatewayDependencies,
  request: FastifyRequest,
  reply: FastifyReply | undefined,
  header: string,
): Promise<{ principal: Principal } | { refused: string }> {
  const value = request.headers[header];
  const secret = typeof value === 'string' ? value.replace(/^Bearer\s+/i, '').trim() : '';
  const refuse = (detail: string, status = 401) => {
    void reply
      ?.code(status)
      .type('application/problem+json')
      .send({ type: 'about:blank', title: status === 401 ? 'Unauthenticated' : 'Forbidden', status, detail });
    return { refused: detail };
  };
  if (!secret) return refuse(`send a Correx token with the gateway role in the ${header} header (correx token create --role gateway)`);
  const result = await deps.livePolicy.authenticate(secret);
  if ('refused' in result)
    return refuse({ unknown: 'the token is not known', revoked: 'the token was revoked', expired: 'the token has expired' }[result.refused]);
  if (!result.principal.roles.includes('gateway')) return refuse(`the token of ${result.principal.owner} does not have the gateway role`, 403);
  return { principal: result.principal };
}

const GatewayParams = z.object({ systemId: SystemId });

/**
 * LiteLLM's Generic Guardrail API request, as far as Correx reads it. LiteLLM 1.106 sends who is calling
 * as `user_api_key_*` (the OpenAI `user` field as `user_api_key_end_user_id`) and request headers only
 * when the guardrail lists them in `extra_headers` (others arrive as "[present]").
 */
const LiteLLMGuardrailRequest = z.looseObject({
  model: z.string().nullish(),
  request_data: z
    .looseObject({
      user_api_key_end_user_id: z.string().nullish(),
      user_api_key_user_id: z.string().nullish(),
      user_api_key_org_id: z.string().nullish(),
      user_api_key_team_id: z.string().nullish(),
      metadata: z.record(z.string(), z.unknown()).nullish(),
    })
    .nullish(),
  request_headers: z.record(z.string(), z.unknown()).nullish(),
});

/**
 * The gateway protocols: LiteLLM's Generic Guardrail API and Envoy's HTTP ext_authz. Both are answered
 * from the policy in memory, without the per-token rate limit meant for people and scripts, and are
 * documented in docs/gateways.md rather than in the OpenAPI document (their shapes are the gateways').
 */
export function registerGatewayRoutes(app: CorrexApp, deps: GatewayDependencies): void {
  const hidden = { hide: true } as const;

  app.post('/v1/gateways/litellm/:systemId/beta/litellm_basic_guardrail_api', {
    config: { access: 'public', rateLimit: false },
    schema: { ...hidden, params: GatewayParams },
    handler: async (request) => {
      const { systemId } = request.params;
      // LiteLLM turns any answer but a 200 into a 500 for its caller, whatever its unreachable_fallback:
      // a refused credential or an unknown system is a BLOCKED with the reason instead (fail closed).
      const principal = await gatewayPrincipal(deps, request, undefined, 'x-api-key');
      if ('refused' in principal) return { action: 'BLOCKED', blocked_reason: `Correx refused this gateway: ${principal.refused}` };
      const system = await systemFor(deps, systemId);
      if (!system) return { action: 'BLOCKED', blocked_reason: `Correx knows no system ${systemId}` };
      const parsed = LiteLLMGuardrailRequest.safeParse(request.body ?? {});
      const body = parsed.success ? parsed.data : {};
      const data = 'request_data' in body ? (body.request_data ?? {}) : {};
      const headers = Object.fromEntries(
        Object.entries(('request_headers' in body ? body.request_headers : undefined) ?? {})
          .filter(([, v]) => v !== '[present]')
          .map(([k, v]) => [k.toLowerCase(), v]),
      );
      const metadata = data.metadata ?? {};
      const read = (key: keyof PolicyPlan['requestHeaders'], ...more: unknown[]) => {
        for (const value of [...more, metadata[`correx_${key}`], headers[system.headers[key]]]) {
          if (typeof value === 'string' && value.length > 0) return value;
        }
        return undefined;
      };
      const decisionRequest = requestOf(systemId, read, {
        user: [data.user_api_key_end_user_id],
        org: [data.user_api_key_org_id, data.user_api_key_team_id],
      });
      const answer = await answerRequest(
        deps,
        decisionRequest,
        { kind: 'litellm', principal: principal.principal, pointId: headerText(request, 'x-correx-enforcement-point') },
        system,
        typeof headers['x-correx-drill'] === 'string' ? headers['x-correx-drill'] : undefined,
      );
      // `correx` is for Correx's own LiteLLM guardrail (deploy/litellm/correx_guardrail.py): the status to
      // refuse with, and the obligations to route and label the call by. The generic guardrail ignores it.
      switch (answer.outcome) {
        case 'unavailable': {
          const correx = { outcome: answer.outcome, failMode: answer.failMode };
          return answer.failMode === 'open' ? { action: 'NONE', correx } : { action: 'BLOCKED', blocked_reason: answer.message, correx };
        }
        case 'deny':
          return {
            action: 'BLOCKED',
            blocked_reason: answer.message,
            correx: { outcome: answer.outcome, correction: answer.correctionId, policyVersion: answer.policyVersion },
          };
        case 'throttle':
          return {
            action: 'BLOCKED',
            blocked_reason: answer.message,
            correx: {
              outcome: answer.outcome,
              correction: answer.correctionId,
              policyVersion: answer.policyVersion,
              retryAfterSeconds: answer.retryAfterSeconds,
            },
          };
        case 'allow':
          return { action: 'NONE', correx: { outcome: answer.outcome, policyVersion: answer.policyVersion, ...answer.obligations } };
      }
    },
  });

  // Envoy sends the checked request's method and path after the prefix, with no body: every method, any path.
  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => {
      payload.resume();
      payload.on('end', () => done(null, undefined));
    });
    scope.route({
      method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      url: '/v1/gateways/envoy/:systemId/*',
      config: { access: 'public', rateLimit: false },
      schema: hidden,
      handler: async (request, reply) => {
        const { systemId } = request.params as { systemId: string };
        if (!SystemId.safeParse(systemId).success) return reply.code(404).send({ message: `Correx knows no system ${systemId}` });
        const checked = await gatewayPrincipal(deps, request, reply, 'x-correx-gateway-key');
        if ('refused' in checked) return reply;
        const principal = checked.principal;
        const system = await systemFor(deps, systemId);
        if (!system) return reply.code(404).send({ message: `Correx knows no system ${systemId}` });
        const read = (key: keyof PolicyPlan['requestHeaders']) => headerText(request, system.headers[key]);
        const decisionRequest = requestOf(systemId, read);
        const answer = await answerRequest(
          deps,
          decisionRequest,
          { kind: 'envoy', principal, pointId: headerText(request, 'x-correx-enforcement-point') },
          system,
          headerText(request, 'x-correx-drill'),
        );
        switch (answer.outcome) {
          case 'unavailable':
            if (answer.failMode === 'open') return reply.code(200).send();
            return reply.code(503).header('retry-after', '1').send({ message: answer.message });
          case 'deny':
            return reply
              .code(403)
              .header('x-correx-correction', answer.correctionId)
              .header('x-correx-policy-version', String(answer.policyVersion))
              .send({ message: answer.message, correction: answer.correctionId });
          case 'throttle':
            return reply
              .code(429)
              .header('retry-after', String(answer.retryAfterSeconds))
              .header('x-correx-correction', answer.correctionId)
              .header('x-correx-policy-version', String(answer.policyVersion))
              .send({ message: answer.message, correction: answer.correctionId, retryAfterSeconds: answer.retryAfterSeconds });
          case 'allow':
            reply.header('x-correx-policy-version', String(answer.policyVersion));
            if (answer.obligations.filterProfile) reply.header('x-correx-filter-profile', answer.obligations.filterProfile);
            if (answer.obligations.modelVersion) reply.header('x-correx-model-version', answer.obligations.modelVersion);
            return reply.code(200).send();
        }
      },
    });
  });
}

function headerText(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  const text = Array.isArray(value) ? value[0] : value;
  return text && text.length > 0 ? text : undefined;
}

/** The request as the policy reads it, from how a gateway says who is asking (`first` values win over `read`'s). */
function requestOf(
  systemId: string,
  read: (key: keyof PolicyPlan['requestHeaders'], ...first: unknown[]) => string | undefined,
  first: Partial<Record<keyof PolicyPlan['requestHeaders'], unknown[]>> = {},
): DecisionRequest {
  const fields = { userId: 'user', orgId: 'org', tier: 'tier', region: 'region', useCase: 'useCase', capability: 'capability' } as const;
  const request: DecisionRequest = { systemId };
  for (const [field, key] of Object.entries(fields) as [keyof typeof fields, keyof PolicyPlan['requestHeaders']][]) {
    const value = read(key, ...(first[key] ?? []));
    if (value !== undefined) request[field] = value;
  }
  return request;
}
