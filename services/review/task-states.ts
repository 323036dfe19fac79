/**
 * A follow-up task's states. Kept apart from the zod schemas (./schema.ts) so that the CLI's help can
 * name them without loading zod.
 */
export const taskStates = ['open', 'done', 'not-doing'] as const;
