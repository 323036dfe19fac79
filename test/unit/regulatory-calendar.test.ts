import { describe, expect, it, vi } from 'vitest';
import { addOffset, publicHolidays, type ClockOffset } from '../../services/regulatory/calendar.js';
import { regimesById } from '../../services/regulatory/catalogue.js';
import { Regime, RegimeCalendar } from '../../services/regulatory/regime.js';
import { prng } from '../support/prng.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const sec: RegimeCalendar = { timeZone: 'America/New_York', holidays: 'us-federal', businessDayEnds: '17:30' };
const at = (iso: string) => new Date(iso);
const businessDays = (amount: number): ClockOffset => ({ amount, unit: 'businessDays' });

// OPM's published federal holidays (observed dates), written out by hand: the oracle for the library.
const opmHolidays: Record<number, string[]> = {
  2025: ['01-01', '01-20', '02-17', '05-26', '06-19', '07-04', '09-01', '10-13', '11-11', '11-27', '12-25'],
  2026: ['01-01', '01-19', '02-16', '05-25', '06-19', '07-03', '09-07', '10-12', '11-11', '11-26', '12-25'],
  // 31 December 2027 is New Year's Day 2028 (a Saturday), observed the Friday before.
  2027: ['01-01', '01-18', '02-15', '05-31', '06-18', '07-05', '09-06', '10-11', '11-11', '11-25', '12-24', '12-31'],
  2028: ['01-17', '02-21', '05-29', '06-19', '07-04', '09-04', '10-09', '11-10', '11-23', '12-25'],
  2029: ['01-01', '01-15', '02-19', '05-28', '06-19', '07-04', '09-03', '10-08', '11-12', '11-22', '12-25'],
  2030: ['01-01', '01-21', '02-18', '05-27', '06-19', '07-04', '09-02', '10-14', '11-11', '11-28', '12-25'],
  2031: ['01-01'],
};
const opmDates = new Set(Object.entries(opmHolidays).flatMap(([year, days]) => days.map((day) => `${year}-${day}`)));

/** Local date and time of an instant in a zone, through Intl rather than luxon, so the tests do not check luxon against itself. */
function local(instant: Date, timeZone: string): { date: string; time: string; weekday: string } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      fractionalSecondDigits: 3,
      weekday: 'short',
    })
      .formatToParts(instant)
      .map((part) => [part.type, part.value]),
  );
  return {
    date: `${parts.year}-${parts.month}-${parts.day}`,
    time: `${parts.hour}:${parts.minute}:${parts.second}.${parts.fractionalSecond}`,
    weekday: parts.weekday!,
  };
}

/** The Nth federal business day after a local date, walking plain dates against the OPM table. */
function oracleBusinessDay(localDate: string, amount: number): string {
  let day = Date.parse(`${localDate}T00:00:00Z`);
  let left = amount;
  while (left > 0) {
    day += DAY;
    const date = new Date(day);
    const iso = date.toISOString().slice(0, 10);
    if (date.getUTCDay() !== 0 && date.getUTCDay() !== 6 && !opmDates.has(iso)) left -= 1;
  }
  return new Date(day).toISOString().slice(0, 10);
}

