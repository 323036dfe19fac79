// The workflow types the worker registers. Workflow code imports only @temporalio/workflow and types.
export { correctionWorkflow } from './correction.js';
export { escalationWorkflow } from './escalation.js';
export { incidentWorkflow } from './incident.js';
export { regulatoryClockWorkflow } from './regulatory-clock.js';
export { monitorWorkflow } from './monitor.js';
export { evaluationRunWorkflow } from './evaluation.js';
export { afterActionReviewWorkflow } from './after-action-review.js';
export { drillWorkflow } from './drill.js';
