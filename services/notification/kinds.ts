/**
 * Who Correx writes to, and the states of what it wrote. Pure (no zod, no I/O): workflows name the
 * audience of each notice they send.
 */

/** Whom a notification is for: a regulator, the system's upstream provider, its downstream consumers, the internal list, a task's owner or their manager. */
export const notificationAudiences = ['regulator', 'upstream', 'downstream', 'internal', 'task-owner', 'task-manager'] as const;
export type NotificationAudience = (typeof notificationAudiences)[number];

/** What the runbook's internal list (`notifications.internal.targets`) hears of; all of them unless `events` says otherwise. */
export const internalEvents = ['opened', 'correction-in-force', 'correction-lifted', 'resolved', 'closed'] as const;
export type InternalEvent = (typeof internalEvents)[number];

/**
 * A regulator report on its regime's clock: waiting for the clock to start, drafted, approved by
 * compliance, then sent (late, past its deadline); withdrawn when the regime stops applying.
 */
export const reportStates = ['waiting', 'drafted', 'approved', 'sent', 'sent-late', 'withdrawn'] as const;
export type ReportState = (typeof reportStates)[number];

/** What a notification row records: a report's states once it is drafted (a notice is only drafted, then sent). */
export const notificationStates = ['drafted', 'approved', 'sent', 'sent-late'] as const satisfies readonly ReportState[];
export type NotificationState = (typeof notificationStates)[number];

/**
 * A downstream consumer's fallback, switched on while a correction that affects it is in force.
 * `failing`: every attempt of the latest switch failed so far; it is retried (see `next_attempt_at`).
 */
export const fallbackStates = ['activating', 'active', 'deactivating', 'inactive', 'failing'] as const;
export type FallbackState = (typeof fallbackStates)[number];
