import { createCorrectionActivities, type CorrectionActivityDependencies } from './correction.js';
import { createDrillActivities, type DrillActivityDependencies } from './drill.js';
import { createEscalationActivities, type EscalationActivityDependencies } from './escalation.js';
import { createIncidentActivities, type IncidentActivityDependencies } from './incident.js';
import { createMonitoringActivities, type MonitoringActivityDependencies } from './monitoring.js';
import { createNotificationActivities, type NotificationActivityDependencies } from './notification.js';
import { createRegulatoryActivities, type RegulatoryActivityDependencies } from './regulatory.js';
import { createReviewActivities, type ReviewActivityDependencies } from './review.js';
import { createScheduleActivities, type ScheduleActivityDependencies } from './schedule.js';

export type ActivityDependencies = IncidentActivityDependencies &
  CorrectionActivityDependencies &
  EscalationActivityDependencies &
  NotificationActivityDependencies &
  RegulatoryActivityDependencies &
  MonitoringActivityDependencies &
  ReviewActivityDependencies &
  DrillActivityDependencies &
  ScheduleActivityDependencies;

/** Every activity the worker registers, bound to its dependencies. */
export function createActivities(deps: ActivityDependencies) {
  return {
    ...createIncidentActivities(deps),
    ...createCorrectionActivities(deps),
    ...createEscalationActivities(deps),
    ...createNotificationActivities(deps),
    ...createRegulatoryActivities(deps),
    ...createMonitoringActivities(deps),
    ...createReviewActivities(deps),
    ...createDrillActivities(deps),
    ...createScheduleActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
