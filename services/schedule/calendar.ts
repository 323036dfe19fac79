import ical, { ICalCalendarMethod } from 'ical-generator';
import type { OnCall } from './on-call.js';
import type { FoundSchedule } from './repository.js';

// Calendar feeds (RFC 5545) of who is on call: one per schedule (every shift, with the person's
// name), one per person (their shifts under every schedule). Times are written in UTC, which every
// calendar shows in its own zone; the schedule's zone is named in each event's description.

/** How far ahead a feed lists shifts. */
export const feedWeeks = 8;

export interface FeedShifts {
  found: FoundSchedule;
  shifts: OnCall[];
}

function personName(found: FoundSchedule, id: string): string {
  return found.people.find((p) => p.id === id)?.name ?? id;
}

function why(found: FoundSchedule, shift: OnCall): string {
  switch (shift.source.kind) {
    case 'layer':
      return `Rotation layer ${shift.source.layer}`;
    case 'override':
      return `Override by ${personName(found, shift.source.by)}: ${shift.source.reason}`;
    case 'fallback':
      return 'Fallback: no rotation layer covers this time';
  }
}

function newCalendar(name: string, generatedAt: Date) {
  const calendar = ical({
    name,
    prodId: { company: 'Correx', product: 'on-call schedules', language: 'EN' },
    method: ICalCalendarMethod.PUBLISH,
    ttl: 15 * 60,
  });
  return { calendar, stamp: generatedAt };
}

function addShifts(target: ReturnType<typeof newCalendar>, entry: FeedShifts, summary: (shift: OnCall) => string): void {
  for (const shift of entry.shifts) {
    target.calendar.createEvent({
      // Stable across fetches, so a calendar updates a shift rather than adding it again.
      id: `${entry.found.schedule.id}.${shift.person}.${shift.since.toISOString()}@correx`,
      start: shift.since,
      end: shift.until,
      stamp: target.stamp,
      summary: summary(shift),
      description: `${why(entry.found, shift)}. Schedule ${entry.found.schedule.name} (${entry.found.schedule.timeZone}).`,
    });
  }
}

/** A schedule's feed: each span of the next weeks, named after who is on call. */
export function scheduleCalendar(entry: FeedShifts, generatedAt: Date): string {
  const feed = newCalendar(`On call: ${entry.found.schedule.name}`, generatedAt);
  addShifts(feed, entry, (shift) => `${personName(entry.found, shift.person)} on call (${entry.found.schedule.name})`);
  return feed.calendar.toString();
}

/** A person's feed: their spans under each schedule. */
export function personCalendar(personId: string, entries: FeedShifts[], generatedAt: Date): string {
  const name = entries.map((entry) => entry.found.people.find((p) => p.id === personId)?.name).find(Boolean) ?? personId;
  const feed = newCalendar(`On call: ${name}`, generatedAt);
  for (const entry of entries) {
    addShifts({ ...feed }, { ...entry, shifts: entry.shifts.filter((shift) => shift.person === personId) }, () => `On call: ${entry.found.schedule.name}`);
  }
  return feed.calendar.toString();
}
