import { z } from 'zod';
import { ClockOffsetText } from '../duration.js';
import { publicHolidayCalendars } from './calendar.js';
import { incidentClasses } from './classes.js';

export { incidentClasses, publicHolidayCalendars };
export const IncidentClass = z.enum(incidentClasses, { error: `must be one of ${incidentClasses.join(', ')}` });
export type IncidentClass = z.infer<typeof IncidentClass>;

export const valueChainRoles = ['provider', 'deployer'] as const;
export const ValueChainRole = z.enum(valueChainRoles);
export const riskCategories = ['gpai-systemic-risk', 'high-risk', 'limited-risk', 'minimal-risk'] as const;
export const RiskCategory = z.enum(riskCategories);

/**
 * When a clock starts: a moment the engine records as a timeline event (awareness of the incident,
 * the determination that it qualifies, its classification as major, its resolution), or the
 * submission of an earlier report of the same regime (`submitted:<clockId>`).
 */
export const ClockStart = z
  .string()
  .regex(
    /^(awareness|determination|classification|resolution|submitted:[a-z0-9-]+)$/,
    'must be awareness, determination, classification, resolution or submitted:<clock id>',
  );

export const RegulatoryClock = z.strictObject({
  id: z.string().regex(/^[a-z0-9-]+$/, 'must be lowercase letters, digits and dashes'),
  report: z.enum(['initial', 'intermediate', 'final', 'notification']),
  start: ClockStart,
  deadline: ClockOffsetText,
  /** Shorter deadlines for some incident classes; the shortest matching one applies. */
  sooner: z.array(z.strictObject({ classes: z.array(IncidentClass).min(1), deadline: ClockOffsetText })).optional(),
  /** A second bound: and no later than this deadline after that moment (DORA: 4 h after classification, at most 24 h after awareness). */
  latest: z.strictObject({ start: ClockStart, deadline: ClockOffsetText }).optional(),
  /** Repeats (e.g. every 4 weeks) until the incident is resolved. */
  repeatEvery: ClockOffsetText.optional(),
  /** Only when the incident has one of these classes. */
  onlyFor: z.array(IncidentClass).min(1).optional(),
  /** Whom this report goes to when not the regime's recipient; a runbook then names them in `clockRecipients`. */
  recipient: z.string().min(1).optional(),
});
export type RegulatoryClock = z.infer<typeof RegulatoryClock>;

/** Whether the runtime's time-zone data knows `name`; Intl, not a list of our own, so it follows the tz database Node ships. */
function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * How a regime's regulator counts business days. Weekends, holidays and the end of a day are the
 * regulator's, not UTC's: an 8-K determined on a Friday evening in New York is already Saturday in
 * UTC, and a filing due "within four business days" is due when EDGAR closes, not at midnight.
 * Hours, days and months are elapsed or calendar time and do not depend on it.
 */
export const RegimeCalendar = z.strictObject({
  /** The IANA time zone in which days begin and end (e.g. America/New_York). */
  timeZone: z.string().refine(isTimeZone, 'must be an IANA time zone such as America/New_York or Europe/Brussels'),
  /** Public holidays that are not business days, with their observed-day rules. */
  holidays: z.enum(publicHolidayCalendars, { error: `must be one of ${publicHolidayCalendars.join(', ')}` }).optional(),
  /** When a business day ends there (24-hour HH:MM, e.g. 17:30 for SEC EDGAR); 23:59:59.999 when left out. */
  businessDayEnds: z
    .string()
    .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day as HH:MM (24-hour), such as 17:30')
    .optional(),
});
export type RegimeCalendar = z.infer<typeof RegimeCalendar>;

export const Regime = z.strictObject({
  id: z.string().regex(/^[a-z0-9-]+$/, 'must be lowercase letters, digits and dashes'),
  name: z.string().min(1),
  /** Applies when the system operates in one of these (ISO 3166 codes, subdivisions like US-CA, or EU). */
  jurisdictions: z.array(z.string().min(2)).min(1),
  /** Applies only to systems in one of these sectors, when set. */
  sectors: z.array(z.string().min(1)).optional(),
  valueChainRoles: z.array(ValueChainRole).optional(),
  riskCategories: z.array(RiskCategory).optional(),
  triggerClasses: z.array(IncidentClass).min(1),
  recipient: z.string().min(1),
  clocks: z.array(RegulatoryClock).min(1),
  /** The regulator's calendar for business-day deadlines; without it they skip UTC weekends only. */
  calendar: RegimeCalendar.optional(),
  content: z.array(z.string().min(1)).default([]),
  note: z.string().optional(),
  /** The day its law takes effect (UTC): an incident classified before then starts none of its clocks. Laws move; runbooks override it. */
  inForceFrom: z.iso.date({ message: 'must be a date, YYYY-MM-DD' }).optional(),
  /** An initial report may be sent with fields missing, saying which follow (EU AI Act Art. 73: an initial incomplete report). */
  incompleteInitialAllowed: z.boolean().optional(),
});
export type Regime = z.infer<typeof Regime>;
