import type { Migration } from 'kysely/migration';
import * as initialSchema from './2026-11-22T0000_initial_schema.js';
import * as runbookVersions from './2026-11-22T0100_runbook_versions.js';
import * as correctionSystem from './2026-11-22T0200_correction_system.js';
import * as notificationsReportsFallbacks from './2026-11-22T0300_notifications_reports_fallbacks.js';
import * as signalSuppression from './2026-11-23T0000_signal_suppression.js';
import * as apiTokenScope from './2026-11-23T0100_api_token_scope.js';
import * as afterActionReviews from './2026-11-23T0200_after_action_reviews.js';
import * as consoleSessions from './2026-11-23T0400_console_sessions.js';
import * as incidentStateOrder from './2026-11-23T0500_incident_state_order.js';
import * as idempotencyKeys from './2026-11-23T0600_idempotency_keys.js';
import * as tokenCreator from './2026-12-02T0000_token_creator.js';
import * as fallbackFailures from './2026-12-02T0100_fallback_failures.js';
import * as signalOccurrences from './2026-12-02T0200_signal_occurrences.js';
import * as changeEvents from './2026-12-02T0300_change_events.js';
import * as signalHandOver from './2026-12-02T0400_signal_hand_over.js';
import * as reportEdits from './2026-12-02T0500_report_edits.js';
import * as enforcementPoints from './2026-12-02T0600_enforcement_points.js';
import * as schedules from './2026-12-03T0000_schedules.js';
import * as pageDeliveries from './2026-12-03T0100_page_deliveries.js';
import * as chat from './2026-12-03T0200_chat.js';

/**
 * Every migration, by name; names sort in the order they run. Listed here rather than read from the
 * folder so the set is the same whatever runs the code (tsx, a bundle, a compiled build).
 */
export const migrations: Record<string, Migration> = {
  '2026-11-22T0000_initial_schema': initialSchema,
  '2026-11-22T0100_runbook_versions': runbookVersions,
  '2026-11-22T0200_correction_system': correctionSystem,
  '2026-11-22T0300_notifications_reports_fallbacks': notificationsReportsFallbacks,
  '2026-11-23T0000_signal_suppression': signalSuppression,
  '2026-11-23T0100_api_token_scope': apiTokenScope,
  '2026-11-23T0200_after_action_reviews': afterActionReviews,
  '2026-11-23T0400_console_sessions': consoleSessions,
  '2026-11-23T0500_incident_state_order': incidentStateOrder,
  '2026-11-23T0600_idempotency_keys': idempotencyKeys,
  '2026-12-02T0000_token_creator': tokenCreator,
  '2026-12-02T0100_fallback_failures': fallbackFailures,
  '2026-12-02T0200_signal_occurrences': signalOccurrences,
  '2026-12-02T0300_change_events': changeEvents,
  '2026-12-02T0400_signal_hand_over': signalHandOver,
  '2026-12-02T0500_report_edits': reportEdits,
  '2026-12-02T0600_enforcement_points': enforcementPoints,
  '2026-12-03T0000_schedules': schedules,
  '2026-12-03T0100_page_deliveries': pageDeliveries,
  '2026-12-03T0200_chat': chat,
};
