import { createHash } from 'node:crypto';
import type { Principal } from '../access/roles.js';
import type { CorrectionRow, IncidentRow, NotificationRow, TimelineEventRow } from '../db/schema.js';
import type { FallbackRow } from '../notification/repository.js';
import { incidentStates } from '../incident/schema.js';
import { capitalised, correctionInWords, kindInWords, momentInWords, parametersInWords, scopeInWords } from '../correction/wording.js';
import type { CorrectionKind } from '../correction/schema.js';
import type { AuthorityRule } from '../correction/authority.js';
import type { EnforcementStatus } from '../correction/policy-versions.js';
import { escapeHtml as e, formatInstant } from '../html.js';
import type { TaskRow } from '../task/repository.js';
import type { AlertView } from '../monitoring/alerts.js';
import type { ChainCheck } from '../timeline/chain.js';
import type { RegulatoryClockSnapshot } from '../../workflows/regulatory/messages.js';
import type { AffectedConsumer, CorrectionDecision, Outstanding, PendingDecision } from './decisions.js';
import type { CurrentReport } from '../regulatory/content.js';
import { escalationInWords, type EscalationProgress } from '../escalation/wording.js';

export interface Viewer {
  principal: Principal;
  /** Display name from the runbooks, or the person id. */
  name: string;
  csrf: string;
  /** The outbox page exists in local mode only. */
  outbox: boolean;
  pendingCount: number;
}

export type Section = 'incidents' | 'decisions' | 'schedules' | 'compliance' | 'outbox';

export const isCompliance = (p: Principal) => p.roles.includes('compliance') || p.roles.includes('admin');

/** A part of a page the script may swap when its content changes (the digest says whether it did). */
export function region(name: string, html: string): string {
  const digest = createHash('sha1').update(html).digest('base64url');
  return `<div data-region="${e(name)}" data-digest="${digest}">${html}</div>`;
}

/**
 * A moment as the console shows it, in UTC with the zone named (`2 December 2026, 09:30 UTC`, the
 * mails' wording), everywhere. The script puts how long ago (or how long until) before it, and keeps
 * that current: `ago` (`12 min ago (…)`), `for` (`12 min (since …)`), `until` (`in 9 min 12 s (…)`,
 * a countdown). The exact second is in the element's `datetime` and its tooltip.
 */
export function ago(at: Date | string | null | undefined, mode: 'ago' | 'for' | 'until' = 'ago'): string {
  if (!at) return '<span class="muted">-</span>';
  const iso = typeof at === 'string' ? at : at.toISOString();
  return `<time datetime="${e(iso)}" data-age="${mode}" title="${e(formatInstant(iso))}">${e(momentInWords(iso))}</time>`;
}

/** A moment with its zone and no age: for what is over (a report sent, a task done). */
export const moment = (at: Date | string | null | undefined): string =>
  at
    ? `<time datetime="${e(typeof at === 'string' ? at : at.toISOString())}">${e(momentInWords(typeof at === 'string' ? at : at.toISOString()))}</time>`
    : '<span class="muted">-</span>';

/** A table cell that stacks under its label on a phone; the wrapper keeps every line of the value in the value column. */
const td = (label: string, html: string, attributes = '') => `<td data-label="${e(label)}"${attributes}><div class="cell">${html}</div></td>`;

const csrfField = (viewer: Viewer) => `<input type="hidden" name="_csrf" value="${e(viewer.csrf)}">`;
export const severityBadge = (severity: string) => `<span class="badge sev-${e(severity)}">${e(severity)}</span>`;
export const stateBadge = (state: string) => `<span class="badge state">${e(state.replace(/_/g, ' '))}</span>`;

/** `a`, `a and b`, `a, b and c` (or `or`). */
function listed(items: string[], last = 'and'): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} ${last} ${items.at(-1)}`;
}

/** A runbook duration as people say it: `15 minutes`, `2 hours`, `1 hour 30 minutes`. */
export function durationInWords(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1_000, 'second'],
  ];
  const parts: string[] = [];
  let rest = ms;
  for (const [size, unit] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n} ${unit}${n === 1 ? '' : 's'}`);
    rest -= n * size;
  }
  return parts.length ? parts.join(' ') : `${ms} ms`;
}

