import type { FastifyReply, FastifyRequest } from 'fastify';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { RunbookId } from '../runbook/id.js';
import { readers } from '../access/roles.js';
import { ActionRefused, InvalidInput } from '../errors.js';
import { escapeHtml as e } from '../html.js';
import type { CorrexApp, RouteDependencies } from '../http/app.js';
import type { OnCall } from '../schedule/on-call.js';
import { cancelOverride, createFeed, createOverride, listSchedules, type FoundSchedule, type StoredOverride } from '../schedule/repository.js';
import { feedUrl, scheduleDetail, scheduleOr404 } from '../schedule/routes.js';
import type { Section, Viewer } from './pages.js';

// The console's schedule pages: who is on call now, the next two weeks (in the schedule's zone and
// the viewer's), overrides with who, when and why, a form to add one, and calendar subscriptions.

/** What the console's routes lend these pages: its page frame and who is looking. */
export interface ConsolePageKit {
  render(request: FastifyRequest, reply: FastifyReply, page: { title: string; section?: Section; main: string; status?: number }): Promise<FastifyReply>;
  viewerOf(request: FastifyRequest): Promise<Viewer>;
}

type Detail = Awaited<ReturnType<typeof scheduleDetail>>;
type ShiftView = Detail['upcoming'][number];

const writers = ['responder', 'admin'] as const;
const ScheduleParams = z.object({ id: RunbookId });
const OverrideParams = ScheduleParams.extend({ overrideId: z.uuid('is not an override id') });
/** `datetime-local` inputs: a wall-clock time, read in the schedule's zone. */
const LocalInput = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/, 'give a date and time');
const OverrideForm = z.object({
  person: z.string().min(1, 'choose who'),
  from: LocalInput,
  to: LocalInput,
  reason: z.string().trim().min(1, 'say why').max(2000),
});

const csrf = (viewer: Viewer) => `<input type="hidden" name="_csrf" value="${e(viewer.csrf)}">`;
const canOverride = (viewer: Viewer) => viewer.principal.roles.some((role) => (writers as readonly string[]).includes(role));

/** An instant in the schedule's zone (`Mon 29 Mar, 09:00 CEST`), and a slot the page's script fills with the viewer's own. */
function when(iso: string, zone: string): string {
  const local = DateTime.fromISO(iso, { zone });
  return `<time datetime="${e(iso)}">${e(local.toFormat('ccc d LLL, HH:mm ZZZZ'))}</time><span class="viewer-time muted" data-viewer-time="${e(iso)}"></span>`;
}

function whyInWords(source: OnCall['source'], names: (id: string) => string): string {
  switch (source.kind) {
    case 'layer':
      return `rotation layer <code>${e(source.layer)}</code>`;
    case 'override':
      return `override by ${e(names(source.by))}: ${e(source.reason)}`;
    case 'fallback':
      return 'fallback: no rotation layer covers this time';
  }
}

function flashHtml(flash: { notice?: string; noticeHtml?: string; error?: string }): string {
  const notice = flash.noticeHtml ?? (flash.notice ? e(flash.notice) : '');
  return `${notice ? `<p class="notice" role="status">${notice}</p>` : ''}${flash.error ? `<p class="error" role="alert">${e(flash.error)}</p>` : ''}`;
}

