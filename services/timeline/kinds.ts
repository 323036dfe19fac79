/**
 * Every kind of event Correx records on an incident's timeline. Pure (no zod, no I/O): workflows pass
 * these to activities, and typing those parameters with this union lets the compiler check them.
 * Exports, audits and dashboards read these names, so one is renamed only with a migration of the
 * events already recorded (they are hash-chained and never rewritten).
 */
export const timelineEventKinds = [
  'incident.opened',
  // recordIncidentTransition appends `incident.<state>` for each state it moves the incident to.
  'incident.triggered',
  'incident.acknowledged',
  'incident.mitigating',
  'incident.mitigated',
  'incident.resolved',
  'incident.closed',
  'incident.transition_superseded',
  'incident.reopened',
  'incident.classified',
  'incident.awareness_set',
  'incident.restoration_recorded',
  'signal.suppressed',
  // Another alert joined the incident (a repeat or re-fire of one already firing does not), and one resolved
  // at its sender; `firing` and `remaining` say how many of its alerts still fire.
  'alert.joined',
  'alert.resolved',
  // Every alert resolved while the runbook keeps the incident open: paging stopped.
  'incident.alerts_resolved',
  // A change to the system its sender reported (PagerDuty's Change Events API): context, never an alert.
  'change.recorded',
  'page.sent',
  'escalation.exhausted',
  'correction.proposed',
  'correction.approval_given',
  'correction.rejection_given',
  'correction.escalated',
  'correction.approved',
  'correction.rejected',
  'correction.expired',
  'correction.applied',
  'correction.verified',
  // Verified although an API instance or a policy-reading gateway still held an older policy after the bound.
  'correction.enforcement_lagging',
  'correction.ratified',
  'correction.ratification_rejected',
  'correction.ratification_missed',
  // Each vote to lift a correction, and the lift's escalation when its quorum was not met in time.
  'correction.lift_vote_given',
  'correction.lift_escalated',
  'correction.lift_decided',
  'correction.lifted',
  'notice.sent',
  'fallback.activated',
  'fallback.deactivated',
  'fallback.failed',
  'fallback.abandoned',
  'regulatory.report_drafted',
  // Compliance changed or completed fields of a drafted report (each edit, with the values given).
  'regulatory.report_edited',
  'regulatory.report_approved',
  'regulatory.report_submitted',
  'regulatory.deadline_changed',
  'regulatory.report_at_risk',
  'regulatory.deadline_missed',
  'regulatory.clock_withdrawn',
  'regulatory.report_withdrawn',
  'regulatory.not_in_force',
  'regulatory.submission_declared',
  'task.created',
  'task.completed',
  'task.reassigned',
  'task.dropped',
  'task.reminded',
  'task.overdue_escalated',
  'review.submitted',
  'review.signed_off',
  'timeline.exported',
] as const;

/**
 * An enforcement step of a correction that failed and is being retried: `correction.apply_failed`,
 * `correction.lift_failed`, `correction.fallback-activate-<consumer id>_failed`… One per step, named
 * after it, so it cannot be a closed list.
 */
export type EnforcementFailureKind = `correction.${string}_failed`;

export type TimelineEventKind = (typeof timelineEventKinds)[number] | EnforcementFailureKind;