export function layout(options: { title: string; viewer?: Viewer; section?: Section; main: string; live?: boolean }): string {
  const { viewer } = options;
  const link = (section: Section, href: string, label: string) => `<a href="${href}"${options.section === section ? ' aria-current="page"' : ''}>${label}</a>`;
  const nav = viewer
    ? `<nav aria-label="Console">${link('incidents', '/console', 'Incidents')}${link('decisions', '/console/decisions', `Decisions${viewer.pendingCount ? ` <span class="badge">${viewer.pendingCount}</span>` : ''}`)}${link('schedules', '/console/schedules', 'On call')}${
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
<footer class="foot muted">Times are in UTC.</footer>
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
/** The incident list's orders: newest first (the default), or most severe first (each runbook's severities in its order), then newest. */
export const incidentListSorts = ['opened', 'severity'] as const;

export interface IncidentListFilter {
  state: (typeof incidentListStates)[number];
  severity: string;
  systemId: string;
  sort: (typeof incidentListSorts)[number];
}

const listStateLabel = (state: IncidentListFilter['state']) =>
  state === 'open' ? 'Open (every state but closed)' : state === 'all' ? 'All' : `${state[0]!.toUpperCase()}${state.slice(1)}`;

/** The list of incidents; its filters offer the runbooks' systems and severities. */
export function incidentsMain(
  incidents: IncidentRow[],
  filter: IncidentListFilter,
  choices: { systems: string[]; severities: string[] },
  names: Map<string, string>,
  /** Per incident: how many corrections wait on a decision. */
  awaiting: Map<string, number> = new Map(),
): string {
  const option = (value: string, label: string, selected: string) => `<option value="${e(value)}"${value === selected ? ' selected' : ''}>${e(label)}</option>`;
  const filters = `<form class="filters" method="get" action="/console" aria-label="Filter incidents">
<label>State<select name="state">${incidentListStates.map((state) => option(state, listStateLabel(state), filter.state)).join('')}</select></label>
<label>Severity<select name="severity">${option('', 'Any', filter.severity)}${choices.severities.map((s) => option(s, s, filter.severity)).join('')}</select></label>
<label>System<select name="systemId">${option('', 'Any', filter.systemId)}${choices.systems.map((s) => option(s, s, filter.systemId)).join('')}</select></label>
<label>Sort<select name="sort">${option('opened', 'Newest first', filter.sort)}${option('severity', 'Most severe first', filter.sort)}</select></label>
<button type="submit" class="secondary">Filter</button></form>`;
  const rows = incidents
    .map((i) => {
      const waiting = awaiting.get(i.id) ?? 0;
      const decisions = waiting
        ? `<br><a class="waits" href="/console/incidents/${e(i.id)}#decisions">${waiting} correction${waiting === 1 ? '' : 's'} await${waiting === 1 ? 's' : ''} a decision</a>`
        : '';
      return `<tr data-incident="${e(i.id)}">${td('Severity', severityBadge(i.severity))}
${td('Incident', `<a href="/console/incidents/${e(i.id)}">${e(i.title)}</a>${i.drill ? ' <span class="badge state">drill</span>' : ''}`)}
${td('System', e(i.system_id))}${td('State', `${stateBadge(i.state)}${decisions}`)}
${td('Commander', i.commander ? e(names.get(i.commander) ?? i.commander) : '<span class="muted">none yet</span>')}
${td('Opened', ago(i.opened_at))}</tr>`;
    })
    .join('');
  const sorted = (column: IncidentListFilter['sort']) => (filter.sort === column ? ` aria-sort="descending"` : '');
  const table = incidents.length
    ? `<table class="stack"><thead><tr><th scope="col"${sorted('severity')}>Severity</th><th scope="col">Incident</th><th scope="col">System</th><th scope="col">State</th><th scope="col">Commander</th><th scope="col"${sorted('opened')}>Opened</th></tr></thead><tbody>${rows}</tbody></table>`
    : '<p class="muted">No incident matches these filters.</p>';
  const order = filter.sort === 'severity' ? 'most severe first, then newest' : 'newest first';
  return `<h1>Incidents</h1><p class="live" id="live-status" aria-live="polite"></p>${filters}<section class="card" aria-label="Incident list"><p class="muted caption">${e(listStateLabel(filter.state))}, ${order}.</p>${region('incidents', table)}</section>`;
}

// ---- one incident ----

export interface IncidentView {
  incident: IncidentRow;
  names: Map<string, string>;
  live: { joinedTriggers: number; awareness?: { at: string; by: string; reason: string }; escalation?: EscalationProgress; unavailable?: string } | undefined;
  pending: PendingDecision[];
  /** Corrections under decision that do not wait on the viewer now (others must vote, or they have). */
  othersDeciding: CorrectionDecision[];
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
  /** Where the system's corrections are enforced (API instances and gateways), with their policy versions. */
  enforcement?: EnforcementStatus;
  /** The alerts its senders sent about it (none for an incident a person triggered). */
  alerts: AlertView[];
  /** The incident's workflow in the Temporal web UI, when its address is configured (CORREX_TEMPORAL_UI_URL). */
  temporalUrl?: string;
  /** The newest events (of the kind filtered on), newest first. */
  timeline: TimelineEventRow[];
  timelineTotal: number;
  /** At most this many are shown. */
  timelineLimit: number;
  kinds: string[];
  kindFilter: string;
  /**
   * The stored chain, checked on a page load; `kept` on a live update, which does not recompute it
   * (that reads every event), so the page keeps showing the result of its load.
   */
  chain: ChainCheck | 'kept' | undefined;
  /** When the chain was checked (this page load). */
  chainCheckedAt?: Date;
  flash?: Flash;
}

/** What the page says about the person's last action: a notice (HTML, built here), or the refusal and what they had typed. */
export interface Flash {
  notice?: string;
  noticeHtml?: string;
  error?: string;
  draft?: { id: string; rationale: string };
  /** A report's form as it was posted when approving or saving it was refused: shown again as typed. */
  reportDraft?: ReportDraft;
}

/** What was typed into a report's form: its fields by name and the reason for lateness. */
export interface ReportDraft {
  id: string;
  fields: Record<string, string>;
  lateReason: string;
}

/** A report waiting on approval, with its content as it stands (read by routes.ts for the card). */
export type PendingReport = Extract<PendingDecision, { kind: 'report' }> & { report?: CurrentReport | undefined };

const nameOf = (names: Map<string, string>, id: string | null | undefined) => (id ? (names.get(id) ?? id) : '');

/** The short name of a kind, for titles and buttons: `shutdown`, `capabilities switched off`. */
const kindShort = (kind: CorrectionKind) => kindInWords[kind].split(':')[0]!;

/** Who may decide, in words: the quorum, rejection, escalation and break-glass of the runbook's rule. */
export function ruleInWords(rule: AuthorityRule, state: string): string {
  const roles = rule.approverRoles;
  const approvals =
    rule.quorum === 1
      ? `One approval, from ${listed(roles, 'or')}`
      : `${rule.quorum} approvals, each from a different role among ${listed(roles)} (a vote counts once per role)`;
  const parts = [`${approvals}. One rejection rejects it.`];
  if (state === 'awaiting-ratification' && rule.breakGlass.allowed) {
    parts.push(
      `Applied at once by break-glass: it must be ratified with the same approvals within ${durationInWords(rule.breakGlass.ratificationWindowMs)} or it is lifted.`,
    );
  } else {
    const timeout = durationInWords(rule.approvalTimeoutMs);
    parts.push(
      rule.escalateTo.length
        ? `Undecided after ${timeout}, it is escalated to ${listed(rule.escalateTo, 'or')}, any one of whom may then decide alone; undecided ${timeout} after that, it expires unapplied.`
        : `Undecided after ${timeout}, it expires unapplied.`,
    );
  }
  return parts.join(' ');
}

/** The people who may give an approval, the viewer as `you`. */
function peopleHtml(people: { id: string; name: string }[], viewerId: string): string {
  return people.length
    ? listed(
        people.map((p) => (p.id === viewerId ? '<strong>you</strong>' : e(p.name))),
        'or',
      )
    : '<span class="bad">nobody left who may vote</span>';
}

/** Who still must approve: how many approvals, from which roles, naming the people who can give them. */
export function outstandingHtml(outstanding: Outstanding, viewerId: string): string {
  const { approvals, roles } = outstanding;
  const role = (r: Outstanding['roles'][number]) => `${e(r.role)} (${peopleHtml(r.people, viewerId)})`;
  let text: string;
  if (approvals === 0) text = 'No more approvals: the quorum is met.';
  else if (roles.length <= approvals)
    text = `${approvals} more approval${approvals === 1 ? '' : 's'}, ${approvals === 1 ? 'from' : 'one from each of'} ${listed(roles.map(role))}.`;
  else
    text = `${approvals} more approval${approvals === 1 ? '' : 's'}, ${approvals === 1 ? 'from any one of' : 'each from a different one of'} ${listed(roles.map(role), 'or')}.`;
  if (outstanding.escalation) {
    text += ` Escalated: one approval from ${listed(outstanding.escalation.roles.map(e), 'or')} (${peopleHtml(outstanding.escalation.people, viewerId)}) now decides it alone.`;
  }
  return text;
}

/** How long is left and what happens then: a countdown the script keeps current. */
function deadlineHtml(d: CorrectionDecision): string {
  const { deadline } = d;
  const to = `${listed(deadline.to.roles.map(e), 'or')}${
    deadline.to.people.length
      ? ` (${listed(
          deadline.to.people.map((p) => e(p.name)),
          'or',
        )})`
      : ''
  }`;
  const then =
    deadline.then === 'lift'
      ? 'then, unless ratified, it is lifted'
      : deadline.then === 'expire'
        ? 'then, undecided, it expires and is never applied'
        : deadline.to.roles.length
          ? `then, undecided, it is escalated to ${to}, who may decide alone`
          : 'then, undecided, it expires and is never applied';
  return `<span class="deadline">${ago(deadline.at, 'until')}</span>; ${then}.`;
}

function adapterInWords(adapter: string): string {
  switch (adapter) {
    case 'policy':
      return 'through the gateway policy (the gateways in front of the model enforce it)';
    case 'webhook':
      return "through the system's control endpoint";
    case 'dry-run':
      return 'as a dry run (recorded, not enforced)';
    default:
      return 'through the enforcement the runbook names';
  }
}

/** What follows an approval (or, for break-glass, a ratification). */
export function whenApprovedInWords(d: Pick<CorrectionDecision, 'correction' | 'system' | 'consumers'>): string {
  if (d.correction.state === 'awaiting-ratification')
    return 'Ratified, it stays in force until someone lifts it. Rejected, or not ratified in time, it is lifted.';
  const told = d.consumers.filter((c) => c.notified);
  const one = d.consumers.length === 1;
  const consumers = d.consumers.length
    ? ` ${listed(d.consumers.map((c) => c.name))} ${one ? 'is' : 'are'} interrupted: Correx ${
        told.length ? `tells ${told.length === d.consumers.length ? (one ? 'it' : 'them') : listed(told.map((c) => c.name))} and ` : ''
      }switches on ${one ? 'its fallback' : 'their fallbacks'}.`
    : ' No downstream consumer of the runbook is interrupted.';
  return `Correx applies it at once ${adapterInWords(d.system.adapter)}, checks that it took effect, and keeps it in force until someone lifts it.${consumers}`;
}

const activationInWords: Record<AffectedConsumer['activation'], string> = {
  webhook: 'Correx switches it on through their webhook',
  email: 'Correx asks for it by mail',
  manual: 'switched on by hand, as the runbook says',
};

function consumersHtml(consumers: AffectedConsumer[]): string {
  if (!consumers.length) return '<span class="muted">None: no consumer in the runbook is affected by this kind of correction.</span>';
  return `<ul class="plain">${consumers
    .map((c) => {
      const status = c.status
        ? ` <span class="muted">Now: ${c.status.notice === 'none' ? 'not yet told' : `told (${e(c.status.notice)})`}; fallback</span> ${
            c.status.fallback === 'failing' ? '<span class="badge state failing">failing</span>' : stateBadge(c.status.fallback)
          }${c.status.lastError ? ` <span class="muted">${e(c.status.lastError)}</span>` : ''}`
        : '';
      return `<li><strong>${e(c.name)}</strong>: falls back to “${e(c.fallback)}” (${e(activationInWords[c.activation])})${c.notified ? '' : '; <span class="bad">not told</span>: the runbook\'s notification policy leaves them out'}.${status}</li>`;
    })
    .join('')}</ul>`;
}

/** A correction under decision: what it does in words, to whom, who decides, the time left, and the vote. */
export function decisionCard(
  item: CorrectionDecision,
  viewer: Viewer,
  names: Map<string, string>,
  options: { showIncident: boolean; draft?: { id: string; rationale: string } | undefined },
): string {
  const c = item.correction;
  const ratify = c.state === 'awaiting-ratification';
  const canVote = 'votesAs' in item.you;
  const title = canVote
    ? `${ratify ? 'Ratify or reject' : 'Approve or reject'}: ${e(kindShort(c.kind))}`
    : `${ratify ? 'Awaiting ratification' : 'Awaiting decision'}: ${e(kindShort(c.kind))}`;
  const incidentLine = options.showIncident
    ? `<p>${severityBadge(item.incident.severity)} <a href="/console/incidents/${e(item.incident.id)}">${e(item.incident.title)}</a> <span class="muted">${e(item.incident.system_id)}</span></p>`
    : '';
  const parameters = parametersInWords(c.kind, c.parameters);
  const parameterRows = parameters.length
    ? parameters.map(([label, value]) => `<dt>${e(label)}</dt><dd data-parameter="${e(label)}">${e(value)}</dd>`).join('')
    : `<dt>Parameters</dt><dd>none (a ${e(kindShort(c.kind))} has none)</dd>`;
  const votes = item.votes.length
    ? `<ul class="plain">${item.votes
        .map(
          (v) =>
            `<li>${e(nameOf(names, v.actor))}${v.actor === viewer.principal.owner ? ' (you)' : ''} <span class="muted">as ${e(v.role)}</span>: <strong>${v.decision === 'approve' ? 'approved' : 'rejected'}</strong> ${ago(v.at)}<br><span class="muted">“${e(v.rationale)}”</span></li>`,
        )
        .join('')}</ul>`
    : 'none yet';
  const you =
    'votesAs' in item.you
      ? `counts for ${e(item.you.votesAs)}`
      : item.you.voted
        ? `you ${item.you.voted.decision === 'approve' ? 'approved' : 'rejected'} it (as ${e(item.you.voted.role)})`
        : `<span class="muted">you cannot vote: ${e(item.you.cannot)}</span>`;
  const facts = `<dl class="facts">
<dt>Time left</dt><dd>${deadlineHtml(item)}</dd>
<dt>Still needed</dt><dd data-still-needed>${outstandingHtml(item.outstanding, viewer.principal.owner)}</dd>
<dt>Kind</dt><dd>${e(capitalised(kindInWords[c.kind]))} <span class="muted">(<code>${e(c.kind)}</code>)</span>${c.breakGlass ? ' <span class="badge">break-glass</span>' : ''}</dd>
${parameterRows}
<dt>For</dt><dd>${e(capitalised(scopeInWords(c.scope)))}</dd>
<dt>Consumers affected</dt><dd data-consumers>${consumersHtml(item.consumers)}</dd>
<dt>${ratify ? 'If ratified' : 'If approved'}</dt><dd>${e(whenApprovedInWords(item))}</dd>
<dt>Why</dt><dd>${e(c.reason)}</dd>
<dt>Proposed</dt><dd>by ${e(nameOf(names, c.proposedBy))}, ${ago(c.proposedAt)}</dd>
<dt>Votes</dt><dd>${votes}</dd>
<dt>Authority</dt><dd>${e(ruleInWords(item.rule, c.state))}</dd>
<dt>Your vote</dt><dd>${you}</dd></dl>`;
  const what = `<p class="what">${e(correctionInWords(c.kind, c.scope, c.parameters, item.system.name))}.</p>`;
  const form = canVote
    ? `<form method="post" action="/console/corrections/${e(item.id)}/decision">${csrfField(viewer)}${options.showIncident ? '<input type="hidden" name="from" value="inbox">' : ''}
<p><label for="rationale-${e(item.id)}">Rationale (required, recorded on the timeline)</label><textarea id="rationale-${e(item.id)}" name="rationale" required maxlength="2000">${e(
        options.draft?.id === item.id ? options.draft.rationale : '',
      )}</textarea></p>
<div class="actions"><button type="submit" name="decision" value="approve">${ratify ? 'Ratify' : 'Approve'} ${e(kindShort(c.kind))}</button><button type="submit" name="decision" value="reject" class="danger">Reject</button></div></form>`
    : '';
  return `<article class="decision${canVote ? '' : ' watching'}" data-correction="${e(item.id)}" aria-labelledby="decision-${e(item.id)}"><h3 id="decision-${e(item.id)}">${title}</h3>
${incidentLine}${what}${facts}${form}</article>`;
}

const listedNames = (items: string[]) => (items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`);

