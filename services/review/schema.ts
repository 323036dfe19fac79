import { z } from 'zod';
import { Instant, InstantInput } from '../instant.js';
import { taskStates } from './task-states.js';

/** Where in the model's lifecycle the failure traces to. */
export const lifecycleStages = [
  'data',
  'pre-training',
  'fine-tuning',
  'alignment-safety-tuning',
  'evaluation',
  'deployment-configuration',
  'use-or-misuse',
] as const;
/** Which actor in the value chain it traces to. */
export const valueChainActors = ['upstream-developer', 'deployer', 'user', 'third-party'] as const;

export const Attribution = z.strictObject({
  stage: z.enum(lifecycleStages, `must be one of ${lifecycleStages.join(', ')}`),
  actor: z.enum(valueChainActors, `must be one of ${valueChainActors.join(', ')}`),
  confidence: z.enum(['low', 'medium', 'high']),
  evidence: z.array(z.strictObject({ description: z.string().trim().min(1).max(2000), url: z.url().optional() })).min(1, 'give at least one piece of evidence'),
});
export type Attribution = z.infer<typeof Attribution>;

const Text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max);

export const CorrectiveAction = z.strictObject({
  title: Text(500),
  ownerRole: z.string().min(1).max(64),
  owner: z.string().min(1).max(64).optional(),
  dueAt: InstantInput,
});
export type CorrectiveAction = z.infer<typeof CorrectiveAction>;

/** The review record: what happened, why, who in the value chain it traces to, and what changes. */
export const ReviewRecord = z.strictObject({
  summary: Text(10_000),
  impact: Text(10_000),
  highlights: z.array(z.strictObject({ seq: z.number().int().min(1).optional(), at: InstantInput.optional(), note: Text(2000) })).default([]),
  rootCause: Text(10_000),
  contributingFactors: z.array(Text(2000)).default([]),
  attribution: z.array(Attribution).min(1, 'attribute the failure to at least one lifecycle stage and value-chain actor'),
  /** Added as follow-up tasks, with owners and due dates, tracked like the runbook's. */
  correctiveActions: z.array(CorrectiveAction).default([]),
  runbookChanges: z.array(Text(2000)).default([]),
});
export type ReviewRecord = z.infer<typeof ReviewRecord>;

export { taskStates };
export type TaskState = (typeof taskStates)[number];

/** The review record as stored, without its corrective actions (those became tasks). */
export const ReviewRecordView = z.strictObject({
  summary: z.string(),
  impact: z.string(),
  highlights: z.array(z.strictObject({ seq: z.number().int().optional(), at: Instant.optional(), note: z.string() })),
  rootCause: z.string(),
  contributingFactors: z.array(z.string()),
  attribution: z.array(Attribution),
  runbookChanges: z.array(z.string()),
  submittedBy: z.string(),
  submittedAt: Instant,
  signedOffBy: z.string().nullable(),
  signedOffAt: Instant.nullable(),
});
export type ReviewRecordView = z.infer<typeof ReviewRecordView>;

/** A follow-up task as the review workflow tracks it. */
export const ReviewTaskSnapshot = z.strictObject({
  key: z.string().describe('The task within its incident: the runbook template id, or `action-<n>` for a corrective action'),
  title: z.string(),
  ownerRole: z.string(),
  owner: z.string().optional(),
  dueAt: Instant,
  origin: z.enum(['template', 'corrective-action']),
  taskId: z.uuid().describe('What to act on: POST /v1/tasks/{id}/done, /reassign, /not-doing'),
  state: z.enum(taskStates),
  reminded: z.boolean(),
  escalated: z.boolean(),
});
export type ReviewTaskSnapshot = z.infer<typeof ReviewTaskSnapshot>;

/** The review workflow's live state (its query, and the answer to a submission or sign-off). */
export const ReviewSnapshot = z.strictObject({
  incidentId: z.uuid(),
  tasks: z.array(ReviewTaskSnapshot),
  review: z
    .strictObject({ submittedBy: z.string(), at: Instant, revision: z.number().int().min(1) })
    .optional()
    .describe('The latest submission; absent until the record is first submitted'),
  signedOff: z.strictObject({ actor: z.string(), role: z.string(), at: Instant }).optional().describe('Absent until signed off, which closes the incident'),
  signOffRoles: z
    .array(z.string())
    .describe("Roles whose holders may sign off: the decision authority at the incident's severity over the kinds of correction it ran (any kind if none)"),
});
export type ReviewSnapshot = z.infer<typeof ReviewSnapshot>;
