import { createIncidentActivities, type IncidentActivityDependencies } from './incident.js';

export type ActivityDependencies = IncidentActivityDependencies;

/** Every activity the worker registers, bound to its dependencies. */
export function createActivities(deps: ActivityDependencies) {
  return {
    ...createIncidentActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
