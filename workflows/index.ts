// The workflow types the worker registers. Workflow code imports only @temporalio/workflow and types.
export { incidentWorkflow } from './incident.js';
