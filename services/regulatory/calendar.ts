// Deadline arithmetic for regulator clocks. Pure and deterministic: workflows import it, so nothing on
// these paths may read the wall clock (luxon's DateTime.now(), fromObject() and the holiday library's
// argument-less defaults all do), do I/O or draw random numbers.
import { allForYear } from '@18f/us-federal-holidays';
import { DateTime } from 'luxon';
import type { RegimeCalendar } from './regime.js';

export type { RegimeCalendar };

/** A regulator deadline offset: calendar hours or days (N days = N × 24 h), calendar months, or business days. */
export interface ClockOffset {
  amount: number;
  unit: 'hours' | 'days' | 'months' | 'businessDays';
}

/** `72h`, `15d`, `1 month`, `4 business days`; undefined if malformed or not positive. */
export function parseClockOffset(text: string): ClockOffset | undefined {
  const match = text.trim().match(/^(\d+)\s*(h|hours?|d|days?|months?|business\s+days?)$/i);
  if (!match) return undefined;
  const amount = Number(match[1]);
  const unit = match[2]!.toLowerCase();
  if (amount <= 0) return undefined;
  if (unit.startsWith('business')) return { amount, unit: 'businessDays' };
  if (unit.startsWith('month')) return { amount, unit: 'months' };
  if (unit === 'h' || unit.startsWith('hour')) return { amount, unit: 'hours' };
  return { amount, unit: 'days' };
}

/**
 * Public-holiday calendars a regime may name. A closed list rather than free text: a name the engine
 * cannot count by must fail when the runbook is validated, not silently count no holidays while a
 * clock is running.
 */
export const publicHolidayCalendars = ['us-federal'] as const;
export type PublicHolidayCalendar = (typeof publicHolidayCalendars)[number];

/** Every holiday of a year as observed (weekend holidays moved as the calendar's rules say), ISO dates. */
const observedHolidays: Record<PublicHolidayCalendar, (year: number) => string[]> = {
  // 5 U.S.C. 6103 and Executive Order 11582: Saturday holidays are observed the Friday before, Sunday
  // ones the Monday after. The year is always passed: the library's default is "this year" from the clock.
  'us-federal': (year) => allForYear(year, { shiftSaturdayHolidays: true, shiftSundayHolidays: true }).map((holiday) => holiday.dateString),
};

// Holidays never change for a past or future year, so each year's list is worked out once.
const holidayCache = new Map<string, ReadonlySet<string>>();

/**
 * The observed holidays of `calendar` that fall in `year`, as sorted ISO dates. These include a
 * holiday of the next year observed in this one: New Year's Day on a Saturday is observed on 31 December.
 */
export function publicHolidays(calendar: PublicHolidayCalendar, year: number): string[] {
  return [...holidaysIn(calendar, year)].sort();
}

function holidaysIn(calendar: PublicHolidayCalendar, year: number): ReadonlySet<string> {
  const key = `${calendar}:${year}`;
  let days = holidayCache.get(key);
  if (!days) {
    const prefix = `${String(year).padStart(4, '0')}-`;
    const observed = [...observedHolidays[calendar](year), ...observedHolidays[calendar](year + 1)];
    days = new Set(observed.filter((date) => date.startsWith(prefix)));
    holidayCache.set(key, days);
  }
  return days;
}

/** Whether a local day (a luxon DateTime in the calendar's zone) is a business day of `calendar`. */
function isBusinessDay(day: DateTime, calendar: RegimeCalendar): boolean {
  if (day.weekday === 6 || day.weekday === 7) return false;
  return !calendar.holidays || !holidaysIn(calendar.holidays, day.year).has(day.toISODate()!);
}

const HOUR = 3_600_000;

/**
 * The moment `offset` after `start`.
 *
 * Hours and days are elapsed time (N days = N × 24 h), whatever the calendar. Months keep the day of
 * the month and the UTC time of day, clamped to the month's last day (31 January + 1 month = 28 or
 * 29 February).
 *
 * Business days with a `calendar` are counted as regulators count them: the Nth business day after
 * the day of `start` in the calendar's time zone, skipping Saturdays, Sundays and the calendar's
 * observed public holidays, and the deadline is the end of that day there (`businessDayEnds`, or
 * 23:59:59.999 local). Without a calendar they skip Saturdays and Sundays judged in UTC and keep the
 * time of day (Friday 10:00 + 4 business days = Thursday 10:00), as before regimes had calendars.
 */
export function addOffset(start: Date, offset: ClockOffset, calendar?: RegimeCalendar): Date {
  switch (offset.unit) {
    case 'hours':
      return new Date(start.getTime() + offset.amount * HOUR);
    case 'days':
      return new Date(start.getTime() + offset.amount * 24 * HOUR);
    case 'months': {
      const year = start.getUTCFullYear();
      const month = start.getUTCMonth() + offset.amount;
      const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
      const result = new Date(start.getTime());
      result.setUTCFullYear(year, month, Math.min(start.getUTCDate(), lastDay));
      return result;
    }
    case 'businessDays': {
      if (calendar) return addBusinessDays(start, offset.amount, calendar);
      const result = new Date(start.getTime());
      let left = offset.amount;
      while (left > 0) {
        result.setUTCDate(result.getUTCDate() + 1);
        const day = result.getUTCDay();
        if (day !== 0 && day !== 6) left -= 1;
      }
      return result;
    }
  }
}

function addBusinessDays(start: Date, amount: number, calendar: RegimeCalendar): Date {
  // fromMillis and setZone only convert a given instant; plus() and set() below move along the local
  // calendar, so a day stays a day across a DST change.
  let day = DateTime.fromMillis(start.getTime(), { zone: calendar.timeZone });
  if (!day.isValid) throw new RangeError(`cannot count business days in time zone '${calendar.timeZone}': ${day.invalidExplanation ?? day.invalidReason}`);
  day = day.startOf('day');
  let left = amount;
  while (left > 0) {
    day = day.plus({ days: 1 });
    if (isBusinessDay(day, calendar)) left -= 1;
  }
  const [hour, minute] = calendar.businessDayEnds ? calendar.businessDayEnds.split(':').map(Number) : [23, 59];
  const end = calendar.businessDayEnds ? { second: 0, millisecond: 0 } : { second: 59, millisecond: 999 };
  return new Date(day.set({ hour: hour!, minute: minute!, ...end }).toMillis());
}
