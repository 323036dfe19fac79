// The drill workflow's messages, shared by the workflow and its client. Updates are for human decisions
// that need an answer (validated, and refused with a reason); signals for facts; queries for live state.
import { defineQuery } from '@temporalio/workflow';
import type { DrillSnapshot } from '../../services/drill/schema.js';

export type { DrillSnapshot };
export const drillStateQuery = defineQuery<DrillSnapshot>('drillState');
