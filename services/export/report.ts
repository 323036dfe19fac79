import { describeRule, type IncidentDossier } from './dossier.js';
import { escapeHtml as escape, formatInstant as when } from '../html.js';
import type { NotificationRow } from '../db/schema.js';
import { effectiveRegimes } from '../runbook/effective.js';

/** Which report a regulator notification is: initial, intermediate, final or notification (with its clock, and its number when it repeats). */
function reportType(d: IncidentDossier, n: NotificationRow): string {
  const regime = d.runbook ? effectiveRegimes(d.runbook).find((r) => r.id === n.regime) : undefined;
  const report = regime?.clocks.find((c) => c.id === n.clock_id)?.report;
  const number = n.occurrence && n.occurrence > 1 ? ` #${n.occurrence}` : '';
  return `${report ?? '-'}${number}${n.clock_id ? ` (clock ${n.clock_id})` : ''}`;
}

/** Each report as sent, exactly: its subject, the SHA-256 the timeline records, and its text. */
function sentReports(regulator: NotificationRow[]): string {
  const sent = regulator.filter((n) => n.sent_at && n.body);
  if (sent.length === 0) return '';
  return `<section><h2>Regulator reports as sent</h2>${sent
    .map(
      (n) =>
        `<article><h3>${escape(n.subject)}</h3><p>Sent ${escape(when(n.sent_at))} to ${escape(n.recipient)} · Message-ID <span class="hash">${escape(n.message_id ?? '-')}</span> · SHA-256 <span class="hash">${escape(n.content_hash ?? '-')}</span></p><pre>${escape(n.body)}</pre></article>`,
    )
    .join('')}</section>`;
}