/**
 * A regulator report to approve: every field of its regime with its value (derived from the incident as
 * it stands, or compliance's edit), marked when missing or changed since drafted, editable in place;
 * "Save fields" records the edits, "Approve and send" sends it, refused while a required field is empty.
 */
function reportCard(item: PendingReport, viewer: Viewer, options: { incidentLine: string; from: string; draft: ReportDraft | undefined }): string {
  const id = e(item.id);
  const r = item.report;
  const typed = options.draft?.id === item.id ? options.draft : undefined;
  const late = `<p><label for="late-${id}">Reason for lateness (only if the deadline has passed)</label><textarea id="late-${id}" name="lateReason" maxlength="2000">${e(typed?.lateReason ?? '')}</textarea></p>`;
  if (!r) {
    return `<article class="decision" data-report="${id}"><h3>Approve and send regulator report</h3>${options.incidentLine}
<dl class="facts"><dt>Report</dt><dd>${e(item.subject)}</dd><dt>Regime</dt><dd>${e(item.regime ?? '-')}</dd><dt>Due</dt><dd>${ago(item.dueAt, 'until')}</dd></dl>
<form method="post" action="/console/reports/${id}/approve">${csrfField(viewer)}${options.from}${late}
<div class="actions"><button type="submit">Approve and send</button></div></form></article>`;
  }
  const type = r.clock ? `${r.clock.report}${(r.row.occurrence ?? 1) > 1 ? ` #${r.row.occurrence}` : ''}` : '-';
  // After a refusal the form shows what was typed: what approving it as shown would send decides what is empty.
  const shown = r.fields.map((f) => {
    const typedValue = typed?.fields[f.name];
    const unsaved = typedValue !== undefined && typedValue.trim() !== (f.value ?? '').trim();
    const empty = unsaved ? typedValue.trim() === '' && (f.source === 'edited' ? f.derived === null : f.value === null) : f.value === null;
    return { f, value: typedValue ?? f.value ?? '', unsaved, empty };
  });
  const missing = shown.filter((x) => x.empty).map((x) => x.f.name);
  const status = `${
    missing.length
      ? `<span class="bad">${missing.length === 1 ? '1 required field is' : `${missing.length} required fields are`} empty: ${e(listedNames(missing))}.</span> ${
          r.incompleteAllowed
            ? 'This initial report may be sent incomplete: it then says that they will follow.'
            : `Fill ${missing.length === 1 ? 'it' : 'them'} in before sending: approving is refused until then.`
        }`
      : '<span class="ok">Every required field has a value.</span>'
  }${shown.some((x) => x.unsaved) ? ' What you typed below is not saved yet.' : ''}`;
  // Tall enough for what it holds (the page works without script, which could grow it).
  const rows = (text: string) =>
    Math.min(
      10,
      Math.max(
        2,
        text.split('\n').reduce((n, line) => n + Math.max(1, Math.ceil(line.length / 28)), 0),
      ),
    );
  const fields = shown
    .map(({ f, value, unsaved, empty }, i) => {
      const fieldId = `rf-${id}-${i}`;
      const badges = [
        empty ? '<span class="badge state failing">missing</span>' : '',
        unsaved
          ? '<span class="badge">not saved</span>'
          : f.source === 'edited'
            ? '<span class="badge">edited</span>'
            : f.source === 'derived'
              ? '<span class="badge state">from the incident</span>'
              : '',
        f.changedSinceDrafted ? '<span class="badge" data-changed>changed since drafted</span>' : '',
      ]
        .filter(Boolean)
        .join(' ');
      const notes: [string, string][] = [];
      if (f.source === 'edited' && f.derived !== null && f.derived !== f.value) notes.push(['Correx derives', f.derived]);
      if (f.changedSinceDrafted) notes.push(['When drafted', f.drafted ?? '(nothing: it was missing)']);
      return `<div class="field" data-field="${e(f.name)}"${empty ? ' data-missing' : ''}><p><label for="${fieldId}">${e(f.name)}</label> ${badges}</p>
<textarea id="${fieldId}" name="field:${e(f.name)}" rows="${rows(value)}" maxlength="20000"${empty ? ' aria-invalid="true"' : ''}>${e(value)}</textarea>${
        notes.length ? `<dl class="facts">${notes.map(([label, text]) => `<dt>${e(label)}</dt><dd>${e(text)}</dd>`).join('')}</dl>` : ''
      }</div>`;
    })
    .join('\n');
  return `<article class="decision" data-report="${id}" aria-labelledby="report-${id}"><h3 id="report-${id}">Approve and send regulator report</h3>${options.incidentLine}
<dl class="facts"><dt>Regime</dt><dd>${e(r.regime?.name ?? item.regime ?? '-')}</dd><dt>Report</dt><dd>${e(type)} <span class="muted">(clock ${e(r.row.clock_id ?? '-')})</span></dd>
<dt>Due</dt><dd>${ago(item.dueAt, 'until')}</dd><dt>To</dt><dd>${e(r.row.recipient)}</dd><dt>Content</dt><dd data-report-status>${status}</dd></dl>
<form method="post" action="/console/reports/${id}/approve">${csrfField(viewer)}${options.from}
<fieldset><legend>Report content</legend><p class="muted">Correx fills what it can from the incident as it stands, again each time this page loads. What you type is kept as your edit and wins; empty a box to go back to what Correx fills in.</p>
${fields}</fieldset>
${late}
<div class="actions"><button type="submit">Approve and send</button><button type="submit" class="secondary" formaction="/console/reports/${id}/fields">Save fields</button></div></form></article>`;
}

