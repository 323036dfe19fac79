// The escalation workflow's messages, shared by the workflow and its client. Updates are for human decisions
// that need an answer (validated, and refused with a reason); signals for facts; queries for live state.
import { defineSignal } from '@temporalio/workflow';
import type { EscalationLevelPlan } from '../../services/incident/plan.js';

export const escalationAcknowledgedSignal = defineSignal<[{ actor: string }]>('escalationAcknowledged');

export interface EscalationStart {
  /** Its incident's search attributes are registered: it carries CorrexIncidentId, system and severity (absent before 2026-12-02). */
  indexed?: boolean;
  incidentId: string;
  systemId: string;
  title: string;
  severity: string;
  levels: EscalationLevelPlan[];
  repeat: number;
}