describe('SEC business days (America/New_York, US federal holidays, EDGAR closes at 17:30)', () => {
  it.each([
    // [case, determination, business days, deadline]
    ['Friday determination → Thursday 17:30 New York', '2026-07-10T14:00:00Z', 4, '2026-07-16T21:30:00.000Z'],
    ['Friday 22:30 in New York, already Saturday in UTC, still counts from Friday', '2026-07-11T02:30:00Z', 4, '2026-07-16T21:30:00.000Z'],
    ['Monday 00:30 UTC is still Sunday in New York: counting starts on Monday', '2026-07-13T00:30:00Z', 4, '2026-07-16T21:30:00.000Z'],
    ['Saturday determination: Monday is the first business day', '2026-07-11T15:00:00Z', 4, '2026-07-16T21:30:00.000Z'],
    ['Sunday determination', '2026-07-12T15:00:00Z', 1, '2026-07-13T21:30:00.000Z'],
    ['a determination after 17:30 still counts from its own day', '2026-07-13T23:00:00Z', 1, '2026-07-14T21:30:00.000Z'],
    ['Independence Day on a Saturday is observed Friday 3 July 2026', '2026-06-30T12:00:00Z', 4, '2026-07-07T21:30:00.000Z'],
    ['determined on the observed holiday itself', '2026-07-03T12:00:00Z', 1, '2026-07-06T21:30:00.000Z'],
    ['Independence Day on a Sunday is observed Monday 5 July 2027', '2027-06-30T12:00:00Z', 4, '2027-07-07T21:30:00.000Z'],
    ['Juneteenth on a Saturday is observed Friday 18 June 2027', '2027-06-17T12:00:00Z', 1, '2027-06-21T21:30:00.000Z'],
    ['Thanksgiving week 2026: Thursday 26 November is off, Friday is not', '2026-11-24T15:00:00Z', 4, '2026-12-01T22:30:00.000Z'],
    ['Christmas 2026 (a Friday) across the year end', '2026-12-24T15:00:00Z', 4, '2026-12-31T22:30:00.000Z'],
    ['New Year 2027 (a Friday)', '2026-12-30T15:00:00Z', 2, '2027-01-04T22:30:00.000Z'],
    ['Christmas 2027 on a Saturday is observed Friday 24 December', '2027-12-22T15:00:00Z', 2, '2027-12-27T22:30:00.000Z'],
    ['New Year 2028 on a Saturday is observed Friday 31 December 2027', '2027-12-29T15:00:00Z', 2, '2028-01-03T22:30:00.000Z'],
    ['MLK Day 2026 and a long weekend', '2026-01-16T15:00:00Z', 1, '2026-01-20T22:30:00.000Z'],
    ['across the spring DST change (8 March 2026): 17:30 EDT is 21:30Z', '2026-03-06T15:00:00Z', 4, '2026-03-12T21:30:00.000Z'],
    ['Saturday 23:30 EST, the night the clocks go forward', '2026-03-08T04:30:00Z', 1, '2026-03-09T21:30:00.000Z'],
    ['before the spring change, the deadline still in winter time: 22:30Z', '2026-03-02T15:00:00Z', 4, '2026-03-06T22:30:00.000Z'],
    ['across the autumn DST change (1 November 2026): 17:30 EST is 22:30Z', '2026-10-29T15:00:00Z', 4, '2026-11-04T22:30:00.000Z'],
    ['Saturday 23:00 EDT, the night the clocks go back', '2026-11-01T03:00:00Z', 1, '2026-11-02T22:30:00.000Z'],
    ['Veterans Day 2028 on a Saturday is observed Friday 10 November', '2028-11-09T15:00:00Z', 1, '2028-11-13T22:30:00.000Z'],
  ])('%s', (_case, start, amount, deadline) => {
    expect(addOffset(at(start), businessDays(amount), sec).toISOString()).toBe(deadline);
  });

  it('is the calendar of the built-in us-sec-8k regime, and only of it', () => {
    expect(regimesById.get('us-sec-8k')?.calendar).toEqual(sec);
    expect([...regimesById.values()].filter((regime) => regime.calendar).map((regime) => regime.id)).toEqual(['us-sec-8k']);
  });
});