/** Something waiting on the person: a vote, a report, a sign-off or a task. */
export function pendingCard(
  item: PendingDecision,
  viewer: Viewer,
  names: Map<string, string>,
  options: { showIncident: boolean; draft?: { id: string; rationale: string } | undefined; reportDraft?: ReportDraft | undefined },
): string {
  if (item.kind === 'correction') return decisionCard(item, viewer, names, options);
  const from = options.showIncident ? '<input type="hidden" name="from" value="inbox">' : '';
  const incidentLine = options.showIncident
    ? `<p>${severityBadge(item.incident.severity)} <a href="/console/incidents/${e(item.incident.id)}">${e(item.incident.title)}</a> <span class="muted">${e(item.incident.system_id)}</span></p>`
    : '';
  if (item.kind === 'report') return reportCard(item, viewer, { incidentLine, from, draft: options.reportDraft });
  if (item.kind === 'sign-off') {
    return `<article class="decision"><h3>Sign off the after-action review</h3>${incidentLine}
<p>Submitted by ${e(nameOf(names, item.submittedBy))}; every task is done or dropped. Signing off closes the incident (needs one of ${e(item.roles.join(', '))}).</p>
<form method="post" action="/console/incidents/${e(item.id)}/review/sign-off">${csrfField(viewer)}${from}
<div class="actions"><button type="submit">Sign off and close</button></div></form></article>`;
  }
  return `<article class="decision"><h3>Follow-up task: ${e(item.title)}</h3>${incidentLine}<p>Due ${ago(item.dueAt, 'until')}</p>
<form method="post" action="/console/tasks/${e(item.id)}/done">${csrfField(viewer)}${from}
<p><label for="note-${e(item.id)}">Note (optional)</label><textarea id="note-${e(item.id)}" name="note" maxlength="2000"></textarea></p>
<div class="actions"><button type="submit">Mark done</button></div></form></article>`;
}

