import { z } from 'zod';
import { fallbackStates } from '../notification/kinds.js';
import { Instant } from '../instant.js';
import type { LiftProgress } from '../incident/rules.js';
import type { AuthorityRule, Vote } from './authority.js';
import { correctionKinds } from './kinds.js';
import { correctionStates } from './states.js';

export { correctionKinds };
export const CorrectionKind = z.enum(correctionKinds, { error: `must be one of ${correctionKinds.join(', ')}` });
export type CorrectionKind = z.infer<typeof CorrectionKind>;

const ids = z.array(z.string().min(1)).min(1);

/**
 * Text a person writes (a reason, a rationale, evidence): at most `max` characters as sent, then
 * trimmed, and not empty once trimmed. Written so that the document says exactly this: a length in
 * characters (code points, as JSON Schema counts them, where zod's own bound counts UTF-16 units) and
 * a pattern for "not only spaces", which a bare minLength would let through.
 */
export function Prose(max: number | undefined, empty = 'must not be empty') {
  const text = max === undefined ? z.string() : z.string().refine((s) => [...s].length <= max, `must be at most ${max} characters`);
  return text
    .trim()
    .min(1, empty)
    .meta({ pattern: '\\S', ...(max === undefined ? {} : { maxLength: max }) });
}

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
      )
      // What the refinement says, for the document (a JSON body has no undefined members).
      .meta({ minProperties: 1 }),
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
    .refine((p) => p.filterProfile !== undefined || p.disabledCapabilities !== undefined, 'must set filterProfile or disabledCapabilities')
    .meta({ minProperties: 1 }),
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
  reason: Prose(2000),
  breakGlass: z.boolean().optional(),
  customerMessage: Prose(2000)
    .optional()
    .describe(
      "What affected customers are told about this correction, in the deployer's voice; the runbook's message for the kind when left out. The rationale (`reason`) is never sent to customers.",
    ),
});

// What the API answers about corrections. Each is checked against what is sent (services/http/contract.ts).

const CorrectionState = z.enum(correctionStates);

/** One person's vote on a correction, as its workflow counted it. */
export const VoteView = z.strictObject({
  actor: z.string(),
  role: z.string().describe('The approver role this vote counts for'),
  decision: z.enum(['approve', 'reject']),
  rationale: z.string(),
  at: Instant,
});

/** Who may decide on one kind of correction at one severity: the runbook's decision authority, resolved. */
export const AuthorityRuleView = z.strictObject({
  kind: CorrectionKind,
  severity: z.string(),
  approverRoles: z.array(z.string()),
  quorum: z.number().int().describe('Approvals needed, each from a different person holding a different approver role'),
  approvalTimeoutMs: z.number().int(),
  escalateTo: z.array(z.string()).describe('After the timeout, any one holder of these roles may decide alone'),
  breakGlass: z.discriminatedUnion('allowed', [
    z.strictObject({ allowed: z.literal(false) }),
    z.strictObject({ allowed: z.literal(true), ratificationWindowMs: z.number().int() }),
  ]),
});

/** Where a lift stands after a vote: decided (the quorum is met), or the votes still missing and who can give them. */
export const LiftProgressView = z.strictObject({
  correctionId: z.uuid(),
  decided: z.boolean().describe("The lift rule's quorum is met: the correction is coming off. Until then it stays in force"),
  quorum: z
    .number()
    .int()
    .describe('Lift votes needed, each from a different person holding a different role (the lift rule: liftAuthority, else decisionAuthority)'),
  votes: z.array(z.strictObject({ actor: z.string(), role: z.string().describe('The role this vote counts for'), rationale: z.string(), at: Instant })),
  needed: z.number().int().describe('Votes still missing (0 once decided)'),
  roles: z.array(z.string()).describe('Roles whose holders can give a missing vote (empty once decided)'),
  people: z.array(z.string()).describe("The runbook's people who can: holders of those roles who have not voted and did not propose the correction"),
  escalated: z.boolean().describe("The quorum was not met within the rule's approvalTimeout: any one holder of escalateTo may lift alone"),
  escalatesAt: Instant.nullable().describe('When the lift escalates if its quorum is still not met (null once decided or escalated)'),
  escalateTo: z.array(z.string()),
});

// The decision-authority module is pure and zod-free (workflows run it): these keep its types and the views above one shape.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _voteMatches: Same<z.infer<typeof VoteView>, Vote> = true;
const _ruleMatches: Same<z.infer<typeof AuthorityRuleView>, AuthorityRule> = true;
const _liftMatches: Same<z.infer<typeof LiftProgressView>, LiftProgress> = true;

/** Where one downstream consumer of a correction stands: the last notice it was sent, and its fallback. */
export const DownstreamStatus = z.strictObject({
  consumerId: z.string(),
  name: z.string(),
  notice: z.enum(['none', 'in-force', 'lifted']).describe('The last notice sent to the consumer'),
  fallback: z.enum(fallbackStates),
  lastError: z.string().optional().describe('While failing: why the last attempt failed'),
  nextAttemptAt: Instant.nullable().optional().describe('While failing: when it is tried again; null once given up (the incident closed)'),
});
export type DownstreamStatus = z.infer<typeof DownstreamStatus>;

/** A correction workflow's live state (its query, and the answer to a vote). */
export const CorrectionSnapshot = z.strictObject({
  id: z.uuid(),
  kind: CorrectionKind,
  state: CorrectionState.describe('In the answer to a vote that decided it: where it is going (`approved`, `rejected`), not where it was'),
  breakGlass: z.boolean(),
  proposedBy: z.string(),
  rule: AuthorityRuleView,
  escalated: z.boolean().describe('The approval timed out: the escalation authority may now decide alone'),
  votes: z.array(VoteView),
  failures: z.number().int().describe('Enforcement attempts that failed (each surfaced on the timeline and paged)'),
  decideBy: Instant.optional().describe(
    'While a decision waits: when its timer runs out (it then escalates, expires or, for break-glass, is lifted). Runs started before 2026-12-02 do not say',
  ),
  downstream: z.array(DownstreamStatus).optional().describe('Each downstream consumer it reaches (runs started before 2026-12-02 do not say)'),
});
export type CorrectionSnapshot = z.infer<typeof CorrectionSnapshot>;

/** A correction as recorded: its kind with that kind's parameters, and when each step happened (null until it has). */
const recordedCorrection = {
  id: z.uuid(),
  incidentId: z.uuid(),
  systemId: z.string(),
  scope: CorrectionScope,
  reason: z.string(),
  state: CorrectionState,
  breakGlass: z.boolean(),
  proposedBy: z.string(),
  proposedAt: Instant,
  approvedAt: Instant.nullable(),
  rejectedAt: Instant.nullable(),
  appliedAt: Instant.nullable(),
  verifiedAt: Instant.nullable(),
  liftedAt: Instant.nullable(),
};
export const CorrectionView = correctionOf(recordedCorrection);
export type CorrectionView = z.infer<typeof CorrectionView>;

/** A correction as recorded, with its workflow's live state, or why the workflow could not be asked. */
export const CorrectionWithLive = correctionOf({
  ...recordedCorrection,
  live: z.union([
    CorrectionSnapshot,
    z.strictObject({ unavailable: z.string().describe('Why the workflow could not be asked (the recorded fields above still hold)') }),
  ]),
});
export type CorrectionWithLive = z.infer<typeof CorrectionWithLive>;
