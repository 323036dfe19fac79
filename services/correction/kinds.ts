/**
 * The deployment-correction toolkit (design.md), from the narrowest restriction to a full stop. Kept
 * apart from the zod schemas (./schema.ts) so that the CLI's help can name them without loading zod.
 */
export const correctionKinds = ['user_restriction', 'rate_limit', 'capability_restriction', 'use_case_restriction', 'rollback', 'shutdown'] as const;

/**
 * Where a correction is enforced: a gateway asking before each request (Envoy's ext_authz, LiteLLM's
 * guardrail, the native decide endpoint), or one that reads the whole policy and holds it (`policy`).
 */
export const enforcementPointKinds = ['envoy', 'litellm', 'decide', 'policy'] as const;
export type EnforcementPointKind = (typeof enforcementPointKinds)[number];
