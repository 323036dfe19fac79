import { z } from 'zod';
import { readers } from '../access/roles.js';
import { ActionRefused, InvalidInput } from '../errors.js';
import { actorOf, NotFound, type CorrexApp, type RouteDependencies } from '../http/app.js';
import { Instant, InstantInput } from '../instant.js';
import { feedWeeks, personCalendar, scheduleCalendar } from './calendar.js';
import { onCallAt, shiftsBetween, type CoverageGap, type OnCall } from './on-call.js';
import {
  cancelOverride,
  createFeed,
  createOverride,
  findFeed,
  findSchedule,
  listOverrides,
  listSchedules,
  scheduleTimeline,
  type FoundSchedule,
  type StoredOverride,
} from './repository.js';
import { LocalDateTime, LocalTime, TimeZone, weekdays } from './schema.js';
import { RunbookId as Id } from '../runbook/id.js';

const dayMs = 86_400_000;
/** How far ahead a schedule's page lists shifts and gaps. */
export const upcomingDays = 14;

const PersonRef = z.strictObject({ id: z.string(), name: z.string() });
const Source = z
  .discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('layer'), layer: z.string().describe('The rotation layer whose shift it is') }),
    z.strictObject({
      kind: z.literal('override'),
      overrideId: z.uuid(),
      by: z.string().describe('Who made the override'),
      reason: z.string(),
    }),
    z.strictObject({ kind: z.literal('fallback').describe('No layer and no override covers this time: the fallback person does') }),
  ])
  .describe('Why this person is on call');

const Shift = z.strictObject({
  person: PersonRef,
  since: Instant,
  until: Instant.describe('When this same answer ends (a span reaching 8 weeks beyond the question is cut there)'),
  source: Source,
});
const Gap = z.strictObject({
  since: Instant,
  until: Instant,
  fallback: PersonRef.nullable().describe('Who covers the gap: the fallback person, or null when nobody is on call'),
});
const OverrideView = z.strictObject({
  id: z.uuid(),
  scheduleId: z.string(),
  person: PersonRef,
  from: Instant,
  to: Instant,
  reason: z.string(),
  createdBy: z.string(),
  createdAt: Instant,
  cancelledAt: Instant.nullable(),
  cancelledBy: z.string().nullable(),
});
const Layer = z.strictObject({
  id: z.string(),
  members: z.array(PersonRef).describe('In the order they take shifts'),
  start: LocalDateTime.describe("The first shift's start, a wall-clock time in the schedule's zone"),
  shift: z.string().describe('Shift length: whole days and weeks hand off at the same local time across daylight-saving changes'),
  restrictions: z.array(z.strictObject({ days: z.array(z.enum(weekdays)), from: LocalTime, to: LocalTime })).nullable(),
});
const ScheduleSummary = z.strictObject({
  id: z.string(),
  name: z.string(),
  timeZone: TimeZone,
  systemId: z.string().describe('The system whose runbook defines the schedule'),
  layers: z.array(Layer).describe('A later layer wins wherever it has someone on call'),
  fallback: PersonRef.nullable(),
});
const OnCallNow = z.strictObject({
  scheduleId: z.string(),
  scheduleName: z.string(),
  at: Instant,
  onCall: Shift.nullable().describe('Null when nobody is on call (no layer, no override and no fallback)'),
});
const ScheduleDetail = ScheduleSummary.extend({
  onCall: Shift.nullable(),
  upcoming: z.array(Shift).describe(`Who is on call over the next ${upcomingDays} days, span by span`),
  gaps: z.array(Gap).describe(`Spans of the next ${upcomingDays} days that no layer and no override covers`),
  overrides: z.array(OverrideView).describe(`Overrides not cancelled that end in the future`),
});

