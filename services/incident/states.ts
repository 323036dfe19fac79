/**
 * An incident's states, in lifecycle order. Kept apart from the zod schemas (./schema.ts) so that the
 * CLI's help can name them without loading zod.
 */
export const incidentStates = ['triggered', 'acknowledged', 'mitigating', 'mitigated', 'resolved', 'closed'] as const;
