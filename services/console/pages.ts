import { createHash } from 'node:crypto';
import type { Principal } from '../access/roles.js';
import type { CorrectionRow, IncidentRow, NotificationRow, TimelineEventRow } from '../db/schema.js';
import type { FallbackRow } from '../notification/repository.js';
import { incidentStates } from '../incident/schema.js';
import { escapeHtml as e, formatInstant } from '../html.js';
import type { TaskRow } from '../task/repository.js';
import type { ChainCheck } from '../timeline/chain.js';
import type { RegulatoryClockSnapshot } from '../../workflows/regulatory/messages.js';
import type { PendingDecision } from './decisions.js';

export interface Viewer {
  principal: Principal;
  /** Display name from the runbooks, or the person id. */
  name: string;
  csrf: string;
  /** The outbox page exists in local mode only. */
  outbox: boolean;
  pendingCount: number;
}

export type Section = 'incidents' | 'decisions' | 'compliance' | 'outbox';

export const isCompliance = (p: Principal) => p.roles.includes('compliance') || p.roles.includes('admin');

/** A part of a page the script may swap when its content changes (the digest says whether it did). */
export function region(name: string, html: string): string {
  const digest = createHash('sha1').update(html).digest('base64url');
  return `<div data-region="${e(name)}" data-digest="${digest}">${html}</div>`;
}

/** An instant shown as an age by the script, with the exact time for everyone (and without script). */
export function ago(at: Date | string | null | undefined, mode: 'ago' | 'for' = 'ago'): string {
  if (!at) return '<span class="muted">-</span>';
  const iso = typeof at === 'string' ? at : at.toISOString();
  return `<time datetime="${e(iso)}" data-age="${mode}" title="${e(formatInstant(iso))}">${e(formatInstant(iso))}</time>`;
}

const csrfField = (viewer: Viewer) => `<input type="hidden" name="_csrf" value="${e(viewer.csrf)}">`;
export const severityBadge = (severity: string) => `<span class="badge sev-${e(severity)}">${e(severity)}</span>`;
export const stateBadge = (state: string) => `<span class="badge state">${e(state.replace(/_/g, ' '))}</span>`;

export function layout(options: { title: string; viewer?: Viewer; section?: Section; main: string; live?: boolean }): string {
  const { viewer } = options;
  const link = (section: Section, href: string, label: string) => `<a href="${href}"${options.section === section ? ' aria-current="page"' : ''}>${label}</a>`;
  const nav = viewer
    ? `<nav aria-label="Console">${link('incidents', '/console', 'Incidents')}${link('decisions', '/console/decisions', `Decisions${viewer.pendingCount ? ` <span class="badge">${viewer.pendingCount}</span>` : ''}`)}${
        isCompliance(viewer.principal) ? link('compliance', '/console/compliance', 'Compliance') : ''
      }${viewer.outbox ? link('outbox', '/console/outbox', 'Outbox') : ''}</nav>
<div class="who"><span>${e(viewer.name)} <span class="muted">(${e(viewer.principal.roles.join(', '))})</span></span>
<form class="inline" method="post" action="/console/sign-out">${csrfField(viewer)}<button type="submit">Sign out</button></form></div>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(options.title)} · Correx</title><link rel="stylesheet" href="/console/assets/console.css"></head>
<body><a class="skip" href="#main">Skip to content</a>
<header class="bar"><a class="brand" href="/console">Correx</a>${nav}</header>
<main id="main"${options.live ? ' data-live' : ''}>${options.main}</main>
<script src="/console/assets/console.js" defer></script></body></html>`;
}

export function signInPage(options: { csrf: string; next: string; error?: string; localAdmin: boolean }): string {
  return layout({
    title: 'Sign in',
    main: `<section class="card signin"><h1>Sign in to Correx</h1>
${options.error ? `<p class="error" role="alert">${e(options.error)}</p>` : ''}
<form method="post" action="/console/sign-in">
<input type="hidden" name="_csrf" value="${e(options.csrf)}"><input type="hidden" name="next" value="${e(options.next)}">
<p><label for="token">Your personal API token</label><br>
<input id="token" name="token" type="password" autocomplete="current-password" required aria-describedby="token-help" spellcheck="false"></p>
<p id="token-help" class="muted">A token from <code>correx token create --owner &lt;you&gt; --role …</code>. The console keeps a session cookie; the token is not stored in the browser.</p>
<div class="actions"><button type="submit">Sign in</button></div></form>
${options.localAdmin ? '<p class="muted">Local mode: to sign in as the local administrator, open the sign-in link <code>correx dev</code> printed (it is also in its data folder, <code>console-sign-in.url</code>).</p>' : ''}</section>`,
  });
}