const ScheduleParams = z.strictObject({ id: Id });
const PersonParams = z.strictObject({ id: Id.describe('A person id, as the runbooks name people') });
const OverrideParams = z.strictObject({ id: Id, overrideId: z.uuid('must be an override id (UUID)') });
const OnCallQuery = z.strictObject({ at: InstantInput.optional().describe('The instant asked about; now when left out') });
const OverrideBody = z.strictObject({
  person: Id.describe("Who is on call instead: one of the people of the schedule's runbook"),
  from: InstantInput,
  to: InstantInput.describe('After from, at most 90 days later'),
  reason: z.string().trim().min(1, 'say why').max(2000),
});
const FeedCreated = z.strictObject({
  id: z.uuid(),
  url: z.url().describe('The feed, with its secret in the path: shown only this once; anyone with it can read the feed'),
});

function ref(found: FoundSchedule, id: string): z.infer<typeof PersonRef> {
  return { id, name: found.people.find((p) => p.id === id)?.name ?? id };
}

export function shiftView(found: FoundSchedule, shift: OnCall): z.infer<typeof Shift> {
  return { person: ref(found, shift.person), since: shift.since.toISOString(), until: shift.until.toISOString(), source: shift.source };
}

export function gapView(found: FoundSchedule, gap: CoverageGap): z.infer<typeof Gap> {
  return { since: gap.since.toISOString(), until: gap.until.toISOString(), fallback: gap.fallback === undefined ? null : ref(found, gap.fallback) };
}

export function overrideView(found: FoundSchedule, o: StoredOverride): z.infer<typeof OverrideView> {
  return {
    id: o.id,
    scheduleId: o.scheduleId,
    person: ref(found, o.person),
    from: o.startsAt.toISOString(),
    to: o.endsAt.toISOString(),
    reason: o.reason,
    createdBy: o.createdBy,
    createdAt: o.createdAt.toISOString(),
    cancelledAt: o.cancelledAt?.toISOString() ?? null,
    cancelledBy: o.cancelledBy ?? null,
  };
}

export function scheduleSummary(found: FoundSchedule): z.infer<typeof ScheduleSummary> {
  const { schedule } = found;
  return {
    id: schedule.id,
    name: schedule.name,
    timeZone: schedule.timeZone,
    systemId: found.systemId,
    layers: schedule.layers.map((layer) => ({
      id: layer.id,
      members: layer.members.map((m) => ref(found, m)),
      start: layer.start,
      shift: layer.shift,
      restrictions: layer.restrictions ?? null,
    })),
    fallback: schedule.fallback === undefined ? null : ref(found, schedule.fallback),
  };
}

/** A schedule as its page shows it: now, the next two weeks, gaps and overrides. */
export async function scheduleDetail(deps: Pick<RouteDependencies, 'db'>, found: FoundSchedule, now: Date): Promise<z.infer<typeof ScheduleDetail>> {
  const until = new Date(now.getTime() + upcomingDays * dayMs);
  const timeline = await scheduleTimeline(deps.db, found, now, until);
  const around = await listOverrides(deps.db, found.schedule.id, {
    from: new Date(now.getTime() - 9 * 7 * dayMs),
    to: new Date(now.getTime() + 9 * 7 * dayMs),
  });
  const onCall = onCallAt(found.schedule, around, now);
  const overrides = await listOverrides(deps.db, found.schedule.id, { from: now });
  return {
    ...scheduleSummary(found),
    onCall: onCall ? shiftView(found, onCall) : null,
    upcoming: timeline.shifts.map((s) => shiftView(found, s)),
    gaps: timeline.gaps.map((g) => gapView(found, g)),
    overrides: overrides.map((o) => overrideView(found, o)),
  };
}

export async function scheduleOr404(deps: Pick<RouteDependencies, 'db' | 'runbooks'>, id: string): Promise<FoundSchedule> {
  const found = await findSchedule(deps.db, id, deps.runbooks);
  if (!found) throw new NotFound(`no schedule ${id}`);
  return found;
}

