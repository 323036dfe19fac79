// The drill workflow's messages, shared by the workflow and its client. Updates are for human decisions
// that need an answer (validated, and refused with a reason); signals for facts; queries for live state.
import { defineQuery } from '@temporalio/workflow';

export interface DrillStep {
  name: string;
  by: string | undefined;
  startedAt: string;
  ms: number | undefined;
  detail: string | undefined;
}
export interface DrillSnapshot {
  drillId: string;
  systemId: string;
  state: 'running' | 'completed' | 'failed';
  incidentId: string | undefined;
  steps: DrillStep[];
  failure: string | undefined;
}
export const drillStateQuery = defineQuery<DrillSnapshot>('drillState');
