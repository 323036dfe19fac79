import ICAL from 'ical.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { scheduleCalendar } from '../../services/schedule/calendar.js';
import { shiftsBetween } from '../../services/schedule/on-call.js';
import { Schedule } from '../../services/schedule/schema.js';
import type { RunbookContent } from '../support/runbooks.js';
import { useIncidentStack } from '../support/stack.js';
import { primarySchedule } from './fixtures.js';

const at = (iso: string) => new Date(iso);

/** The events of an iCalendar text, read by ical.js (not the library that wrote it). */
function events(text: string): { summary: string; start: string; end: string; uid: string; description: string }[] {
  const calendar = new ICAL.Component(ICAL.parse(text));
  return calendar.getAllSubcomponents('vevent').map((component) => {
    const event = new ICAL.Event(component);
    return {
      summary: event.summary,
      start: event.startDate.toJSDate().toISOString(),
      end: event.endDate.toJSDate().toISOString(),
      uid: event.uid,
      description: event.description,
    };
  });
}

describe('a schedule’s calendar, read back by an independent parser', () => {
  it('has each shift with its person’s name, handing off at 09:00 local on both sides of the change', () => {
    const schedule = Schedule.parse(primarySchedule);
    const people = [
      { id: 'amara-okafor', name: 'Amara Okafor', email: 'a@x.example', roles: ['on-call'] },
      { id: 'jonas-berg', name: 'Jonas Berg', email: 'j@x.example', roles: ['on-call'] },
      { id: 'li-wei', name: 'Li Wei', email: 'l@x.example', roles: ['on-call'] },
    ];
    const found = { schedule, systemId: 'frontier-assistant', runbookVersion: 'v', people };
    const text = scheduleCalendar(
      { found, shifts: shiftsBetween(schedule, [], at('2027-03-15T08:00:00Z'), at('2027-04-05T07:00:00Z')) },
      at('2027-03-01T00:00:00Z'),
    );
    expect(events(text).map(({ summary, start, end }) => ({ summary, start, end }))).toEqual([
      { summary: 'Amara Okafor on call (Assistant primary)', start: '2027-03-15T08:00:00.000Z', end: '2027-03-22T08:00:00.000Z' },
      { summary: 'Jonas Berg on call (Assistant primary)', start: '2027-03-22T08:00:00.000Z', end: '2027-03-29T07:00:00.000Z' },
      { summary: 'Amara Okafor on call (Assistant primary)', start: '2027-03-29T07:00:00.000Z', end: '2027-04-05T07:00:00.000Z' },
    ]);
    expect(text).toContain('BEGIN:VCALENDAR');
    expect(text).toMatch(/PRODID:-\/\/Correx\/\/on-call schedules\/\/EN/);
  });
});

