import { describe, expect, it } from 'vitest';
import { coverageGaps, nextHandOff, onCallAt, shiftsBetween, type Override } from '../../services/schedule/on-call.js';
import { Schedule } from '../../services/schedule/schema.js';

const at = (iso: string) => new Date(iso);
const schedule = (input: unknown) => Schedule.parse(input);

const berlinWeekly = schedule({
  id: 'berlin-primary',
  name: 'Berlin primary',
  timeZone: 'Europe/Berlin',
  // Monday 2027-03-15 09:00 local; Berlin moves its clocks forward on Sunday 2027-03-28.
  layers: [{ id: 'weekly', members: ['alice', 'bob', 'carol'], start: '2027-03-15T09:00', shift: '1w' }],
});

const newYorkWeekly = schedule({
  id: 'ny-primary',
  name: 'New York primary',
  timeZone: 'America/New_York',
  // Monday 2026-10-19 10:00 local; New York moves its clocks back on Sunday 2026-11-01.
  layers: [{ id: 'weekly', members: ['dana', 'eli'], start: '2026-10-19T10:00', shift: '1w' }],
});

function override(fields: Partial<Override> & Pick<Override, 'id' | 'person' | 'startsAt' | 'endsAt'>): Override {
  return { reason: 'covering', createdBy: 'lead', createdAt: at('2027-01-01T00:00:00Z'), ...fields };
}

describe('a weekly rotation', () => {
  it('hands off at the same local time across the spring change (Europe/Berlin, 2027-03-28)', () => {
    expect(onCallAt(berlinWeekly, [], at('2027-03-15T07:59:59Z'))).toBeUndefined(); // before its start
    const first = onCallAt(berlinWeekly, [], at('2027-03-16T12:00:00Z'));
    expect(first).toEqual({
      person: 'alice',
      since: at('2027-03-15T08:00:00Z'),
      until: at('2027-03-22T08:00:00Z'),
      source: { kind: 'layer', layer: 'weekly' },
    });
    // The week that crosses the change is an hour short: 09:00 CET to 09:00 CEST.
    const crossing = onCallAt(berlinWeekly, [], at('2027-03-28T12:00:00Z'));
    expect(crossing).toEqual({
      person: 'bob',
      since: at('2027-03-22T08:00:00Z'),
      until: at('2027-03-29T07:00:00Z'),
      source: { kind: 'layer', layer: 'weekly' },
    });
    expect(onCallAt(berlinWeekly, [], at('2027-03-29T06:59:59Z'))?.person).toBe('bob');
    expect(onCallAt(berlinWeekly, [], at('2027-03-29T07:00:00Z'))?.person).toBe('carol');
    expect(onCallAt(berlinWeekly, [], at('2027-04-05T07:00:00Z'))?.person).toBe('alice');
  });

  it('hands off at the same local time across the autumn change (America/New_York, 2026-11-01)', () => {
    const crossing = onCallAt(newYorkWeekly, [], at('2026-11-01T12:00:00Z'));
    // 10:00 EDT (14:00Z) to 10:00 EST (15:00Z): an hour longer than a week.
    expect(crossing).toEqual({
      person: 'eli',
      since: at('2026-10-26T14:00:00Z'),
      until: at('2026-11-02T15:00:00Z'),
      source: { kind: 'layer', layer: 'weekly' },
    });
    expect(onCallAt(newYorkWeekly, [], at('2026-11-02T14:59:59Z'))?.person).toBe('eli');
    expect(onCallAt(newYorkWeekly, [], at('2026-11-02T15:00:00Z'))?.person).toBe('dana');
    expect(nextHandOff(newYorkWeekly, [], at('2026-10-30T00:00:00Z'))).toEqual(at('2026-11-02T15:00:00Z'));
  });

  it('lists every shift between two instants, clipped to them', () => {
    expect(shiftsBetween(berlinWeekly, [], at('2027-03-20T00:00:00Z'), at('2027-04-01T00:00:00Z'))).toEqual([
      { person: 'alice', since: at('2027-03-20T00:00:00Z'), until: at('2027-03-22T08:00:00Z'), source: { kind: 'layer', layer: 'weekly' } },
      { person: 'bob', since: at('2027-03-22T08:00:00Z'), until: at('2027-03-29T07:00:00Z'), source: { kind: 'layer', layer: 'weekly' } },
      { person: 'carol', since: at('2027-03-29T07:00:00Z'), until: at('2027-04-01T00:00:00Z'), source: { kind: 'layer', layer: 'weekly' } },
    ]);
  });

  it('merges consecutive shifts of a one-person rotation into one span', () => {
    const solo = schedule({ ...berlinWeekly, layers: [{ id: 'solo', members: ['alice'], start: '2027-03-15T09:00', shift: '1d' }] });
    expect(shiftsBetween(solo, [], at('2027-03-16T00:00:00Z'), at('2027-03-20T00:00:00Z'))).toHaveLength(1);
    expect(nextHandOff(solo, [], at('2027-03-16T00:00:00Z'))).toBeUndefined();
  });
});

