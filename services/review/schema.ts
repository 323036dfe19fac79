import { z } from 'zod';
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
  dueAt: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 time with offset' }),
});
export type CorrectiveAction = z.infer<typeof CorrectiveAction>;

/** The review record: what happened, why, who in the value chain it traces to, and what changes. */
export const ReviewRecord = z.strictObject({
  summary: Text(10_000),
  impact: Text(10_000),
  highlights: z
    .array(z.strictObject({ seq: z.number().int().min(1).optional(), at: z.iso.datetime({ offset: true }).optional(), note: Text(2000) }))
    .default([]),
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