function table(caption: string, headers: string[], rows: unknown[][], empty: string): string {
  if (rows.length === 0) return `<section><h2>${escape(caption)}</h2><p class="empty">${escape(empty)}</p></section>`;
  return `<section><h2>${escape(caption)}</h2><table><thead><tr>${headers.map((h) => `<th scope="col">${escape(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${escape(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table></section>`;
}

function reviewSection(d: IncidentDossier): string {
  const r = d.review;
  if (!r) return `<section><h2>After-action review</h2><p class="empty">No review record has been submitted yet.</p></section>`;
  return `<section><h2>After-action review</h2><dl>
<dt>Summary</dt><dd>${escape(r.summary)}</dd><dt>Impact</dt><dd>${escape(r.impact)}</dd><dt>Root cause</dt><dd>${escape(r.root_cause)}</dd>
<dt>Contributing factors</dt><dd>${escape(r.contributing_factors.join('; ') || '-')}</dd>
<dt>Runbook changes proposed</dt><dd>${escape(r.runbook_changes.join('; ') || '-')}</dd>
<dt>Submitted</dt><dd>${escape(when(r.submitted_at))} by ${escape(r.submitted_by)}</dd>
<dt>Signed off</dt><dd>${r.signed_off_at ? `${escape(when(r.signed_off_at))} by ${escape(r.signed_off_by)}` : 'not yet'}</dd>
</dl></section>
${table(
  'Attribution',
  ['Lifecycle stage', 'Value-chain actor', 'Confidence', 'Evidence'],
  r.attribution.map((a) => [a.stage, a.actor, a.confidence, a.evidence.map((e) => (e.url ? `${e.description} (${e.url})` : e.description)).join('; ')]),
  'No attribution recorded.',
)}`;
}

/**
 * The printable incident report: summary, the alerts that opened and joined it, decision log (who approved what, when, why, under which
 * rule), corrections and when they were in force, notifications and regulator submissions against
 * their deadlines, follow-up, and the timeline with its hashes. Plain HTML that prints on A4.
 */
export function printableReport(d: IncidentDossier, meta: { generatedAt: string; generatedBy: string }): string {
  const i = d.incident;
  const system = d.runbook?.system;
  const regulator = d.notifications.filter((n) => n.audience === 'regulator');
  const other = d.notifications.filter((n) => n.audience !== 'regulator');
  const last = d.timeline.at(-1);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Incident report: ${escape(i.title)}</title>
<style>
  body { font: 11pt/1.4 system-ui, sans-serif; color: #111; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; }
  h1 { font-size: 1.5rem; margin-bottom: .25rem; } h2 { font-size: 1.1rem; border-bottom: 1px solid #999; margin-top: 1.5rem; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; } dt { font-weight: 600; } dd { margin: 0; }
  table { border-collapse: collapse; width: 100%; table-layout: fixed; } th, td { border: 1px solid #bbb; padding: .25rem .4rem; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
  th { background: #eee; } .hash { font: 8pt ui-monospace, monospace; overflow-wrap: anywhere; } pre { white-space: pre-wrap; overflow-wrap: anywhere; font: 9pt ui-monospace, monospace; } h3 { font-size: 1rem; margin-bottom: .25rem; } .empty { color: #555; font-style: italic; }
  @page { size: A4; margin: 15mm; }
  @media print { body { margin: 0; max-width: none; } section { break-inside: auto; } tr { break-inside: avoid; } h2 { break-after: avoid; } }
</style></head><body>
<header><h1>${escape(i.title)}</h1><p>Incident ${escape(i.id)} · generated ${escape(when(meta.generatedAt))} by ${escape(meta.generatedBy)}</p></header>
<section><h2>Summary</h2><dl>
<dt>System</dt><dd>${escape(system ? `${system.name} (${i.system_id}), model ${system.model.name} ${system.model.version}` : i.system_id)}</dd>
<dt>Severity</dt><dd>${escape(i.severity)}</dd><dt>State</dt><dd>${escape(i.state)}</dd>
<dt>Commander</dt><dd>${escape(i.commander ?? '-')}</dd><dt>Classes</dt><dd>${escape(i.classification.join(', ') || 'not classified')}</dd>
<dt>Opened</dt><dd>${escape(when(i.opened_at))} by ${escape(i.opened_by)}</dd><dt>Acknowledged</dt><dd>${escape(when(i.acknowledged_at))}</dd>
<dt>Mitigated</dt><dd>${escape(when(i.mitigated_at))}</dd><dt>Resolved</dt><dd>${escape(when(i.resolved_at))}</dd><dt>Closed</dt><dd>${escape(when(i.closed_at))}</dd>
<dt>Runbook version</dt><dd class="hash">${escape(i.runbook_version ?? '-')}</dd>
<dt>Timeline</dt><dd>${d.timeline.length} events; head <span class="hash">${escape(last?.hash ?? '-')}</span></dd>
</dl></section>
${table(
  'Alerts',
  ['Alert', 'Source', 'Status', 'Labels', 'First seen', 'Last seen', 'Signals'],
  d.alerts.map((a) => [
    a.summary ?? a.alertKey,
    a.source,
    a.status,
    Object.entries(a.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(', '),
    when(a.firstSeenAt),
    when(a.lastSeenAt),
    `${a.signals}${a.occurrences > a.signals ? ` + ${a.occurrences - a.signals} repeats` : ''}${a.suppressed ? ` (${a.suppressed} silenced)` : ''}`,
  ]),
  'No alerts: no sender signalled this incident (a person triggered it).',
)}
${table(
  'Decision log',
  ['When', 'Who', 'Role', 'Decision', 'Correction', 'Rationale', 'Authority rule'],
  d.decisions.map((x) => [
    when(x.at),
    `${x.name} (${x.actor})`,
    x.role,
    x.decision,
    `${x.kind} ${x.correctionId.slice(0, 8)}`,
    x.rationale,
    describeRule(x.rule),
  ]),
  'No approvals or rejections were recorded.',
)}
${table(
  'Corrections',
  ['Kind', 'Scope', 'Proposed', 'State', 'In force from', 'In force until', 'Reason'],
  d.corrections.map((c) => [
    c.kind + (c.break_glass ? ' (break-glass)' : ''),
    JSON.stringify(c.scope),
    `${when(c.proposed_at)} by ${c.proposed_by}`,
    c.state,
    when(c.applied_at),
    c.lifted_at ? when(c.lifted_at) : c.applied_at ? 'still in force' : '-',
    c.reason,
  ]),
  'No corrections were proposed.',
)}
${table(
  'Regulator reports',
  ['Regime', 'Report', 'Recipient', 'Due', 'Sent', 'State', 'On time', 'Approved by'],
  regulator.map((n) => [
    n.regime,
    reportType(d, n),
    n.recipient,
    when(n.due_at),
    when(n.sent_at),
    n.state,
    n.sent_at ? (n.late ? `late: ${n.late_reason ?? ''}` : 'yes') : '-',
    n.approved_by ?? '-',
  ]),
  'No regulator regime applied.',
)}
${sentReports(regulator)}
${table(
  'Notifications',
  ['Audience', 'Recipient', 'Subject', 'State', 'Sent'],
  other.map((n) => [n.audience, n.recipient, n.subject, n.state, when(n.sent_at)]),
  'No notifications were sent.',
)}
${reviewSection(d)}
${table(
  'After-action tasks',
  ['Task', 'Owner', 'Due', 'State', 'Done'],
  d.tasks.map((t) => [t.title, t.owner ?? t.owner_role, when(t.due_at), t.state, when(t.completed_at)]),
  'No follow-up tasks yet.',
)}
${table(
  'Timeline',
  ['#', 'When', 'Actor', 'Event', 'Hash'],
  d.timeline.map((e) => [e.seq, when(e.occurred_at), e.actor, e.kind, e.hash.slice(0, 16)]),
  'No events.',
)}
</body></html>
`;
}