describe('shifts in hours', () => {
  it('advance in absolute time across a daylight-saving change', () => {
    const twelve = schedule({
      id: 'halves',
      name: 'Halves',
      timeZone: 'Europe/Berlin',
      layers: [{ id: 'halves', members: ['alice', 'bob'], start: '2027-03-27T20:00', shift: '12h' }],
    });
    // 20:00 CET is 19:00Z; twelve hours later is 07:00Z, which is 09:00 CEST on the clock.
    expect(onCallAt(twelve, [], at('2027-03-28T06:59:00Z'))?.person).toBe('alice');
    expect(onCallAt(twelve, [], at('2027-03-28T07:00:00Z'))).toMatchObject({
      person: 'bob',
      since: at('2027-03-28T07:00:00Z'),
      until: at('2027-03-28T19:00:00Z'),
    });
  });
});

const businessHours = schedule({
  id: 'business',
  name: 'Business hours',
  timeZone: 'Europe/Berlin',
  layers: [
    {
      id: 'daytime',
      members: ['alice', 'bob'],
      start: '2027-03-15T09:00',
      shift: '1w',
      restrictions: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '17:00' }],
    },
  ],
  fallback: 'frank',
});

describe('restrictions', () => {
  it('put a layer on call only inside its windows, in the schedule’s zone', () => {
    // Tuesday 2027-03-16 10:00 CET.
    expect(onCallAt(businessHours, [], at('2027-03-16T09:00:00Z'))).toEqual({
      person: 'alice',
      since: at('2027-03-16T08:00:00Z'),
      until: at('2027-03-16T16:00:00Z'),
      source: { kind: 'layer', layer: 'daytime' },
    });
    // Tuesday 18:00 CET: the fallback person, until Wednesday 09:00.
    expect(onCallAt(businessHours, [], at('2027-03-16T17:00:00Z'))).toEqual({
      person: 'frank',
      since: at('2027-03-16T16:00:00Z'),
      until: at('2027-03-17T08:00:00Z'),
      source: { kind: 'fallback' },
    });
    // After the change, 09:00 CEST is 07:00Z.
    expect(onCallAt(businessHours, [], at('2027-03-29T07:00:00Z'))?.source).toEqual({ kind: 'layer', layer: 'daytime' });
    expect(onCallAt(businessHours, [], at('2027-03-29T06:59:00Z'))?.source).toEqual({ kind: 'fallback' });
  });

  it('running past midnight belong to the day they start on', () => {
    const nights = schedule({
      id: 'nights',
      name: 'Friday nights',
      timeZone: 'Europe/Berlin',
      layers: [{ id: 'nights', members: ['nina'], start: '2027-01-01T00:00', shift: '1w', restrictions: [{ days: ['fri'], from: '22:00', to: '06:00' }] }],
    });
    // Friday 2027-01-08 22:00 CET to Saturday 06:00 CET.
    expect(onCallAt(nights, [], at('2027-01-09T02:00:00Z'))).toMatchObject({
      person: 'nina',
      since: at('2027-01-08T21:00:00Z'),
      until: at('2027-01-09T05:00:00Z'),
    });
    // Saturday night is not Friday's.
    expect(onCallAt(nights, [], at('2027-01-10T02:00:00Z'))).toBeUndefined();
  });
});