describe('business days in other calendars', () => {
  it.each([
    // [case, calendar, start, business days, deadline]
    ['no holidays: the observed Independence Day is a business day', { timeZone: 'America/New_York' }, '2026-06-30T12:00:00Z', 4, '2026-07-07T03:59:59.999Z'],
    [
      'no end given: the deadline is the last millisecond of the local day',
      { timeZone: 'Europe/Berlin' },
      '2026-07-10T08:00:00Z',
      1,
      '2026-07-13T21:59:59.999Z',
    ],
    ['Friday 20:00 UTC is Saturday in Tokyo', { timeZone: 'Asia/Tokyo' }, '2026-07-10T20:00:00Z', 1, '2026-07-13T14:59:59.999Z'],
    [
      'a zone behind UTC: Monday 02:00 UTC is Sunday in Los Angeles',
      { timeZone: 'America/Los_Angeles' },
      '2026-07-13T02:00:00Z',
      1,
      '2026-07-14T06:59:59.999Z',
    ],
    ['end of day across the European spring change (29 March 2026)', { timeZone: 'Europe/Berlin' }, '2026-03-27T12:00:00Z', 1, '2026-03-30T21:59:59.999Z'],
    [
      'a zone whose clocks go forward at midnight (Santiago, 6 September 2026)',
      { timeZone: 'America/Santiago' },
      '2026-09-05T16:00:00Z',
      1,
      '2026-09-08T02:59:59.999Z',
    ],
    [
      'an end of day in a zone behind UTC',
      { timeZone: 'America/Chicago', holidays: 'us-federal', businessDayEnds: '16:00' },
      '2026-12-31T23:30:00Z',
      1,
      '2027-01-04T22:00:00.000Z',
    ],
  ] as const)('%s', (_case, calendar, start, amount, deadline) => {
    expect(addOffset(at(start), businessDays(amount), calendar).toISOString()).toBe(deadline);
  });

  it.each([
    // Without a calendar: UTC weekends only, the time of day kept (as before regimes had calendars).
    ['2026-11-26T10:00:00Z', 4, '2026-12-02T10:00:00.000Z'],
    ['2026-11-28T09:00:00Z', 1, '2026-11-30T09:00:00.000Z'],
    ['2026-07-02T12:00:00Z', 1, '2026-07-03T12:00:00.000Z'],
    ['2026-07-10T23:30:00Z', 4, '2026-07-16T23:30:00.000Z'],
    ['2026-12-24T15:00:00Z', 4, '2026-12-30T15:00:00.000Z'],
  ])('without a calendar, %s + %i business days = %s', (start, amount, deadline) => {
    expect(addOffset(at(start), businessDays(amount)).toISOString()).toBe(deadline);
  });

  it('refuses a zone it cannot count in', () => {
    expect(() => addOffset(at('2026-07-10T12:00:00Z'), businessDays(1), { timeZone: 'Mars/Olympus_Mons' })).toThrow(/Mars\/Olympus_Mons/);
  });
});

describe('calendar hours, days and months do not depend on the calendar', () => {
  it.each([
    ['2026-11-22T23:00:00Z', 72, '2026-11-25T23:00:00.000Z'],
    ['2026-03-07T12:00:00Z', 24, '2026-03-08T12:00:00.000Z'],
    ['2026-03-08T06:30:00Z', 1, '2026-03-08T07:30:00.000Z'],
    ['2026-10-31T12:00:00Z', 48, '2026-11-02T12:00:00.000Z'],
    ['2026-12-31T23:00:00Z', 4, '2027-01-01T03:00:00.000Z'],
  ])('%s + %i hours = %s', (start, amount, deadline) => {
    for (const calendar of [undefined, sec]) expect(addOffset(at(start), { amount, unit: 'hours' }, calendar).toISOString()).toBe(deadline);
  });

  it.each([
    // A day is 24 hours even when New York's clocks change in between.
    ['2026-03-07T12:00:00Z', 2, '2026-03-09T12:00:00.000Z'],
    ['2026-10-31T12:00:00Z', 2, '2026-11-02T12:00:00.000Z'],
    ['2026-03-28T12:00:00Z', 2, '2026-03-30T12:00:00.000Z'],
    ['2026-07-03T12:00:00Z', 15, '2026-07-18T12:00:00.000Z'],
    ['2028-02-28T12:00:00Z', 2, '2028-03-01T12:00:00.000Z'],
  ])('%s + %i days = %s', (start, amount, deadline) => {
    for (const calendar of [undefined, sec]) expect(addOffset(at(start), { amount, unit: 'days' }, calendar).toISOString()).toBe(deadline);
  });

  it.each([
    ['2028-01-31T08:00:00Z', 1, '2028-02-29T08:00:00.000Z'],
    ['2027-01-31T08:00:00Z', 1, '2027-02-28T08:00:00.000Z'],
    ['2026-12-15T08:00:00Z', 1, '2027-01-15T08:00:00.000Z'],
    ['2026-03-31T22:00:00Z', 1, '2026-04-30T22:00:00.000Z'],
    ['2028-02-29T08:00:00Z', 12, '2029-02-28T08:00:00.000Z'],
    ['2026-08-31T08:00:00Z', 6, '2027-02-28T08:00:00.000Z'],
    ['2026-10-15T12:00:00Z', 1, '2026-11-15T12:00:00.000Z'],
  ])('%s + %i months = %s', (start, amount, deadline) => {
    for (const calendar of [undefined, sec]) expect(addOffset(at(start), { amount, unit: 'months' }, calendar).toISOString()).toBe(deadline);
  });
});