export function messagePage(options: { title: string; message: string; viewer?: Viewer; back?: string }): string {
  return layout({
    title: options.title,
    ...(options.viewer ? { viewer: options.viewer } : {}),
    main: `<section class="card"><h1>${e(options.title)}</h1><p>${e(options.message)}</p>${options.back ? `<p><a href="${e(options.back)}">Back</a></p>` : ''}</section>`,
  });
}

// ---- incidents ----

/** The incident list's state filter: the open incidents (the default), all of them, or those in one state. */
export const incidentListStates = ['open', 'all', ...incidentStates] as const;

export interface IncidentListFilter {
  state: (typeof incidentListStates)[number];
  severity: string;
  systemId: string;
}

const listStateLabel = (state: IncidentListFilter['state']) =>
  state === 'open' ? 'Open (not closed)' : state === 'all' ? 'All' : `${state[0]!.toUpperCase()}${state.slice(1)}`;

/** The list of incidents; its filters offer the runbooks' systems and severities. */
export function incidentsMain(
  incidents: IncidentRow[],
  filter: IncidentListFilter,
  choices: { systems: string[]; severities: string[] },
  names: Map<string, string>,
): string {
  const option = (value: string, label: string, selected: string) => `<option value="${e(value)}"${value === selected ? ' selected' : ''}>${e(label)}</option>`;
  const filters = `<form class="filters" method="get" action="/console" aria-label="Filter incidents">
<label>State<select name="state">${incidentListStates.map((state) => option(state, listStateLabel(state), filter.state)).join('')}</select></label>
<label>Severity<select name="severity">${option('', 'Any', filter.severity)}${choices.severities.map((s) => option(s, s, filter.severity)).join('')}</select></label>
<label>System<select name="systemId">${option('', 'Any', filter.systemId)}${choices.systems.map((s) => option(s, s, filter.systemId)).join('')}</select></label>
<button type="submit" class="secondary">Filter</button></form>`;
  const rows = incidents
    .map(
      (i) => `<tr><td data-label="Severity">${severityBadge(i.severity)}</td>
<td data-label="Incident"><a href="/console/incidents/${e(i.id)}">${e(i.title)}</a>${i.drill ? ' <span class="badge state">drill</span>' : ''}</td>
<td data-label="System">${e(i.system_id)}</td><td data-label="State">${stateBadge(i.state)}</td>
<td data-label="Commander">${i.commander ? e(names.get(i.commander) ?? i.commander) : '<span class="muted">none yet</span>'}</td>
<td data-label="Opened">${ago(i.opened_at)}</td></tr>`,
    )
    .join('');
  const table = incidents.length
    ? `<table class="stack"><thead><tr><th scope="col">Severity</th><th scope="col">Incident</th><th scope="col">System</th><th scope="col">State</th><th scope="col">Commander</th><th scope="col">Opened</th></tr></thead><tbody>${rows}</tbody></table>`
    : '<p class="muted">No incident matches these filters.</p>';
  return `<h1>Incidents</h1><p class="live" id="live-status" aria-live="polite"></p>${filters}<section class="card" aria-label="Incident list">${region('incidents', table)}</section>`;
}

// ---- one incident ----

export interface IncidentView {
  incident: IncidentRow;
  names: Map<string, string>;
  live: { joinedTriggers: number; unavailable?: string } | undefined;
  pending: PendingDecision[];
  corrections: CorrectionRow[];
  clocks: (RegulatoryClockSnapshot | { regimeId: string; unavailable: string })[];
  notifications: NotificationRow[];
  /** The runbook's consumers of the system, to name who was notified and whose fallback runs. */
  consumers: { id: string; name: string; email: string | undefined }[];
  fallbacks: Pick<
    FallbackRow,
    'consumer_id' | 'method' | 'state' | 'action' | 'last_error' | 'next_attempt_at' | 'activated_at' | 'deactivated_at' | 'correction_id'
  >[];
  tasks: TaskRow[];
  /** The newest events (of the kind filtered on), newest first. */
  timeline: TimelineEventRow[];
  timelineTotal: number;
  /** At most this many are shown. */
  timelineLimit: number;
  kinds: string[];
  kindFilter: string;
  chain: ChainCheck | undefined;
  flash?: { notice?: string; error?: string; draft?: { id: string; rationale: string } };
}

