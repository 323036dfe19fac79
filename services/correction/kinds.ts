/**
 * The deployment-correction toolkit (design.md), from the narrowest restriction to a full stop. Kept
 * apart from the zod schemas (./schema.ts) so that the CLI's help can name them without loading zod.
 */
export const correctionKinds = ['user_restriction', 'rate_limit', 'capability_restriction', 'use_case_restriction', 'rollback', 'shutdown'] as const;