describe('schedules over HTTP', () => {
  const stack = useIncidentStack({
    api: true,
    runbookFiles: {
      'frontier-assistant': {
        from: 'frontier-assistant',
        adjust(runbook: RunbookContent) {
          runbook.schedules = [primarySchedule];
        },
      },
    },
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lists schedules and says who is on call at an instant, and why', async () => {
    const token = await stack.api.token('hannah-vogel', ['compliance']);
    const list = await stack.api.call('GET', '/v1/schedules', { token });
    expect(list.status).toBe(200);
    expect(list.body.items.map((s: { id: string }) => s.id)).toContain('assistant-primary');

    const onCall = await stack.api.call('GET', '/v1/schedules/assistant-primary/on-call?at=2027-03-28T12:00:00Z', { token });
    expect(onCall.body).toEqual({
      scheduleId: 'assistant-primary',
      scheduleName: 'Assistant primary',
      at: '2027-03-28T12:00:00.000Z',
      onCall: {
        person: { id: 'jonas-berg', name: 'Jonas Berg' },
        since: '2027-03-22T08:00:00.000Z',
        until: '2027-03-29T07:00:00.000Z',
        source: { kind: 'layer', layer: 'weekly' },
      },
    });
    const before = await stack.api.call('GET', '/v1/schedules/assistant-primary/on-call?at=2027-03-01T12:00:00Z', { token });
    expect(before.body.onCall).toMatchObject({ person: { id: 'li-wei' }, source: { kind: 'fallback' } });

    expect((await stack.api.call('GET', '/v1/schedules/nope/on-call', { token })).status).toBe(404);
    expect((await stack.api.call('GET', '/v1/schedules/assistant-primary/on-call?at=yesterday', { token })).status).toBe(400);

    const detail = await stack.api.call('GET', '/v1/schedules/assistant-primary', { token });
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({
      id: 'assistant-primary',
      timeZone: 'Europe/Berlin',
      fallback: { id: 'li-wei', name: 'Li Wei' },
      systemId: 'frontier-assistant',
    });
  });

  it('makes and cancels overrides, for the runbook’s people only', async () => {
    const token = await stack.api.token('jonas-berg', ['responder']);
    const made = await stack.api.call('POST', '/v1/schedules/assistant-primary/overrides', {
      token,
      body: { person: 'amara-okafor', from: '2027-03-27T08:00:00+01:00', to: '2027-03-28T08:00:00+02:00', reason: 'Jonas at a wedding' },
    });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({
      person: { id: 'amara-okafor' },
      from: '2027-03-27T07:00:00.000Z',
      to: '2027-03-28T06:00:00.000Z',
      createdBy: 'jonas-berg',
      cancelledAt: null,
    });
    const during = await stack.api.call('GET', '/v1/schedules/assistant-primary/on-call?at=2027-03-27T12:00:00Z', { token });
    expect(during.body.onCall).toEqual({
      person: { id: 'amara-okafor', name: 'Amara Okafor' },
      since: '2027-03-27T07:00:00.000Z',
      until: '2027-03-28T06:00:00.000Z',
      source: { kind: 'override', overrideId: made.body.id, by: 'jonas-berg', reason: 'Jonas at a wedding' },
    });

    const stranger = await stack.api.call('POST', '/v1/schedules/assistant-primary/overrides', {
      token,
      body: { person: 'mallory', from: '2027-03-27T08:00:00Z', to: '2027-03-26T08:00:00Z', reason: 'x' },
    });
    expect(stranger.status).toBe(400);
    expect(stranger.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(stranger.body.errors.map((e: { path: string }) => e.path)).toEqual(['body.person', 'body.to']);

    const reader = await stack.api.token('hannah-vogel', ['compliance']);
    expect((await stack.api.call('DELETE', `/v1/schedules/assistant-primary/overrides/${made.body.id}`, { token: reader })).status).toBe(403);
    const cancelled = await stack.api.call('DELETE', `/v1/schedules/assistant-primary/overrides/${made.body.id}`, { token });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ cancelledBy: 'jonas-berg' });
    const after = await stack.api.call('GET', '/v1/schedules/assistant-primary/on-call?at=2027-03-27T12:00:00Z', { token });
    expect(after.body.onCall.person.id).toBe('jonas-berg');
    expect((await stack.api.call('DELETE', `/v1/schedules/assistant-primary/overrides/00000000-0000-4000-8000-000000000000`, { token })).status).toBe(404);
  });

  it('serves a schedule’s feed and a person’s at secret URLs, as text/calendar', async () => {
    const token = await stack.api.token('jonas-berg', ['responder']);
    const feed = await stack.api.call('POST', '/v1/schedules/assistant-primary/feed', { token });
    expect(feed.status).toBe(201);
    const url = new URL(feed.body.url as string);
    expect(url.pathname).toMatch(/^\/v1\/calendar\/cal_[A-Za-z0-9_-]+\.ics$/);
    const mine = await stack.api.call('POST', '/v1/people/jonas-berg/feed', { token });
    expect(mine.status).toBe(201);
    expect((await stack.api.call('POST', '/v1/people/amara-okafor/feed', { token })).status).toBe(409);

    // Eight weeks from a week before the rotation starts, which crosses Berlin's change to summer time.
    vi.useFakeTimers({ toFake: ['Date'], now: at('2027-03-08T12:00:00Z') });
    const response = await fetch(`${stack.api.url}${url.pathname}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/calendar; charset=utf-8');
    const shifts = events(await response.text());
    expect(shifts.slice(0, 4).map(({ summary, start, end }) => ({ summary, start, end }))).toEqual([
      { summary: 'Li Wei on call (Assistant primary)', start: '2027-03-08T12:00:00.000Z', end: '2027-03-15T08:00:00.000Z' },
      { summary: 'Amara Okafor on call (Assistant primary)', start: '2027-03-15T08:00:00.000Z', end: '2027-03-22T08:00:00.000Z' },
      { summary: 'Jonas Berg on call (Assistant primary)', start: '2027-03-22T08:00:00.000Z', end: '2027-03-29T07:00:00.000Z' },
      { summary: 'Amara Okafor on call (Assistant primary)', start: '2027-03-29T07:00:00.000Z', end: '2027-04-05T07:00:00.000Z' },
    ]);
    expect(shifts.at(-1)?.end).toBe('2027-05-03T12:00:00.000Z');
    expect(shifts[0]?.description).toMatch(/Fallback/);

    const personal = events(await (await fetch(`${stack.api.url}${new URL(mine.body.url as string).pathname}`)).text());
    expect(personal.length).toBeGreaterThan(0);
    expect(personal.every((e) => e.summary === 'On call: Assistant primary')).toBe(true);
    expect(personal[0]).toMatchObject({ start: '2027-03-22T08:00:00.000Z', end: '2027-03-29T07:00:00.000Z' });
    vi.useRealTimers();

    expect((await fetch(`${stack.api.url}/v1/calendar/cal_${'x'.repeat(32)}.ics`)).status).toBe(404);
  });
});