describe('layers, overrides and the fallback', () => {
  const layered = schedule({
    id: 'layered',
    name: 'Layered',
    timeZone: 'Europe/Berlin',
    layers: [
      { id: 'base', members: ['carol', 'dave'], start: '2027-03-15T09:00', shift: '1w' },
      {
        id: 'daytime',
        members: ['alice', 'bob'],
        start: '2027-03-15T09:00',
        shift: '1d',
        restrictions: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '17:00' }],
      },
    ],
    fallback: 'frank',
  });

  it('the later layer wins where it has someone; the earlier one covers the rest', () => {
    expect(onCallAt(layered, [], at('2027-03-16T09:00:00Z'))).toMatchObject({ person: 'bob', source: { kind: 'layer', layer: 'daytime' } });
    expect(onCallAt(layered, [], at('2027-03-16T20:00:00Z'))).toMatchObject({
      person: 'carol',
      since: at('2027-03-16T16:00:00Z'),
      until: at('2027-03-17T08:00:00Z'),
      source: { kind: 'layer', layer: 'base' },
    });
    // No gap: the base layer covers all the time.
    expect(coverageGaps(layered, [], at('2027-03-15T08:00:00Z'), at('2027-04-15T00:00:00Z'))).toEqual([]);
    // Before either layer starts, the fallback covers.
    expect(coverageGaps(layered, [], at('2027-03-14T00:00:00Z'), at('2027-03-16T00:00:00Z'))).toEqual([
      { since: at('2027-03-14T00:00:00Z'), until: at('2027-03-15T08:00:00Z'), fallback: 'frank' },
    ]);
  });

  it('an override wins over every layer, for its span only; the last one made wins where they overlap', () => {
    const overrides = [
      override({
        id: 'o1',
        person: 'erin',
        startsAt: at('2027-03-16T12:00:00Z'),
        endsAt: at('2027-03-16T18:00:00Z'),
        reason: 'Bob at the dentist',
        createdBy: 'carol',
      }),
      override({ id: 'o2', person: 'gus', startsAt: at('2027-03-16T17:00:00Z'), endsAt: at('2027-03-16T19:00:00Z'), createdAt: at('2027-02-01T00:00:00Z') }),
      override({ id: 'o3', person: 'zed', startsAt: at('2027-03-16T00:00:00Z'), endsAt: at('2027-03-17T00:00:00Z'), cancelledAt: at('2027-02-02T00:00:00Z') }),
    ];
    expect(onCallAt(layered, overrides, at('2027-03-16T13:00:00Z'))).toEqual({
      person: 'erin',
      since: at('2027-03-16T12:00:00Z'),
      until: at('2027-03-16T17:00:00Z'),
      source: { kind: 'override', overrideId: 'o1', by: 'carol', reason: 'Bob at the dentist' },
    });
    expect(shiftsBetween(layered, overrides, at('2027-03-16T08:00:00Z'), at('2027-03-16T20:00:00Z')).map((s) => [s.person, s.since.toISOString()])).toEqual([
      ['bob', '2027-03-16T08:00:00.000Z'],
      ['erin', '2027-03-16T12:00:00.000Z'],
      ['gus', '2027-03-16T17:00:00.000Z'],
      ['carol', '2027-03-16T19:00:00.000Z'],
    ]);
  });

  it('an override covers a gap, which is then no gap', () => {
    const overrides = [override({ id: 'o1', person: 'erin', startsAt: at('2027-03-16T16:00:00Z'), endsAt: at('2027-03-16T20:00:00Z') })];
    expect(coverageGaps(businessHours, overrides, at('2027-03-16T08:00:00Z'), at('2027-03-17T08:00:00Z'))).toEqual([
      { since: at('2027-03-16T20:00:00Z'), until: at('2027-03-17T08:00:00Z'), fallback: 'frank' },
    ]);
  });
});

describe('gaps', () => {
  it('are covered by the fallback person, and reported', () => {
    const gaps = coverageGaps(businessHours, [], at('2027-03-19T00:00:00Z'), at('2027-03-23T00:00:00Z'));
    // Friday before 09:00, Friday 17:00 to Monday 09:00, Monday 17:00 onwards (CET).
    expect(gaps).toEqual([
      { since: at('2027-03-19T00:00:00Z'), until: at('2027-03-19T08:00:00Z'), fallback: 'frank' },
      { since: at('2027-03-19T16:00:00Z'), until: at('2027-03-22T08:00:00Z'), fallback: 'frank' },
      { since: at('2027-03-22T16:00:00Z'), until: at('2027-03-23T00:00:00Z'), fallback: 'frank' },
    ]);
    expect(onCallAt(businessHours, [], at('2027-03-20T12:00:00Z'))).toMatchObject({ person: 'frank', source: { kind: 'fallback' } });
  });

  it('leave nobody on call without a fallback', () => {
    const { fallback: _, ...rest } = businessHours;
    const bare = schedule(rest);
    expect(onCallAt(bare, [], at('2027-03-20T12:00:00Z'))).toBeUndefined();
    expect(coverageGaps(bare, [], at('2027-03-19T16:00:00Z'), at('2027-03-22T08:00:00Z'))).toEqual([
      { since: at('2027-03-19T16:00:00Z'), until: at('2027-03-22T08:00:00Z'), fallback: undefined },
    ]);
    // Nobody is not a span.
    expect(shiftsBetween(bare, [], at('2027-03-19T12:00:00Z'), at('2027-03-22T12:00:00Z')).map((s) => s.person)).toEqual(['alice', 'bob']);
  });
});