const nameOf = (names: Map<string, string>, id: string | null | undefined) => (id ? (names.get(id) ?? id) : '');

function scopeText(scope: Record<string, unknown>): string {
  const parts = Object.entries(scope)
    .filter(([, v]) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  return parts.length ? parts.join('; ') : 'everyone';
}

export function decisionCard(
  item: PendingDecision,
  viewer: Viewer,
  names: Map<string, string>,
  options: { showIncident: boolean; draft?: { id: string; rationale: string } | undefined },
): string {
  const from = options.showIncident ? '<input type="hidden" name="from" value="inbox">' : '';
  const incidentLine = options.showIncident
    ? `<p>${severityBadge(item.incident.severity)} <a href="/console/incidents/${e(item.incident.id)}">${e(item.incident.title)}</a> <span class="muted">${e(item.incident.system_id)}</span></p>`
    : '';
  if (item.kind === 'correction') {
    const c = item.correction;
    const field = `rationale-${item.id}`;
    const draft = options.draft?.id === item.id ? options.draft.rationale : '';
    return `<article class="decision" aria-labelledby="decision-${e(item.id)}"><h3 id="decision-${e(item.id)}">${c.state === 'awaiting-ratification' ? 'Ratify' : 'Decide on'} <strong>${e(c.kind.replace(/_/g, ' '))}</strong>${c.breakGlass ? ' (break-glass, already applied)' : ''}</h3>
${incidentLine}<dl class="facts"><dt>Scope</dt><dd>${e(scopeText(c.scope))}</dd><dt>Reason</dt><dd>${e(c.reason)}</dd>
<dt>Proposed</dt><dd>by ${e(nameOf(names, c.proposedBy))}, ${ago(c.proposedAt)}</dd>
<dt>Authority</dt><dd>${e(item.rule)}</dd><dt>Your vote</dt><dd>counts for ${e(item.votesAs)}</dd>
<dt>Votes so far</dt><dd>${item.votes.length ? item.votes.map((v) => `${e(nameOf(names, v.actor))} (${e(v.role)}): ${e(v.decision)}`).join('; ') : 'none'}</dd></dl>
<form method="post" action="/console/corrections/${e(item.id)}/decision">${csrfField(viewer)}${from}
<p><label for="${field}">Rationale (required, recorded on the timeline)</label><textarea id="${field}" name="rationale" required maxlength="2000">${e(draft)}</textarea></p>
<div class="actions"><button type="submit" name="decision" value="approve">Approve ${e(c.kind.replace(/_/g, ' '))}</button><button type="submit" name="decision" value="reject" class="danger">Reject</button></div></form></article>`;
  }
  if (item.kind === 'report') {
    return `<article class="decision"><h3>Approve and send regulator report</h3>${incidentLine}
<dl class="facts"><dt>Report</dt><dd>${e(item.subject)}</dd><dt>Regime</dt><dd>${e(item.regime ?? '-')}</dd><dt>Due</dt><dd>${ago(item.dueAt)}</dd></dl>
<form method="post" action="/console/reports/${e(item.id)}/approve">${csrfField(viewer)}${from}
<p><label for="late-${e(item.id)}">Reason for lateness (only if the deadline has passed)</label><textarea id="late-${e(item.id)}" name="lateReason" maxlength="2000"></textarea></p>
<div class="actions"><button type="submit">Approve and send</button></div></form></article>`;
  }
  if (item.kind === 'sign-off') {
    return `<article class="decision"><h3>Sign off the after-action review</h3>${incidentLine}
<p>Submitted by ${e(nameOf(names, item.submittedBy))}; every task is done or dropped. Signing off closes the incident (needs one of ${e(item.roles.join(', '))}).</p>
<form method="post" action="/console/incidents/${e(item.id)}/review/sign-off">${csrfField(viewer)}${from}
<div class="actions"><button type="submit">Sign off and close</button></div></form></article>`;
  }
  return `<article class="decision"><h3>Follow-up task: ${e(item.title)}</h3>${incidentLine}<p>Due ${ago(item.dueAt)}</p>
<form method="post" action="/console/tasks/${e(item.id)}/done">${csrfField(viewer)}${from}
<p><label for="note-${e(item.id)}">Note (optional)</label><textarea id="note-${e(item.id)}" name="note" maxlength="2000"></textarea></p>
<div class="actions"><button type="submit">Mark done</button></div></form></article>`;
}

function describeEvent(event: TimelineEventRow): string {
  const data = event.data as Record<string, unknown>;
  const prose = ['rationale', 'reason', 'note', 'summary', 'title', 'subject', 'detail', 'message']
    .filter((k) => typeof data[k] === 'string' && data[k])
    .map((k) => `<p class="detail"><span class="muted">${e(k)}:</span> ${e(data[k])}</p>`)
    .join('');
  const facts = Object.entries(data)
    .filter(
      ([k, v]) =>
        !['rationale', 'reason', 'note', 'summary', 'title', 'subject', 'detail', 'message'].includes(k) &&
        v !== null &&
        v !== undefined &&
        typeof v !== 'object',
    )
    .slice(0, 6)
    .map(([k, v]) => `${e(k)}: ${e(v)}`)
    .join(' · ');
  return `${prose}${facts ? `<p class="detail muted">${facts}</p>` : ''}`;
}

export function incidentMain(view: IncidentView, viewer: Viewer): string {
  const { incident: i, names } = view;
  const flash = `${view.flash?.notice ? `<p class="notice" role="status">${e(view.flash.notice)}</p>` : ''}${view.flash?.error ? `<p class="error" role="alert">${e(view.flash.error)}</p>` : ''}`;

  const summary = `<section class="card" aria-labelledby="summary-h"><h2 id="summary-h">Now</h2><dl class="facts">
<dt>State</dt><dd>${stateBadge(i.state)}${i.drill ? ' <span class="badge state">drill</span>' : ''}</dd>
<dt>Commander</dt><dd>${i.commander ? e(nameOf(names, i.commander)) : '<span class="bad">nobody has acknowledged yet</span>'}</dd>
<dt>System</dt><dd>${e(i.system_id)}</dd><dt>Opened</dt><dd>${ago(i.opened_at)} by ${e(nameOf(names, i.opened_by))}</dd>
${i.classification.length ? `<dt>Classes</dt><dd>${e(i.classification.join(', '))}</dd>` : ''}
${view.live?.joinedTriggers ? `<dt>Repeat triggers</dt><dd>${view.live.joinedTriggers}</dd>` : ''}
${view.live?.unavailable ? `<dt>Workflow</dt><dd class="muted">${e(view.live.unavailable)}</dd>` : ''}</dl></section>`;

  const waiting = `<section class="card" aria-labelledby="waiting-h" id="decisions"><h2 id="waiting-h">Waiting on you</h2>${
    view.pending.length
      ? view.pending.map((p) => decisionCard(p, viewer, names, { showIncident: false, draft: view.flash?.draft })).join('')
      : '<p class="muted">Nothing here waits on you.</p>'
  }</section>`;

  const inForce = (c: CorrectionRow) => (c.applied_at && !c.lifted_at ? `active ${ago(c.applied_at, 'for')}` : c.lifted_at ? `lifted ${ago(c.lifted_at)}` : '');
  const corrections = `<section class="card" aria-labelledby="corrections-h" id="corrections"><h2 id="corrections-h">Corrections</h2>${
    view.corrections.length
      ? `<table class="stack"><thead><tr><th scope="col">Correction</th><th scope="col">Scope</th><th scope="col">State</th><th scope="col">Proposed</th><th scope="col">In force</th></tr></thead><tbody>${view.corrections
          .map(
            (
              c,
            ) => `<tr data-correction="${e(c.id)}"><td data-label="Correction"><strong>${e(c.kind.replace(/_/g, ' '))}</strong>${c.break_glass ? ' <span class="badge">break-glass</span>' : ''}<br><span class="muted">${e(c.reason)}</span></td>
<td data-label="Scope">${e(scopeText(c.scope))}</td><td data-label="State">${stateBadge(c.state)}</td>
<td data-label="Proposed">${e(nameOf(names, c.proposed_by))}, ${ago(c.proposed_at)}</td><td data-label="In force">${inForce(c) || '<span class="muted">-</span>'}</td></tr>`,
          )
          .join('')}</tbody></table>`
      : '<p class="muted">No correction proposed.</p>'
  }</section>`;

  const clockRows = view.clocks.flatMap((regime) =>
    'unavailable' in regime
      ? [`<tr><td data-label="Regime">${e(regime.regimeId)}</td><td data-label="Report" colspan="3" class="muted">${e(regime.unavailable)}</td></tr>`]
      : regime.clocks.map((c) => {
          const state = c.late && c.state !== 'sent-late' ? `${c.state}, late` : c.state;
          const due = c.dueAt ? (c.submittedAt ? formatInstant(c.dueAt) : ago(c.dueAt)) : 'not started';
          return `<tr><td data-label="Regime">${e(regime.regimeName)}${regime.withdrawn ? ' <span class="muted">(withdrawn)</span>' : ''}</td><td data-label="Report">${e(c.report)}${c.occurrence > 1 ? ` #${c.occurrence}` : ''}</td>
<td data-label="Due">${due}</td><td data-label="State"><span class="${c.late || c.state === 'sent-late' ? 'bad' : c.state === 'sent' ? 'ok' : ''}">${e(state)}</span>${c.submittedAt ? ` <span class="muted">sent ${e(formatInstant(c.submittedAt))}</span>` : ''}</td></tr>`;
        }),
  );
  const clocks = `<section class="card" aria-labelledby="clocks-h"><h2 id="clocks-h">Regulator clocks</h2>${
    clockRows.length
      ? `<table class="stack"><thead><tr><th scope="col">Regime</th><th scope="col">Report</th><th scope="col">Due</th><th scope="col">State</th></tr></thead><tbody>${clockRows.join('')}</tbody></table>`
      : '<p class="muted">No regulator clock runs for this incident (its classes start none).</p>'
  }</section>`;

  const notices = view.notifications.filter((n) => n.audience !== 'regulator');
  const consumerRows = view.consumers
    .map((consumer) => {
      const notice = notices.filter((n) => n.recipient === consumer.email);
      const fallbacks = view.fallbacks.filter((f) => f.consumer_id === consumer.id);
      if (notice.length === 0 && fallbacks.length === 0) return '';
      // Which notice it was (in force, lifted), not only that a mail went out.
      const noticeLabel = (key: string | null, subject: string) =>
        key?.endsWith(':notice-applied') ? 'in force' : key?.endsWith(':notice-lifted') ? 'lifted' : subject;
      const fallbackCell = (f: IncidentView['fallbacks'][number]) => {
        if (f.state !== 'failing') {
          const since = f.state === 'inactive' ? f.deactivated_at : f.activated_at;
          return `${e(f.method)}: ${stateBadge(f.state)}${since ? ` ${ago(since)}` : ''}`;
        }
        const next = f.next_attempt_at ? `next attempt ${ago(f.next_attempt_at)}` : 'given up at close';
        return `${e(f.method)}: <span class="badge state failing">failing to ${f.action === 'deactivate' ? 'switch off' : 'switch on'}</span><br><span class="muted">${e(f.last_error ?? '')} · ${next}</span>`;
      };
      return `<tr><td data-label="Consumer">${e(consumer.name)}</td><td data-label="Notice">${notice.map((n) => `${e(noticeLabel(n.idempotency_key, n.subject))}: ${e(n.state)}${n.sent_at ? ` ${ago(n.sent_at)}` : ''}`).join('<br>') || '<span class="muted">-</span>'}</td>
<td data-label="Fallback">${fallbacks.map(fallbackCell).join('<br>') || '<span class="muted">-</span>'}</td></tr>`;
    })
    .join('');
  const consumerEmails = new Set(view.consumers.map((c) => c.email));
  const otherNotices = notices.filter((n) => !consumerEmails.has(n.recipient));
  const consumers = `<section class="card" aria-labelledby="consumers-h"><h2 id="consumers-h">Consumers and fallbacks</h2>${
    consumerRows
      ? `<table class="stack"><thead><tr><th scope="col">Consumer</th><th scope="col">Notice</th><th scope="col">Fallback</th></tr></thead><tbody>${consumerRows}</tbody></table>`
      : '<p class="muted">No consumer has been notified.</p>'
  }${
    otherNotices.length
      ? `<h3>Other notices</h3><ul>${otherNotices.map((n) => `<li>${e(n.audience)}: ${e(n.recipient)} · ${e(n.state)}${n.sent_at ? ` ${ago(n.sent_at)}` : ''}</li>`).join('')}</ul>`
      : ''
  }</section>`;

  const tasks = `<section class="card" aria-labelledby="tasks-h"><h2 id="tasks-h">After-action tasks</h2>${
    view.tasks.length
      ? `<table class="stack"><thead><tr><th scope="col">Task</th><th scope="col">Owner</th><th scope="col">Due</th><th scope="col">State</th></tr></thead><tbody>${view.tasks
          .map(
            (t) =>
              `<tr><td data-label="Task">${e(t.title)}</td><td data-label="Owner">${e(nameOf(names, t.owner) || t.owner_role)}</td><td data-label="Due">${t.state === 'open' ? ago(t.due_at) : e(formatInstant(t.due_at))}</td><td data-label="State">${stateBadge(t.state)}</td></tr>`,
          )
          .join('')}</tbody></table>`
      : '<p class="muted">Tasks are created when the incident is resolved.</p>'
  }</section>`;

  const timeline = `<section class="card" aria-labelledby="timeline-h" id="timeline"><h2 id="timeline-h">Timeline</h2>
<form class="filters" method="get" action="/console/incidents/${e(i.id)}#timeline"><label>Kind<select name="kind"><option value="">All kinds</option>${view.kinds
    .map((k) => `<option value="${e(k)}"${k === view.kindFilter ? ' selected' : ''}>${e(k)}</option>`)
    .join('')}</select></label><button type="submit" class="secondary">Show</button></form>
${region(
  'timeline',
  `<p class="muted">${timelineCaption(view)}</p><ol class="timeline">${view.timeline
    .map(
      (t) =>
        `<li data-kind="${e(t.kind)}"><span class="what">${e(t.kind)}</span> · ${e(nameOf(names, t.actor))} · ${ago(t.occurred_at)} <span class="muted">#${t.seq}</span>${describeEvent(t)}</li>`,
    )
    .join('')}</ol>`,
)}</section>`;

  const compliance = isCompliance(viewer.principal)
    ? `<section class="card" aria-labelledby="compliance-h"><h2 id="compliance-h">Compliance</h2>${region('chain', chainStatus(view.chain))}${exportButtons(i.id)}</section>`
    : '';

  return `<h1>${severityBadge(i.severity)} ${e(i.title)}</h1><p class="live" id="live-status" aria-live="polite"></p>${flash}
<div class="grid two"><div>${region('waiting', waiting)}${region('corrections', corrections)}${region('timeline-card', timeline)}</div>
<div>${region('summary', summary)}${region('clocks', clocks)}${region('consumers', consumers)}${region('tasks', tasks)}${compliance}</div></div>`;
}

function timelineCaption(view: IncidentView): string {
  const shown = view.timeline.length;
  const cut = shown === view.timelineLimit ? ' Export the timeline for all of them.' : '';
  if (view.kindFilter)
    return `${cut ? `The newest ${shown}` : shown} ${e(view.kindFilter)} event${shown === 1 ? '' : 's'}, of ${view.timelineTotal} in all.${cut}`;
  return cut ? `The newest ${shown} of ${view.timelineTotal} events.${cut}` : `${view.timelineTotal} event${view.timelineTotal === 1 ? '' : 's'}.`;
}

export function chainStatus(chain: ChainCheck | undefined): string {
  if (!chain) return '<p class="muted">Chain not checked.</p>';
  return chain.ok
    ? `<p class="ok" data-chain="verified">Chain verified: ${chain.events} events, head <code>${e(chain.headHash.slice(0, 16))}…</code></p>`
    : `<p class="bad" data-chain="broken">Chain broken at event ${chain.brokenAt}: ${e(chain.reason)}</p>`;
}

export function exportButtons(incidentId: string): string {
  const base = `/console/exports?incidentId=${encodeURIComponent(incidentId)}`;
  return `<div class="actions"><a class="button" href="${base}&amp;format=json" download>Export JSON (signed)</a><a class="button secondary" href="${base}&amp;format=csv" download>Export CSV</a><a class="button secondary" href="/console/incidents/${e(incidentId)}/report">Printable report</a></div>`;
}

// ---- inbox, compliance, outbox ----

export function decisionsMain(pending: PendingDecision[], viewer: Viewer, names: Map<string, string>, flash?: { notice?: string; error?: string }): string {
  const body = pending.length
    ? pending.map((p) => decisionCard(p, viewer, names, { showIncident: true })).join('')
    : '<p class="muted">Nothing waits on you. New proposals appear here as they arrive.</p>';
  return `<h1>Waiting on you</h1><p class="live" id="live-status" aria-live="polite"></p>${flash?.notice ? `<p class="notice" role="status">${e(flash.notice)}</p>` : ''}${
    flash?.error ? `<p class="error" role="alert">${e(flash.error)}</p>` : ''
  }${region('inbox', `<section class="card" aria-label="Pending decisions">${body}</section>`)}`;
}

export function complianceMain(rows: { incident: IncidentRow; chain: ChainCheck }[], systems: string[]): string {
  const table = rows.length
    ? `<table class="stack"><thead><tr><th scope="col">Incident</th><th scope="col">Opened</th><th scope="col">Chain</th><th scope="col">Exports</th></tr></thead><tbody>${rows
        .map(
          ({
            incident: i,
            chain,
          }) => `<tr><td data-label="Incident">${severityBadge(i.severity)} <a href="/console/incidents/${e(i.id)}">${e(i.title)}</a> <span class="muted">${e(i.system_id)} · ${e(i.state)}</span></td>
<td data-label="Opened">${e(formatInstant(i.opened_at))}</td><td data-label="Chain">${chainStatus(chain)}</td><td data-label="Exports">${exportButtons(i.id)}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '<p class="muted">No incidents yet.</p>';
  const selection = `<form class="filters" method="get" action="/console/exports" aria-label="Export a selection">
<label>System<select name="systemId"><option value="">Any</option>${systems.map((s) => `<option value="${e(s)}">${e(s)}</option>`).join('')}</select></label>
<label>From<input type="date" name="from"></label><label>To<input type="date" name="to"></label>
<label>Format<select name="format"><option value="json">JSON (signed)</option><option value="csv">CSV</option></select></label>
<button type="submit">Export selection</button></form>`;
  return `<h1>Compliance</h1><p class="live" id="live-status" aria-live="polite"></p>
<section class="card"><h2>Export a selection</h2><p class="muted">Every export is recorded on the timeline of each incident it contains. Verify a JSON export offline with <code>correx audit verify FILE</code>.</p>${selection}</section>
<section class="card"><h2>Incidents and their chains</h2>${region('chains', table)}</section>`;
}

export interface OutboxMail {
  file: string;
  at: Date;
  to: string;
  subject: string;
  text: string;
  drill: boolean;
}

export function outboxMain(mails: OutboxMail[], folder: string): string {
  const body = mails.length
    ? mails
        .map(
          (
            m,
          ) => `<article class="card"><h2>${e(m.subject)}${m.drill ? ' <span class="badge state">drill</span>' : ''}</h2><dl class="facts"><dt>To</dt><dd>${e(m.to)}</dd><dt>Written</dt><dd>${ago(m.at)}</dd><dt>File</dt><dd><code>${e(m.file)}</code></dd></dl>
<details><summary>Message</summary><pre>${e(m.text)}</pre></details></article>`,
        )
        .join('')
    : '<p class="muted">No mail yet.</p>';
  return `<h1>Outbox</h1><p class="muted">Local mode sends no mail: this is what Correx would have sent, newest first, from <code>${e(folder)}</code>.</p><p class="live" id="live-status" aria-live="polite"></p>${region('outbox', body)}`;
}
