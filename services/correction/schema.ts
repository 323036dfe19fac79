import { z } from 'zod';
import { correctionKinds } from './kinds.js';

export { correctionKinds };
export const CorrectionKind = z.enum(correctionKinds, { error: `must be one of ${correctionKinds.join(', ')}` });
export type CorrectionKind = z.infer<typeof CorrectionKind>;

const ids = z.array(z.string().min(1)).min(1);

/** Which traffic a correction applies to: everything, or the union of the listed segments. */
export const CorrectionScope = z.union(
  [
    z.strictObject({ all: z.literal(true) }),
    z
      .strictObject({
        users: ids.optional(),
        orgs: ids.optional(),
        tiers: ids.optional(),
        regions: ids.optional(),
        useCases: ids.optional(),
      })
      .refine(
        (s) => Object.values(s).some((v) => v !== undefined),
        'must name at least one segment (users, orgs, tiers, regions, useCases) or be { all: true }',
      ),
  ],
  { error: 'must be { all: true } or name segments: users, orgs, tiers, regions, useCases' },
);
export type CorrectionScope = z.infer<typeof CorrectionScope>;

/** Parameters per kind: what the enforcer needs to apply it. */
export const correctionParameters = {
  user_restriction: z.strictObject({ mode: z.enum(['blocklist', 'allowlist']) }),
  rate_limit: z.strictObject({
    requestsPerMinute: z.number().int().positive(),
    per: z.enum(['user', 'org']).default('user'),
  }),
  capability_restriction: z
    .strictObject({
      filterProfile: z.string().min(1).optional(),
      disabledCapabilities: z.array(z.string().min(1)).min(1).optional(),
    })
    .refine((p) => p.filterProfile !== undefined || p.disabledCapabilities !== undefined, 'must set filterProfile or disabledCapabilities'),
  use_case_restriction: z.strictObject({ prohibitedUseCases: z.array(z.string().min(1)).min(1) }),
  rollback: z.strictObject({ targetVersion: z.string().min(1) }),
  shutdown: z.strictObject({}),
} satisfies Record<CorrectionKind, z.ZodType>;

/**
 * A correction of any kind with its kind-specific parameters, plus the fields `extra` adds (a
 * playbook entry adds scope and reason; a proposal adds who proposed it).
 */
export function correctionOf<Extra extends z.ZodRawShape>(extra: Extra) {
  const variant = <K extends CorrectionKind>(kind: K) =>
    z.strictObject({
      kind: z.literal(kind),
      ...(kind === 'shutdown' ? { parameters: correctionParameters.shutdown.default({}) } : { parameters: correctionParameters[kind] }),
      ...extra,
    });
  return z.discriminatedUnion(
    'kind',
    [
      variant('user_restriction'),
      variant('rate_limit'),
      variant('capability_restriction'),
      variant('use_case_restriction'),
      variant('rollback'),
      variant('shutdown'),
    ],
    { error: `kind must be one of ${correctionKinds.join(', ')}` },
  );
}

/** A correction as proposed: what is recorded, whatever happens to it next. */
export interface ProposedCorrection {
  id: string;
  incidentId: string;
  systemId: string;
  severity: string;
  kind: CorrectionKind;
  scope: CorrectionScope;
  parameters: Record<string, unknown>;
  reason: string;
  breakGlass: boolean;
  proposedBy: string;
  proposedAt: string;
}

/** What a person proposes: a toolkit kind with valid parameters, a scope and a reason. */
export const CorrectionProposalInput = correctionOf({
  scope: CorrectionScope,
  reason: z.string().trim().min(1, 'must not be empty').max(2000),
  breakGlass: z.boolean().optional(),
});