describe('nextHandOff', () => {
  it('is the next instant the person changes, whatever the source', () => {
    // Tuesday 10:00 CET: alice until 17:00, then frank (fallback).
    expect(nextHandOff(businessHours, [], at('2027-03-16T09:00:00Z'))).toEqual(at('2027-03-16T16:00:00Z'));
    // The Berlin weekly rotation: from bob to carol at 09:00 CEST.
    expect(nextHandOff(berlinWeekly, [], at('2027-03-23T00:00:00Z'))).toEqual(at('2027-03-29T07:00:00Z'));
    // An override by the same person is no hand-off; one by someone else is.
    const same = [override({ id: 'o1', person: 'bob', startsAt: at('2027-03-24T00:00:00Z'), endsAt: at('2027-03-25T00:00:00Z') })];
    expect(nextHandOff(berlinWeekly, same, at('2027-03-23T00:00:00Z'))).toEqual(at('2027-03-29T07:00:00Z'));
    const other = [override({ id: 'o2', person: 'erin', startsAt: at('2027-03-24T00:00:00Z'), endsAt: at('2027-03-25T00:00:00Z') })];
    expect(nextHandOff(berlinWeekly, other, at('2027-03-23T00:00:00Z'))).toEqual(at('2027-03-24T00:00:00Z'));
    // Before the rotation starts: nobody, then alice.
    expect(nextHandOff(berlinWeekly, [], at('2027-03-10T00:00:00Z'))).toEqual(at('2027-03-15T08:00:00Z'));
  });

  it('is undefined when nothing changes within the horizon', () => {
    const solo = schedule({ ...berlinWeekly, layers: [{ id: 'solo', members: ['alice'], start: '2027-03-15T09:00', shift: '1w' }] });
    expect(nextHandOff(solo, [], at('2027-04-01T00:00:00Z'))).toBeUndefined();
  });
});

describe('consistency', () => {
  it('onCallAt and nextHandOff agree with the timeline shiftsBetween gives, at every hour of two months', () => {
    const mixed = schedule({
      id: 'mixed',
      name: 'Mixed',
      timeZone: 'America/New_York',
      layers: [
        { id: 'weekly', members: ['a', 'b', 'c'], start: '2026-10-05T09:00', shift: '1w' },
        {
          id: 'days',
          members: ['x', 'y'],
          start: '2026-10-05T09:00',
          shift: '2d',
          restrictions: [{ days: ['mon', 'wed', 'fri'], from: '20:00', to: '02:00' }],
        },
      ],
      fallback: 'f',
    });
    const overrides = [override({ id: 'o', person: 'z', startsAt: at('2026-11-01T05:30:00Z'), endsAt: at('2026-11-03T00:00:00Z') })];
    const from = at('2026-10-20T00:00:00Z');
    const timeline = shiftsBetween(mixed, overrides, at('2026-08-01T00:00:00Z'), at('2027-02-01T00:00:00Z'));
    for (let t = from.getTime(); t < from.getTime() + 60 * 86_400_000; t += 3_600_000) {
      const span = timeline.find((s) => s.since.getTime() <= t && t < s.until.getTime());
      expect(onCallAt(mixed, overrides, new Date(t))).toEqual(span);
      const next = timeline.find((s) => s.since.getTime() > t && s.person !== span?.person);
      expect(nextHandOff(mixed, overrides, new Date(t))).toEqual(next?.since);
    }
  });
});

describe('determinism', () => {
  it('answers the same for the same question', () => {
    const a = shiftsBetween(businessHours, [], at('2027-03-01T00:00:00Z'), at('2027-05-01T00:00:00Z'));
    const b = shiftsBetween(businessHours, [], at('2027-03-01T00:00:00Z'), at('2027-05-01T00:00:00Z'));
    expect(a).toEqual(b);
    // Spans are consecutive and never overlap.
    for (let i = 1; i < a.length; i++) expect(a[i]!.since.getTime()).toBeGreaterThanOrEqual(a[i - 1]!.until.getTime());
  });
});
