// The workflow types the worker registers. Workflow code imports only @temporalio/workflow and types.
export { correctionWorkflow } from './correction/workflow.js';
export { escalationWorkflow } from './escalation/workflow.js';
export { incidentWorkflow } from './incident/workflow.js';
export { regulatoryClockWorkflow } from './regulatory/workflow.js';
export { monitorWorkflow } from './monitoring/workflow.js';
export { evaluationRunWorkflow } from './monitoring/evaluation.js';
export { afterActionReviewWorkflow } from './review/workflow.js';
export { drillWorkflow } from './drill/workflow.js';