/**
 * What the person's vote did and what happens next: the approvals still missing and who can give
 * them, with the time left; or that it decided the correction, and what follows.
 */
export function afterVoteNotice(
  vote: 'approve' | 'reject',
  outcome: { decision: CorrectionDecision; open: boolean; shownState: string; yourRole: string | undefined },
  viewerId: string,
): string {
  const { decision: d } = outcome;
  const what = e(kindShort(d.correction.kind));
  const recorded = `Your ${vote === 'approve' ? 'approval' : 'rejection'} of the ${what} is recorded on the timeline${outcome.yourRole ? ` (it counts for ${e(outcome.yourRole)})` : ''}.`;
  if (outcome.open) {
    return `${recorded} <strong>It still needs ${outstandingHtml(d.outstanding, viewerId)}</strong> Time left: ${deadlineHtml(d)}`;
  }
  if (d.correction.state === 'awaiting-ratification' && outcome.shownState !== 'rejected')
    return `${recorded} That ratified it: the ${what} stays in force until someone lifts it.`;
  switch (outcome.shownState) {
    case 'rejected':
      return `${recorded} The ${what} is rejected: it is not applied${d.correction.state === 'awaiting-ratification' ? ' and the break-glass correction is being lifted' : ''}.`;
    case 'active':
      return `${recorded} The ${what} is ${d.correction.breakGlass ? 'ratified' : 'approved'} and in force.`;
    default:
      return `${recorded} That completed the decision: the ${what} is approved. ${e(whenApprovedInWords(d))}`;
  }
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

/** Shown while nobody has acknowledged, to whoever may: a paged person's link lands here. */
function acknowledgeForm(i: IncidentView['incident'], viewer: Viewer): string {
  if (i.state !== 'triggered' || !viewer.principal.roles.some((r) => r === 'responder' || r === 'admin')) return '';
  return `<form class="inline" method="post" action="/console/incidents/${e(i.id)}/acknowledge">${csrfField(viewer)}<button type="submit">Acknowledge and take command</button></form>`;
}

/** Where the escalation stands; a run that gave up is shown as a problem, since nobody has command. */
function pagingInWords(escalation: EscalationProgress, names: IncidentView['names']): string {
  const words = e(escalationInWords(escalation, (id) => nameOf(names, id)));
  return escalation.state === 'exhausted' ? `<span class="bad">${words}</span>` : words;
}

export function incidentMain(view: IncidentView, viewer: Viewer): string {
  const { incident: i, names } = view;
  const flash = flashHtml(view.flash);

  const summary = `<section class="card" aria-labelledby="summary-h"><h2 id="summary-h">Now</h2><dl class="facts">
<dt>State</dt><dd>${stateBadge(i.state)}${i.drill ? ' <span class="badge state">drill</span>' : ''}</dd>
<dt>Commander</dt><dd>${i.commander ? e(nameOf(names, i.commander)) : `<span class="bad">nobody has acknowledged yet</span>${acknowledgeForm(i, viewer)}`}</dd>
<dt>System</dt><dd>${e(i.system_id)}</dd><dt>Opened</dt><dd>${ago(i.opened_at)} by ${e(nameOf(names, i.opened_by))}</dd>
${i.acknowledged_at ? `<dt>Acknowledged</dt><dd>${ago(i.acknowledged_at)}</dd>` : ''}
${view.live?.escalation ? `<dt>Paging</dt><dd>${pagingInWords(view.live.escalation, names)}</dd>` : ''}
${view.live?.awareness ? `<dt>Aware since</dt><dd>${moment(view.live.awareness.at)}<br><span class="muted">set by ${e(nameOf(names, view.live.awareness.by))}: ${e(view.live.awareness.reason)}</span></dd>` : ''}
${i.classification.length ? `<dt>Classes</dt><dd>${e(i.classification.join(', '))}</dd>` : ''}
${view.live?.joinedTriggers ? `<dt>Repeat triggers</dt><dd>${view.live.joinedTriggers}</dd>` : ''}
<dt>Workflow</dt><dd><code class="workflow-id">${e(i.workflow_id)}</code>${
    view.temporalUrl ? ` <a href="${e(view.temporalUrl)}" rel="noopener" target="_blank">open in Temporal UI</a>` : ''
  }${view.live?.unavailable ? `<br><span class="muted">${e(view.live.unavailable)}</span>` : ''}</dd></dl></section>`;

  const waiting = `<section class="card" aria-labelledby="waiting-h" id="decisions"><h2 id="waiting-h">Waiting on you</h2>${
    view.pending.length
      ? view.pending.map((p) => pendingCard(p, viewer, names, { showIncident: false, draft: view.flash?.draft, reportDraft: view.flash?.reportDraft })).join('')
      : '<p class="muted">Nothing here waits on you.</p>'
  }</section>`;
  // What waits on others: after a vote, who still must decide, and the time left.
  const others = view.othersDeciding.length
    ? `<section class="card" aria-labelledby="others-h"><h2 id="others-h">Waiting on others</h2>${view.othersDeciding
        .map((d) => decisionCard(d, viewer, names, { showIncident: false }))
        .join('')}</section>`
    : '';

  const inForce = (c: CorrectionRow) => (c.applied_at && !c.lifted_at ? `active ${ago(c.applied_at, 'for')}` : c.lifted_at ? `lifted ${ago(c.lifted_at)}` : '');
  const corrections = `<section class="card" aria-labelledby="corrections-h" id="corrections"><h2 id="corrections-h">Corrections</h2>${
    view.corrections.length
      ? `<table class="stack"><thead><tr><th scope="col">Correction</th><th scope="col">State</th><th scope="col">Proposed</th><th scope="col">In force</th></tr></thead><tbody>${view.corrections
          .map(
            (c) => `<tr data-correction="${e(c.id)}">${td(
              'Correction',
              `<strong>${e(capitalised(kindShort(c.kind)))}</strong>${c.break_glass ? ' <span class="badge">break-glass</span>' : ''}${[
                ...parametersInWords(c.kind, c.parameters),
                ['For', scopeInWords(c.scope)] as [string, string],
              ]
                .map(([label, value]) => `<br>${e(label)}: ${e(value)}`)
                .join('')}<br><span class="muted">${e(c.reason)}</span>`,
            )}
${td('State', stateBadge(c.state))}
${td('Proposed', `${e(nameOf(names, c.proposed_by))}, ${ago(c.proposed_at)}`)}${td('In force', inForce(c) || '<span class="muted">-</span>')}</tr>`,
          )
          .join('')}</tbody></table>`
      : '<p class="muted">No correction proposed.</p>'
  }</section>`;

  const clockRows = view.clocks.flatMap((regime) =>
    'unavailable' in regime
      ? [`<tr>${td('Regime', e(regime.regimeId))}${td('Report', `<span class="muted">${e(regime.unavailable)}</span>`, ' colspan="3"')}</tr>`]
      : regime.clocks.map((c) => {
          const state = c.late && c.state !== 'sent-late' ? `${c.state}, late` : c.state;
          const due = `${c.dueAt ? (c.submittedAt ? moment(c.dueAt) : ago(c.dueAt, 'until')) : 'not started'}${
            c.startFrom ? `<br><span class="muted">runs from ${e(c.startFrom)}${c.startAt ? `, ${moment(c.startAt)}` : ''}</span>` : ''
          }`;
          return `<tr>${td('Regime', `${e(regime.regimeName)}${regime.withdrawn ? ' <span class="muted">(withdrawn)</span>' : ''}`)}${td('Report', `${e(c.report)}${c.occurrence > 1 ? ` #${c.occurrence}` : ''}`, ' class="word"')}
${td('Due', due)}${td('State', `<span class="${c.late || c.state === 'sent-late' ? 'bad' : c.state === 'sent' ? 'ok' : ''}">${e(state)}</span>${c.submittedAt ? ` <span class="muted">${c.submittedElsewhere ? `made outside Correx ${moment(c.submittedAt)}, declared by ${e(nameOf(names, c.submittedElsewhere.by))}: ${e(c.submittedElsewhere.evidence)}` : `sent ${moment(c.submittedAt)}`}</span>` : ''}`, ' class="word"')}</tr>`;
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
        const next = f.next_attempt_at ? `next attempt ${ago(f.next_attempt_at, 'until')}` : 'given up at close';
        return `${e(f.method)}: <span class="badge state failing">failing to ${f.action === 'deactivate' ? 'switch off' : 'switch on'}</span><br><span class="muted">${e(f.last_error ?? '')} · ${next}</span>`;
      };
      return `<tr>${td('Consumer', e(consumer.name))}${td(
        'Notice',
        notice.map((n) => `${e(noticeLabel(n.idempotency_key, n.subject))}: ${e(n.state)}${n.sent_at ? ` ${ago(n.sent_at)}` : ''}`).join('<br>') ||
          '<span class="muted">-</span>',
      )}
${td('Fallback', fallbacks.map(fallbackCell).join('<br>') || '<span class="muted">-</span>')}</tr>`;
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

  const alerts = view.alerts.length
    ? `<section class="card" aria-labelledby="alerts-h" id="alerts"><h2 id="alerts-h">Alerts</h2><table class="stack"><thead><tr><th scope="col">Alert</th><th scope="col">Status</th><th scope="col">Seen</th></tr></thead><tbody>${view.alerts
        .map(
          (a) =>
            `<tr data-alert="${e(a.alertKey)}">${td(
              'Alert',
              `${e(a.summary ?? a.alertKey)}<br><span class="muted">${e(a.source)}${a.severity ? ` · ${e(a.severity)}` : ''} · ${Object.entries(a.labels)
                .filter(([name]) => name !== 'system')
                .map(([name, value]) => `${e(name)}=${e(value)}`)
                .join(', ')}</span>`,
            )}${td('Status', stateBadge(a.status))}${td(
              'Seen',
              `first ${ago(a.firstSeenAt)}${a.lastSeenAt !== a.firstSeenAt ? `, last ${ago(a.lastSeenAt)}` : ''} · ${a.signals} signal${a.signals === 1 ? '' : 's'}${a.occurrences > a.signals ? `, ${a.occurrences - a.signals} repeat${a.occurrences - a.signals === 1 ? '' : 's'}` : ''}${a.suppressed ? ` (${a.suppressed} silenced)` : ''}`,
            )}</tr>`,
        )
        .join('')}</tbody></table></section>`
    : '';

  const enforcement = view.enforcement ? enforcementPanel(view.enforcement, view.corrections) : '';

  const tasks = `<section class="card" aria-labelledby="tasks-h"><h2 id="tasks-h">After-action tasks</h2>${
    view.tasks.length
      ? `<table class="stack"><thead><tr><th scope="col">Task</th><th scope="col">Owner</th><th scope="col">Due</th><th scope="col">State</th></tr></thead><tbody>${view.tasks
          .map(
            (t) =>
              `<tr>${td('Task', e(t.title))}${td('Owner', e(nameOf(names, t.owner) || t.owner_role))}${td('Due', t.state === 'open' ? ago(t.due_at, 'until') : moment(t.due_at))}${td('State', stateBadge(t.state))}</tr>`,
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
    ? `<section class="card" aria-labelledby="compliance-h"><h2 id="compliance-h">Compliance</h2>${
        // A live update leaves the chain's region out, so the page keeps what its load found.
        view.chain === 'kept' ? '' : region('chain', chainStatus(view.chain, view.chainCheckedAt))
      }${exportButtons(i.id)}</section>`
    : '';

  return `<h1>${severityBadge(i.severity)} ${e(i.title)}</h1><p class="live" id="live-status" aria-live="polite"></p>${flash}
<div class="grid two"><div>${region('waiting', waiting)}${region('others', others)}${region('corrections', corrections)}${region('enforcement', enforcement)}${region('timeline-card', timeline)}</div>
<div>${region('summary', summary)}${region('alerts', alerts)}${region('clocks', clocks)}${region('consumers', consumers)}${region('tasks', tasks)}${compliance}</div></div>`;
}

/**
 * Where the system's corrections are enforced, and whether each place holds the current policy: the
 * API instances answering gateways, and the gateways that asked (lag in versions, and when last heard).
 */
function enforcementPanel(status: EnforcementStatus, corrections: CorrectionRow[]): string {
  const lag = (version: number) =>
    version >= status.version
      ? '<span class="ok">current</span>'
      : `<span class="bad">${status.version - version} version${status.version - version === 1 ? '' : 's'} behind</span>`;
  const kindLabel: Record<EnforcementStatus['points'][number]['kind'], string> = {
    envoy: 'Envoy (ext_authz)',
    litellm: 'LiteLLM (guardrail)',
    decide: 'gateway (POST /v1/decide)',
    policy: 'gateway holding the policy',
  };
  const rows = [
    ...status.instances.map(
      (i) =>
        `<tr>${td('Where', `Correx API <code>${e(i.instanceId)}</code>`)}${td('Version', `${i.version} ${lag(i.version)}`)}${td('Heard', ago(i.heartbeatAt))}</tr>`,
    ),
    ...status.points.map(
      (p) =>
        `<tr data-point="${e(p.pointId)}">${td('Where', `${e(kindLabel[p.kind])}: <code>${e(p.pointId)}</code><br><span class="muted">credential of ${e(p.owner)} · ${p.decisions} decision${p.decisions === 1 ? '' : 's'}</span>`)}${td(
          'Version',
          // Gateways that ask before each request enforce what the instance answering them holds; only
          // those that hold the policy themselves can lag on their own.
          `${p.version} ${p.kind === 'policy' ? lag(p.version) : p.version >= status.version ? lag(p.version) : '<span class="muted">asks per request: enforces the instance\'s version</span>'}`,
        )}${td('Heard', ago(p.lastSeenAt))}</tr>`,
    ),
  ];
  const lagging = corrections.filter((c) => c.applied_version !== null && c.verified_at === null && c.lifted_at === null);
  return `<section class="card" aria-labelledby="enforcement-h" id="enforcement"><h2 id="enforcement-h">Enforcement</h2><p>Policy version <strong>${status.version}</strong> of ${e(status.systemId)}${
    lagging.length
      ? ` · <span class="bad">${lagging.length} correction${lagging.length === 1 ? '' : 's'} not yet verified at every enforcement point</span>`
      : ''
  }</p>${
    rows.length
      ? `<table class="stack"><thead><tr><th scope="col">Where</th><th scope="col">Version</th><th scope="col">Heard</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
      : '<p class="muted">No gateway has asked for this system\'s policy in the last 10 minutes, and no API instance holds it.</p>'
  }</section>`;
}

function timelineCaption(view: IncidentView): string {
  const shown = view.timeline.length;
  const cut = shown === view.timelineLimit ? ' Export the timeline for all of them.' : '';
  if (view.kindFilter)
    return `${cut ? `The newest ${shown}` : shown} ${e(view.kindFilter)} event${shown === 1 ? '' : 's'}, of ${view.timelineTotal} in all.${cut}`;
  return cut ? `The newest ${shown} of ${view.timelineTotal} events.${cut}` : `${view.timelineTotal} event${view.timelineTotal === 1 ? '' : 's'}.`;
}

export function chainStatus(chain: ChainCheck | undefined, checkedAt?: Date): string {
  if (!chain) return '<p class="muted">Chain not checked.</p>';
  return chain.ok
    ? `<p class="ok" data-chain="verified">Chain verified: ${chain.events} events, head <code>${e(chain.headHash.slice(0, 16))}…</code>${
        checkedAt ? ` <span class="muted">(checked ${moment(checkedAt)}; reload to check again)</span>` : ''
      }</p>`
    : `<p class="bad" data-chain="broken">Chain broken at event ${chain.brokenAt}: ${e(chain.reason)}</p>`;
}

export function exportButtons(incidentId: string): string {
  const base = `/console/exports?incidentId=${encodeURIComponent(incidentId)}`;
  return `<div class="actions"><a class="button" href="${base}&amp;format=json" download>Export JSON (signed)</a><a class="button secondary" href="${base}&amp;format=csv" download>Export CSV</a><a class="button secondary" href="/console/incidents/${e(incidentId)}/report">Printable report</a></div>`;
}

// ---- inbox, compliance, outbox ----

export function decisionsMain(pending: PendingDecision[], viewer: Viewer, names: Map<string, string>, flash?: Flash): string {
  const body = pending.length
    ? pending.map((p) => pendingCard(p, viewer, names, { showIncident: true })).join('')
    : '<p class="muted">Nothing waits on you. New proposals appear here as they arrive.</p>';
  return `<h1>Waiting on you</h1><p class="live" id="live-status" aria-live="polite"></p>${flashHtml(flash)}${region(
    'inbox',
    `<section class="card" aria-label="Pending decisions">${body}</section>`,
  )}`;
}

/** The notice or refusal after an action. */
function flashHtml(flash: Flash | undefined): string {
  const notice = flash?.noticeHtml ?? (flash?.notice ? e(flash.notice) : '');
  return `${notice ? `<p class="notice" role="status">${notice}</p>` : ''}${flash?.error ? `<p class="error" role="alert">${e(flash.error)}</p>` : ''}`;
}

export function complianceMain(rows: { incident: IncidentRow; chain: ChainCheck }[], systems: string[]): string {
  const table = rows.length
    ? `<table class="stack"><thead><tr><th scope="col">Incident</th><th scope="col">Opened</th><th scope="col">Chain</th><th scope="col">Exports</th></tr></thead><tbody>${rows
        .map(
          ({
            incident: i,
            chain,
          }) => `<tr>${td('Incident', `${severityBadge(i.severity)} <a href="/console/incidents/${e(i.id)}">${e(i.title)}</a> <span class="muted">${e(i.system_id)} · ${e(i.state)}</span>`)}
${td('Opened', moment(i.opened_at))}${td('Chain', chainStatus(chain))}${td('Exports', exportButtons(i.id))}</tr>`,
        )
        .join('')}</tbody></table>`
    : '<p class="muted">No incidents yet.</p>';
  const selection = `<form class="filters" method="get" action="/console/exports" aria-label="Export a selection">
<label>System<select name="systemId"><option value="">Any</option>${systems.map((s) => `<option value="${e(s)}">${e(s)}</option>`).join('')}</select></label>
<label>From (UTC)<input type="date" name="from"></label><label>To (UTC, inclusive)<input type="date" name="to"></label>
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
