/**
 * Where an incident's escalation stands: still paging level after level, stopped by whoever
 * acknowledged (or by the incident's monitor), or exhausted with nobody acknowledging. Pure (no zod)
 * so that workflows and the CLI share the list.
 */
export const escalationStates = ['paging', 'stopped', 'exhausted'] as const;
export type EscalationState = (typeof escalationStates)[number];