describe('US federal holidays', () => {
  it.each(
    Object.keys(opmHolidays)
      .map(Number)
      .filter((year) => year <= 2030),
  )('%i: the observed dates OPM publishes', (year) => {
    expect(publicHolidays('us-federal', year)).toEqual(opmHolidays[year]!.map((day) => `${year}-${day}`));
  });

  it('do not depend on the time zone of the process that computes them', async () => {
    const original = process.env.TZ;
    try {
      for (const timeZone of ['Pacific/Kiritimati', 'Pacific/Pago_Pago', 'America/Santiago', 'Asia/Kolkata', 'UTC']) {
        process.env.TZ = timeZone;
        vi.resetModules();
        const calendar = await import('../../services/regulatory/calendar.js');
        for (const year of [2025, 2026, 2027, 2028, 2029, 2030])
          expect(calendar.publicHolidays('us-federal', year), `${timeZone} ${year}`).toEqual(publicHolidays('us-federal', year));
        expect(calendar.addOffset(at('2026-07-11T02:30:00Z'), businessDays(4), sec).toISOString()).toBe('2026-07-16T21:30:00.000Z');
      }
    } finally {
      if (original === undefined) delete process.env.TZ;
      else process.env.TZ = original;
      vi.resetModules();
    }
  });
});

describe('properties over random starts, 2025–2030', () => {
  const random = prng(0x5ec8e);
  const from = Date.parse('2025-01-01T00:00:00Z');
  const to = Date.parse('2030-12-01T00:00:00Z');
  const starts = Array.from({ length: 3000 }, () => new Date(from + Math.floor(random() * (to - from))));
  const amounts = starts.map(() => 1 + Math.floor(random() * 10));

  it('SEC deadlines: after the start, within N × 7/5 + 5 days, the Nth business day at 17:30 New York', () => {
    starts.forEach((start, i) => {
      const amount = amounts[i]!;
      const deadline = addOffset(start, businessDays(amount), sec);
      const context = `${start.toISOString()} + ${amount} business days = ${deadline.toISOString()}`;
      expect(deadline.getTime(), context).toBeGreaterThan(start.getTime());
      expect(deadline.getTime() - start.getTime(), context).toBeLessThanOrEqual(((amount * 7) / 5 + 5) * DAY);
      const end = local(deadline, sec.timeZone);
      expect(['Sat', 'Sun'], context).not.toContain(end.weekday);
      expect(opmDates.has(end.date), context).toBe(false);
      expect(end.time, context).toBe('17:30:00.000');
      expect(end.date, context).toBe(oracleBusinessDay(local(start, sec.timeZone).date, amount));
    });
  });

  it('without an end of day, a deadline is the last millisecond of a local business day', () => {
    const calendar: RegimeCalendar = { timeZone: 'Europe/London', holidays: 'us-federal' };
    starts.slice(0, 1000).forEach((start, i) => {
      const deadline = addOffset(start, businessDays(amounts[i]!), calendar);
      const context = `${start.toISOString()} + ${amounts[i]} business days = ${deadline.toISOString()}`;
      expect(local(deadline, calendar.timeZone).time, context).toBe('23:59:59.999');
      expect(local(new Date(deadline.getTime() + 1), calendar.timeZone).time, context).toBe('00:00:00.000');
      expect(['Sat', 'Sun'], context).not.toContain(local(deadline, calendar.timeZone).weekday);
    });
  });

  it('hours and days are exact multiples of an hour and of 24 hours, with or without a calendar', () => {
    starts.forEach((start, i) => {
      const amount = amounts[i]! * 7;
      for (const calendar of [undefined, sec]) {
        expect(addOffset(start, { amount, unit: 'hours' }, calendar).getTime() - start.getTime()).toBe(amount * HOUR);
        expect(addOffset(start, { amount, unit: 'days' }, calendar).getTime() - start.getTime()).toBe(amount * DAY);
      }
    });
  });

  it('months keep the UTC time of day and never pass the month they land in', () => {
    starts.forEach((start, i) => {
      const amount = amounts[i]!;
      const deadline = addOffset(start, { amount, unit: 'months' }, sec);
      const months = (deadline.getUTCFullYear() - start.getUTCFullYear()) * 12 + deadline.getUTCMonth() - start.getUTCMonth();
      expect(months).toBe(amount);
      expect(deadline.getTime() % DAY).toBe(start.getTime() % DAY);
      expect(deadline.getUTCDate()).toBeLessThanOrEqual(start.getUTCDate());
    });
  });
});