function shiftRows(shifts: ShiftView[], zone: string, names: (id: string) => string): string {
  if (shifts.length === 0) return '<p class="bad">Nobody is on call in the next two weeks.</p>';
  const rows = shifts
    .map(
      (s) =>
        `<tr><td data-label="From"><div class="cell">${when(s.since, zone)}</div></td><td data-label="Until"><div class="cell">${when(s.until, zone)}</div></td><td data-label="Who"><div class="cell">${e(s.person.name)}</div></td><td data-label="Why"><div class="cell">${whyInWords(s.source, names)}</div></td></tr>`,
    )
    .join('');
  return `<table class="stack"><thead><tr><th scope="col">From</th><th scope="col">Until</th><th scope="col">Who</th><th scope="col">Why</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function gapsHtml(gaps: Detail['gaps'], zone: string): string {
  if (gaps.length === 0) return '<p class="ok">Every moment of the next two weeks has a rotation layer or an override.</p>';
  const rows = gaps
    .map(
      (g) =>
        `<tr><td data-label="From"><div class="cell">${when(g.since, zone)}</div></td><td data-label="Until"><div class="cell">${when(g.until, zone)}</div></td><td data-label="Covered by"><div class="cell">${
          g.fallback ? `${e(g.fallback.name)} <span class="muted">(fallback)</span>` : '<strong class="bad">nobody</strong>'
        }</div></td></tr>`,
    )
    .join('');
  return `<p class="muted">No rotation layer and no override covers these spans.</p><table class="stack gaps"><thead><tr><th scope="col">From</th><th scope="col">Until</th><th scope="col">Covered by</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function overridesHtml(detail: Detail, viewer: Viewer, names: (id: string) => string): string {
  const zone = detail.timeZone;
  if (detail.overrides.length === 0) return '<p class="muted">No override is in force or planned.</p>';
  const items = detail.overrides
    .map(
      (o) =>
        `<li class="override-item"><strong>${e(o.person.name)}</strong><br>${when(o.from, zone)} to ${when(o.to, zone)}<br>Why: ${e(o.reason)}<br><span class="muted">by ${e(names(o.createdBy))}, ${e(
          DateTime.fromISO(o.createdAt, { zone }).toFormat('d LLL HH:mm ZZZZ'),
        )}</span>${
          canOverride(viewer)
            ? `<form class="inline" method="post" action="/console/schedules/${e(detail.id)}/overrides/${e(o.id)}/cancel">${csrf(viewer)}<button type="submit" class="secondary" aria-label="Cancel the override of ${e(o.person.name)}: ${e(o.reason)}">Cancel</button></form>`
            : ''
        }</li>`,
    )
    .join('');
  return `<ul class="plain overrides">${items}</ul>`;
}

function overrideFormHtml(detail: Detail, found: FoundSchedule, viewer: Viewer, typed: Partial<z.infer<typeof OverrideForm>> = {}): string {
  if (!canOverride(viewer)) return '<p class="muted">Responders and admins can add overrides.</p>';
  const people = found.people.map((p) => `<option value="${e(p.id)}"${typed.person === p.id ? ' selected' : ''}>${e(p.name)}</option>`).join('');
  return `<form method="post" action="/console/schedules/${e(detail.id)}/overrides" class="override">${csrf(viewer)}
<p><label for="person">Who is on call instead</label><br><select id="person" name="person" required><option value="">Choose…</option>${people}</select></p>
<p><label for="from">From (${e(detail.timeZone)})</label><br><input id="from" name="from" type="datetime-local" required value="${e(typed.from ?? '')}"></p>
<p><label for="to">Until (${e(detail.timeZone)})</label><br><input id="to" name="to" type="datetime-local" required value="${e(typed.to ?? '')}"></p>
<p><label for="reason">Why</label><br><input id="reason" name="reason" type="text" required maxlength="2000" value="${e(typed.reason ?? '')}"></p>
<div class="actions"><button type="submit">Add override</button></div></form>`;
}

export function scheduleMain(
  detail: Detail,
  found: FoundSchedule,
  viewer: Viewer,
  names: (id: string) => string,
  options: { flash?: { notice?: string; noticeHtml?: string; error?: string }; typed?: Partial<z.infer<typeof OverrideForm>> } = {},
): string {
  const zone = detail.timeZone;
  const now = detail.onCall
    ? `<p class="on-call"><strong>${e(detail.onCall.person.name)}</strong> until ${when(detail.onCall.until, zone)}</p><p class="muted">Why: ${whyInWords(detail.onCall.source, names)}</p>`
    : '<p class="bad"><strong>Nobody is on call now.</strong></p>';
  const layers = detail.layers
    .map((l) => {
      const windows = l.restrictions?.map((r) => `${r.days.join(', ')} ${r.from}–${r.to}`).join('; ');
      return `<li><code>${e(l.id)}</code>: ${e(l.members.map((m) => m.name).join(' → '))}, ${e(l.shift)} shifts from ${e(l.start)}${windows ? `, only ${e(windows)}` : ''}</li>`;
    })
    .join('');
  return `<link rel="stylesheet" href="/console/assets/schedules.css"><script src="/console/assets/schedules.js" defer></script>
<h1>${e(detail.name)}</h1>
<p class="muted">On-call schedule <code>${e(detail.id)}</code> of ${e(detail.systemId)}. Times in ${e(zone)}<span class="viewer-zone" data-viewer-zone="${e(zone)}"></span>.</p>
${flashHtml(options.flash ?? {})}
<div class="grid two"><div>
<section class="card" aria-labelledby="now-h"><h2 id="now-h">On call now</h2>${now}</section>
<section class="card" aria-labelledby="shifts-h"><h2 id="shifts-h">Next two weeks</h2>${shiftRows(detail.upcoming, zone, names)}</section>
<section class="card" aria-labelledby="gaps-h"><h2 id="gaps-h">Gaps</h2>${gapsHtml(detail.gaps, zone)}</section>
</div><div>
<section class="card" aria-labelledby="overrides-h"><h2 id="overrides-h">Overrides</h2>${overridesHtml(detail, viewer, names)}<h3>Add an override</h3>${overrideFormHtml(detail, found, viewer, options.typed)}</section>
<section class="card" aria-labelledby="layers-h"><h2 id="layers-h">Rotation</h2><ul class="plain">${layers}</ul><p>Fallback: ${detail.fallback ? e(detail.fallback.name) : '<span class="bad">none: gaps leave nobody on call</span>'}</p></section>
<section class="card" aria-labelledby="subscribe-h"><h2 id="subscribe-h">Subscribe</h2><p>A calendar feed of the next eight weeks, at a secret address shown once.</p>
<div class="actions"><form class="inline" method="post" action="/console/schedules/${e(detail.id)}/feed">${csrf(viewer)}<input type="hidden" name="of" value="schedule"><button type="submit">Subscribe to this schedule</button></form>
<form class="inline" method="post" action="/console/schedules/${e(detail.id)}/feed">${csrf(viewer)}<input type="hidden" name="of" value="me"><button type="submit" class="secondary">Subscribe to my shifts</button></form></div></section>
</div></div>`;
}

function listMain(schedules: FoundSchedule[], onCall: Map<string, string>): string {
  if (schedules.length === 0) return '<h1>On-call schedules</h1><p class="muted">No runbook defines a schedule.</p>';
  const rows = schedules
    .map(
      (s) =>
        `<tr><td data-label="Schedule"><div class="cell"><a href="/console/schedules/${e(s.schedule.id)}">${e(s.schedule.name)}</a></div></td><td data-label="System"><div class="cell">${e(s.systemId)}</div></td><td data-label="On call now"><div class="cell">${e(onCall.get(s.schedule.id) ?? 'nobody')}</div></td></tr>`,
    )
    .join('');
  return `<h1>On-call schedules</h1><section class="card"><table class="stack"><thead><tr><th scope="col">Schedule</th><th scope="col">System</th><th scope="col">On call now</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

// Fills each instant's slot with the viewer's own time when their zone differs from the schedule's.
const script = `(function () {
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  var label = document.querySelector('[data-viewer-zone]');
  if (!label || label.getAttribute('data-viewer-zone') === zone) return;
  label.textContent = ' (and yours, ' + zone + ', in grey)';
  var format = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' });
  document.querySelectorAll('[data-viewer-time]').forEach(function (slot) {
    slot.textContent = ' · ' + format.format(new Date(slot.getAttribute('data-viewer-time')));
  });
})();
`;

const stylesheet = `.viewer-time { display: block; font-size: 0.85em; }
.on-call { font-size: 1.25em; margin: 0.25em 0; }
form.override input, form.override select { width: 100%; max-width: 24rem; box-sizing: border-box; }
li.override-item { padding: 0.5em 0; border-bottom: 1px solid #ddd; }
li.override-item form { margin-top: 0.35em; }
table.stack td .cell { overflow-wrap: anywhere; }
/* On a phone: who is on call, overrides and subscribing first; the long list of shifts after. */
@media (max-width: 899px) {
  section[aria-labelledby="now-h"] { order: -3; } section[aria-labelledby="overrides-h"] { order: -2; } section[aria-labelledby="subscribe-h"] { order: -1; } section[aria-labelledby="layers-h"] { order: 2; }
}
code.feed-url { display: block; overflow-wrap: anywhere; word-break: break-all; }
`;

export function scheduleConsoleRoutes(scope: CorrexApp, deps: RouteDependencies, kit: ConsolePageKit): void {
  const hidden = { hide: true } as const;
  const namesOf = (found: FoundSchedule) => (id: string) => found.people.find((p) => p.id === id)?.name ?? id;

  scope.get('/console/assets/schedules.js', { config: { access: 'public' }, schema: hidden }, async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').send(script),
  );
  scope.get('/console/assets/schedules.css', { config: { access: 'public' }, schema: hidden }, async (_request, reply) =>
    reply.type('text/css; charset=utf-8').send(stylesheet),
  );

  const page = async (
    request: FastifyRequest,
    reply: FastifyReply,
    found: FoundSchedule,
    options: Parameters<typeof scheduleMain>[4] & { status?: number } = {},
  ) => {
    const detail = await scheduleDetail(deps, found, new Date());
    const viewer = await kit.viewerOf(request);
    return kit.render(request, reply, {
      title: found.schedule.name,
      section: 'schedules',
      main: scheduleMain(detail, found, viewer, namesOf(found), options),
      ...(options.status ? { status: options.status } : {}),
    });
  };

  scope.get('/console/schedules', { config: { access: { session: readers } }, schema: hidden }, async (request, reply) => {
    const schedules = await listSchedules(deps.db, deps.runbooks);
    const onCall = new Map<string, string>();
    for (const found of schedules) {
      const detail = await scheduleDetail(deps, found, new Date());
      if (detail.onCall) onCall.set(found.schedule.id, detail.onCall.person.name);
    }
    return kit.render(request, reply, { title: 'On-call schedules', section: 'schedules', main: listMain(schedules, onCall) });
  });

  scope.get('/console/schedules/:id', { config: { access: { session: readers } }, schema: hidden }, async (request, reply) => {
    const { id } = ScheduleParams.parse(request.params);
    const found = await scheduleOr404(deps, id);
    const done = (request.query as Record<string, unknown>).done;
    const notice = { override: 'Override added.', cancelled: 'Override cancelled.' }[String(done)];
    return page(request, reply, found, notice ? { flash: { notice } } : {});
  });

  scope.post('/console/schedules/:id/overrides', { config: { access: { session: writers } }, schema: hidden }, async (request, reply) => {
    const { id } = ScheduleParams.parse(request.params);
    const found = await scheduleOr404(deps, id);
    const body = (request.body ?? {}) as Record<string, unknown>;
    const typed = { person: String(body.person ?? ''), from: String(body.from ?? ''), to: String(body.to ?? ''), reason: String(body.reason ?? '') };
    const form = OverrideForm.safeParse(typed);
    const refuse = (message: string) => page(request, reply, found, { flash: { error: message }, typed, status: 400 });
    if (!form.success) return refuse(form.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const zone = found.schedule.timeZone;
    try {
      await createOverride(deps.db, found, {
        scheduleId: found.schedule.id,
        person: form.data.person,
        startsAt: DateTime.fromISO(form.data.from, { zone }).toJSDate(),
        endsAt: DateTime.fromISO(form.data.to, { zone }).toJSDate(),
        reason: form.data.reason,
        createdBy: request.principal!.owner,
      });
    } catch (error) {
      if (error instanceof InvalidInput) return refuse(error.errors.map((f) => `${f.path}: ${f.message}`).join('; '));
      throw error;
    }
    return reply.redirect(`/console/schedules/${found.schedule.id}?done=override`, 303);
  });

  scope.post('/console/schedules/:id/overrides/:overrideId/cancel', { config: { access: { session: writers } }, schema: hidden }, async (request, reply) => {
    const { id, overrideId } = OverrideParams.parse(request.params);
    const found = await scheduleOr404(deps, id);
    const cancelled: StoredOverride | undefined = await cancelOverride(deps.db, found.schedule.id, overrideId, request.principal!.owner);
    if (!cancelled) throw new ActionRefused(`schedule ${found.schedule.id} has no override ${overrideId}`);
    return reply.redirect(`/console/schedules/${found.schedule.id}?done=cancelled`, 303);
  });

  scope.post('/console/schedules/:id/feed', { config: { access: { session: readers } }, schema: hidden }, async (request, reply) => {
    const { id } = ScheduleParams.parse(request.params);
    const found = await scheduleOr404(deps, id);
    const mine = (request.body as Record<string, unknown> | undefined)?.of === 'me';
    const owner = request.principal!.owner;
    const feed = await createFeed(deps.db, mine ? { personId: owner } : { scheduleId: found.schedule.id }, owner);
    const url = feedUrl(process.env.CORREX_PUBLIC_URL ?? `${request.protocol}://${request.host}`, feed.secret);
    const webcal = url.replace(/^https?:/, 'webcal:');
    const noticeHtml = `${mine ? 'Your shifts under every schedule' : 'This schedule'} as a calendar: <a href="${e(webcal)}">subscribe</a> or add this address to your calendar. It is shown only now; anyone with it can read the feed.<br><code class="feed-url">${e(url)}</code>`;
    return page(request, reply, found, { flash: { noticeHtml } });
  });
}