/** Where a feed's secret is served, from the server's public address. */
export function feedUrl(publicUrl: string, secret: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/v1/calendar/${secret}.ics`;
}

export interface ScheduleRouteDependencies extends RouteDependencies {
  /** The server's address as people reach it (CORREX_PUBLIC_URL), for feed URLs; the request's own when left out. */
  publicUrl?: string;
}

export function scheduleRoutes(app: CorrexApp, deps: ScheduleRouteDependencies): void {
  const tags = ['schedules'];
  const writers = ['responder', 'admin'] as const;
  // CORREX_PUBLIC_URL was validated at start-up (services/config.ts); without it, the address the request came to.
  const base = (request: { protocol: string; host: string }) => deps.publicUrl ?? process.env.CORREX_PUBLIC_URL ?? `${request.protocol}://${request.host}`;

  app.get('/v1/schedules', {
    config: { access: readers },
    schema: {
      tags,
      operationId: 'listSchedules',
      summary: 'Every on-call schedule the runbooks define',
      response: { 200: z.strictObject({ items: z.array(ScheduleSummary) }) },
    },
    handler: async () => ({ items: (await listSchedules(deps.db, deps.runbooks)).map(scheduleSummary) }),
  });

  app.get('/v1/schedules/:id', {
    config: { access: readers },
    schema: {
      tags,
      operationId: 'getSchedule',
      summary: `A schedule: its layers and fallback, who is on call now, the next ${upcomingDays} days' shifts and gaps, and its overrides`,
      params: ScheduleParams,
      response: { 200: ScheduleDetail },
    },
    handler: async (request) => scheduleDetail(deps, await scheduleOr404(deps, request.params.id), new Date()),
  });

  app.get('/v1/schedules/:id/on-call', {
    config: { access: readers },
    schema: {
      tags,
      operationId: 'getOnCall',
      summary: 'Who is on call under a schedule at an instant (now by default), since and until when, and why (layer, override or fallback)',
      params: ScheduleParams,
      querystring: OnCallQuery,
      response: { 200: OnCallNow },
    },
    handler: async (request) => {
      const found = await scheduleOr404(deps, request.params.id);
      const at = request.query.at ? new Date(request.query.at) : new Date();
      const window = 9 * 7 * dayMs;
      const overrides = await listOverrides(deps.db, found.schedule.id, { from: new Date(at.getTime() - window), to: new Date(at.getTime() + window) });
      const onCall = onCallAt(found.schedule, overrides, at);
      return { scheduleId: found.schedule.id, scheduleName: found.schedule.name, at: at.toISOString(), onCall: onCall ? shiftView(found, onCall) : null };
    },
  });

  app.post('/v1/schedules/:id/overrides', {
    config: { access: writers, links: { 201: { schedule: { operationId: 'getSchedule', parameters: { id: '$request.path.id' } } } } },
    schema: {
      tags,
      operationId: 'createScheduleOverride',
      summary: 'Put someone on call under a schedule for a while (at most 90 days), saying why; it wins over every layer',
      params: ScheduleParams,
      body: OverrideBody,
      response: { 201: OverrideView },
    },
    handler: async (request, reply) => {
      const found = await scheduleOr404(deps, request.params.id);
      try {
        const created = await createOverride(deps.db, found, {
          scheduleId: found.schedule.id,
          person: request.body.person,
          startsAt: new Date(request.body.from),
          endsAt: new Date(request.body.to),
          reason: request.body.reason,
          createdBy: actorOf(request),
        });
        return reply.code(201).send(overrideView(found, created));
      } catch (error) {
        throw error instanceof InvalidInput ? error.within('body') : error;
      }
    },
  });

  app.delete('/v1/schedules/:id/overrides/:overrideId', {
    config: { access: writers },
    schema: {
      tags,
      operationId: 'cancelScheduleOverride',
      summary: 'Cancel an override (it stays on record, with who cancelled it); cancelling twice changes nothing',
      params: OverrideParams,
      response: { 200: OverrideView },
    },
    handler: async (request) => {
      const found = await scheduleOr404(deps, request.params.id);
      const cancelled = await cancelOverride(deps.db, found.schedule.id, request.params.overrideId, actorOf(request));
      if (!cancelled) throw new NotFound(`schedule ${found.schedule.id} has no override ${request.params.overrideId}`);
      return overrideView(found, cancelled);
    },
  });

  app.post('/v1/schedules/:id/feed', {
    config: { access: readers },
    schema: {
      tags,
      operationId: 'createScheduleFeed',
      summary: `A secret calendar URL (RFC 5545) with every shift of a schedule over the next ${feedWeeks} weeks; the URL is shown only in this answer`,
      params: ScheduleParams,
      response: { 201: FeedCreated },
    },
    handler: async (request, reply) => {
      const found = await scheduleOr404(deps, request.params.id);
      const feed = await createFeed(deps.db, { scheduleId: found.schedule.id }, actorOf(request));
      return reply.code(201).send({ id: feed.id, url: feedUrl(base(request), feed.secret) });
    },
  });

  app.post('/v1/people/:id/feed', {
    config: { access: readers, alsoAnswers: [409] },
    schema: {
      tags,
      operationId: 'createPersonFeed',
      summary: `A secret calendar URL (RFC 5545) with a person's shifts under every schedule over the next ${feedWeeks} weeks; for oneself, or anyone by an admin`,
      params: PersonParams,
      response: { 201: FeedCreated },
    },
    handler: async (request, reply) => {
      const personId = request.params.id;
      const actor = actorOf(request);
      // The token's role lets the caller in; whose feed it may make is a rule of this route (409, as other refusals).
      if (actor !== personId && !request.principal?.roles.includes('admin'))
        throw new ActionRefused(`only ${personId} or an admin may make ${personId}'s calendar feed`);
      const known = await deps.runbooks.peopleIds();
      if (!known.has(personId)) throw new NotFound(`no runbook names a person ${personId}`);
      const feed = await createFeed(deps.db, { personId }, actor);
      return reply.code(201).send({ id: feed.id, url: feedUrl(base(request), feed.secret) });
    },
  });

  app.get('/v1/calendar/:secret.ics', {
    config: { access: 'public' },
    schema: {
      tags,
      operationId: 'getCalendarFeed',
      summary: `A calendar feed (RFC 5545) made with createScheduleFeed or createPersonFeed: shifts over the next ${feedWeeks} weeks; the secret in the path is the only credential`,
      // At most maxPathSegment (100) characters in all: a longer path segment is refused before the route sees it.
      params: z.strictObject({ secret: z.string().regex(/^cal_[A-Za-z0-9_-]{20,96}$/, 'is not a feed this server made') }),
      response: { 200: { description: 'An iCalendar document', content: { 'text/calendar': { schema: z.string() } } } },
    },
    handler: async (request, reply) => {
      const subject = await findFeed(deps.db, request.params.secret);
      if (!subject) throw new NotFound('no such calendar feed');
      const now = new Date();
      const until = new Date(now.getTime() + feedWeeks * 7 * dayMs);
      const entriesOf = async (found: FoundSchedule) => {
        const overrides = await listOverrides(deps.db, found.schedule.id, { from: now, to: until });
        return { found, shifts: shiftsBetween(found.schedule, overrides, now, until) };
      };
      let body: string;
      if ('scheduleId' in subject) {
        const found = await findSchedule(deps.db, subject.scheduleId, deps.runbooks);
        if (!found) throw new NotFound(`the schedule ${subject.scheduleId} of this feed is no longer in any runbook`);
        body = scheduleCalendar(await entriesOf(found), now);
      } else {
        const schedules = await listSchedules(deps.db, deps.runbooks);
        body = personCalendar(subject.personId, await Promise.all(schedules.map(entriesOf)), now);
      }
      return reply.type('text/calendar; charset=utf-8').header('cache-control', 'private, max-age=300').send(body);
    },
  });
}