describe('determinism (workflows import the calendar)', () => {
  it('never reads the wall clock on the paths a workflow uses', async () => {
    // A fresh copy, so its holiday cache is empty and each library path runs for the first time under the trap.
    vi.resetModules();
    const calendar = await import('../../services/regulatory/calendar.js');
    const RealDate = Date;
    const clockRead = () => {
      throw new Error('read the wall clock');
    };
    globalThis.Date = new Proxy(RealDate, {
      apply: clockRead,
      construct: (target, args, newTarget) => (args.length === 0 ? clockRead() : Reflect.construct(target, args, newTarget)),
      get: (target, property, receiver) => (property === 'now' ? clockRead : Reflect.get(target, property, receiver)),
    });
    try {
      expect(calendar.addOffset(new RealDate('2027-12-29T15:00:00Z'), businessDays(2), sec).toISOString()).toBe('2028-01-03T22:30:00.000Z');
      expect(
        calendar.addOffset(new RealDate('2026-04-02T12:00:00Z'), businessDays(1), { timeZone: 'Australia/Sydney', holidays: 'us-federal' }).toISOString(),
      ).toBe('2026-04-03T12:59:59.999Z');
      expect(calendar.addOffset(new RealDate('2028-01-31T08:00:00Z'), { amount: 1, unit: 'months' }, sec).toISOString()).toBe('2028-02-29T08:00:00.000Z');
      expect(calendar.addOffset(new RealDate('2026-07-10T12:00:00Z'), businessDays(4)).toISOString()).toBe('2026-07-16T12:00:00.000Z');
      expect(calendar.publicHolidays('us-federal', 2031)).toContain('2031-01-01');
    } finally {
      globalThis.Date = RealDate;
      vi.resetModules();
    }
    expect(() => new Date()).not.toThrow();
  });
});

describe('a regime calendar in a runbook', () => {
  const base = regimesById.get('us-sec-8k')!;

  it('accepts an IANA zone, a holiday calendar and an end of day', () => {
    expect(RegimeCalendar.parse(sec)).toEqual(sec);
    expect(RegimeCalendar.parse({ timeZone: 'Europe/Brussels' })).toEqual({ timeZone: 'Europe/Brussels' });
    expect(Regime.parse({ ...base, calendar: { timeZone: 'Asia/Tokyo', businessDayEnds: '23:59' } }).calendar).toEqual({
      timeZone: 'Asia/Tokyo',
      businessDayEnds: '23:59',
    });
  });

  it.each([
    [{ timeZone: 'Mars/Olympus_Mons' }, 'timeZone', 'must be an IANA time zone'],
    [{ timeZone: '' }, 'timeZone', 'must be an IANA time zone'],
    [{ timeZone: 'America/New_York', holidays: 'uk-bank' }, 'holidays', 'must be one of us-federal'],
    [{ timeZone: 'America/New_York', businessDayEnds: '5:30' }, 'businessDayEnds', 'HH:MM'],
    [{ timeZone: 'America/New_York', businessDayEnds: '24:00' }, 'businessDayEnds', 'HH:MM'],
    [{ timeZone: 'America/New_York', businessDayEnds: '17:60' }, 'businessDayEnds', 'HH:MM'],
    [{ timeZone: 'America/New_York', weekend: ['Friday'] }, '', 'weekend'],
  ])('rejects %j', (calendar, path, message) => {
    const result = Regime.safeParse({ ...base, calendar });
    expect(result.success).toBe(false);
    const issue = result.error!.issues[0]!;
    expect(issue.path.join('.')).toBe(['calendar', path].filter(Boolean).join('.'));
    expect(issue.message).toContain(message);
  });
});
