/**
 * Where an incident's escalation stands: still paging level after level, stopped by whoever
 * acknowledged (or by the incident's monitor), or exhausted with nobody acknowledging. Pure (no zod)
 * so that workflows and the CLI share the list.
 */
export const escalationStates = ['paging', 'stopped', 'exhausted'] as const;
export type EscalationState = (typeof escalationStates)[number];

/** An incident's escalation as its live state carries it (the API's `escalation`, services/incident/schema.ts). */
export interface EscalationProgress {
  state: EscalationState;
  /** Whoever acknowledged, or system:monitor when the alert's source did or it resolved. */
  stoppedBy?: string;
  /** Pages sent by the levels so far (hand-off briefings not counted). */
  pagesSent: number;
}
