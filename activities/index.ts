import { createCorrectionActivities, type CorrectionActivityDependencies } from './correction.js';
import { createEscalationActivities, type EscalationActivityDependencies } from './escalation.js';
import { createIncidentActivities, type IncidentActivityDependencies } from './incident.js';

export type ActivityDependencies = IncidentActivityDependencies & CorrectionActivityDependencies & EscalationActivityDependencies;

/** Every activity the worker registers, bound to its dependencies. */
export function createActivities(deps: ActivityDependencies) {
  return {
    ...createIncidentActivities(deps),
    ...createCorrectionActivities(deps),
    ...createEscalationActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
