// Every message Correx sends, in one place. Pure string building (workflows call these), each with a
// plain-text and an HTML body.
import type { correctionKinds } from '../correction/kinds.js';
import { onCallInWords, type OnCallWhy } from '../escalation/on-call.js';
import { capitalised, correctionInWords, kindInWords, momentInWords, parametersInWords, scopeInWords } from '../correction/wording.js';

export interface Message {
  subject: string;
  text: string;
  html: string;
}

const escape = (value: string) => value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function message(subject: string, paragraphs: string[], fields: [string, string][] = []): Message {
  const width = Math.max(0, ...fields.map(([label]) => label.length));
  const text = [...paragraphs, ...(fields.length ? ['', ...fields.map(([label, value]) => `${`${label}:`.padEnd(width + 1)} ${value}`)] : [])].join('\n');
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif">',
    ...paragraphs.map((p) => `<p>${escape(p)}</p>`),
    fields.length
      ? `<table>${fields.map(([label, value]) => `<tr><th align="left" valign="top">${escape(label)}</th><td>${escape(value).replace(/\n/g, '<br>')}</td></tr>`).join('')}</table>`
      : '',
    '</body></html>',
  ].join('\n');
  return { subject, text: `${text}\n`, html };
}

/** What a message asks its reader to do, where in the console, and the CLI command that does the same. */
export interface CallToAction {
  /** In words: `Approve or reject the shutdown`. */
  what: string;
  /** The console page, from the root: `/console/incidents/<id>#decisions`. */
  path: string;
  /** The same in a terminal: `correx correction approve <id> --rationale "…"`. */
  command?: string;
}

/**
 * The message with what to do, a link to the console page where it is done, and the CLI command. The
 * link's origin is the deployment's public URL, which only the sender knows (workflows build the rest).
 */
export function withCallToAction(m: Message, action: CallToAction, publicUrl: string): Message {
  const url = `${publicUrl.replace(/\/+$/, '')}${action.path}`;
  const lines = [`What to do: ${action.what}`, `Open: ${url}`, ...(action.command ? [`Or in a terminal: ${action.command}`] : [])];
  const html = [
    `<p><strong>${escape(action.what)}</strong></p>`,
    `<p><a href="${escape(url)}" style="display:inline-block;padding:8px 14px;background:#1d4ed8;color:#fff;border-radius:6px;text-decoration:none">Open in Correx</a></p>`,
    ...(action.command ? [`<p>Or in a terminal: <code>${escape(action.command)}</code></p>`] : []),
  ].join('\n');
  return {
    subject: m.subject,
    text: `${lines.join('\n')}\n\n${m.text}`,
    html: m.html.replace('<body style="font-family:sans-serif">', `<body style="font-family:sans-serif">\n${html}`),
  };
}

export interface IncidentRef {
  incidentId: string;
  systemId: string;
  title: string;
  severity: string;
}

const tag = (i: IncidentRef) => `[Correx ${i.severity}] ${i.systemId}`;

export function escalationPage(i: IncidentRef, to: string, level: number, round: number, onCall?: OnCallWhy): Message {
  return message(`${tag(i)}: ${i.title}`, [
    `${to}, you are paged for incident ${i.incidentId} on ${i.systemId} (${i.severity}).`,
    ...(onCall ? [onCallInWords(onCall)] : []),
    `Escalation level ${level}, round ${round}. Acknowledge incident ${i.incidentId} in Correx to stop the escalation.`,
  ]);
}

/** To whoever takes over a schedule while an incident it was paged for is still open: where it stands. */
export function handOffPage(i: IncidentRef, to: string, onCall: OnCallWhy, briefing: string[]): Message {
  return message(`${tag(i)}: you are now on call for an open incident`, [
    `${to}, incident ${i.incidentId} on ${i.systemId} (${i.severity}) is still open and you have just come on call.`,
    onCallInWords(onCall),
    ...briefing,
  ]);
}

export function correctionPage(i: IncidentRef, to: string, correction: { id: string; kind: string; reason: string }, what: string): Message {
  return message(
    `${tag(i)}: ${correction.kind} correction needs you`,
    [`${to},`, what],
    [
      ['Incident', `${i.incidentId}: ${i.title}`],
      ['Correction', `${correction.id} (${correction.kind})`],
      ['Reason', correction.reason],
    ],
  );
}

/** A correction waiting on its reader's decision: what it does, in words, and until when. */
export function decisionRequest(
  i: IncidentRef,
  to: string,
  correction: {
    id: string;
    kind: (typeof correctionKinds)[number];
    scope: Record<string, unknown>;
    parameters: Record<string, unknown>;
    reason: string;
    proposedBy: string;
  },
  decision: { quorum: number; approverRoles: string[]; decideBy: string; breakGlass: boolean },
): Message {
  const what = correctionInWords(correction.kind, correction.scope, correction.parameters, i.systemId);
  return message(
    `${tag(i)}: ${decision.breakGlass ? 'ratify' : 'decide on'} ${kindInWords[correction.kind].split(':')[0]} (${i.title})`,
    [
      `${to},`,
      decision.breakGlass
        ? `${correction.proposedBy} applied this correction at once (break-glass). It stays in force only if it is ratified by ${momentInWords(decision.decideBy)}: ${what}.`
        : `${correction.proposedBy} proposes this correction, and it needs your decision: ${what}.`,
      `It needs ${decision.quorum} approval${decision.quorum === 1 ? '' : 's'} from different roles among ${decision.approverRoles.join(', ')}. Without a decision by ${momentInWords(decision.decideBy)} it ${decision.breakGlass ? 'is lifted' : 'is escalated'}.`,
    ],
    [
      ['Correction', `${capitalised(kindInWords[correction.kind])} (${correction.id})`],
      ['For', scopeInWords(correction.scope)],
      ...parametersInWords(correction.kind, correction.parameters),
      ['Why (proposer)', correction.reason],
      ['Incident', `${i.incidentId}: ${i.title}`],
    ],
  );
}

export interface ReportRef {
  regimeName: string;
  clockId: string;
  report: string;
  dueAt: string;
}

export function reportDrafted(i: IncidentRef, to: string, r: ReportRef): Message {
  return message(
    `${tag(i)}: ${r.report} report to ${r.regimeName} due ${momentInWords(r.dueAt)}`,
    [
      `${to}, a regulator clock is running on incident ${i.incidentId} (${i.title}).`,
      `The ${r.report} report to ${r.regimeName} is drafted from the incident's record and waits for your review and approval; approving it sends it.`,
    ],
    [
      ['Due', momentInWords(r.dueAt)],
      ['Regime', r.regimeName],
      ['Report', `${r.report} (${r.clockId})`],
      ['Incident', `${i.incidentId}: ${i.title}`],
    ],
  );
}

export function reportReminder(i: IncidentRef, to: string, r: ReportRef, fraction: number): Message {
  return message(
    `${tag(i)}: ${r.report} report to ${r.regimeName} due ${r.dueAt}`,
    [
      `${to}, ${Math.round(fraction * 100)} % of the reporting window has passed and the ${r.report} report (${r.clockId}) is not yet approved.`,
      `Review, complete and approve it in Correx (incident ${i.incidentId}, clock ${r.clockId}).`,
    ],
    [
      ['Due', r.dueAt],
      ['Regime', r.regimeName],
      ['Incident', `${i.incidentId}: ${i.title}`],
    ],
  );
}

export function reportAtRisk(i: IncidentRef, to: string, r: ReportRef): Message {
  return message(
    `${tag(i)}: AT RISK ${r.report} report to ${r.regimeName} due ${r.dueAt}`,
    [`${to}, the ${r.report} report (${r.clockId}) is at risk of missing its legal deadline. It needs approval now.`],
    [
      ['Due', r.dueAt],
      ['Regime', r.regimeName],
      ['Incident', `${i.incidentId}: ${i.title}`],
    ],
  );
}

export function reportDeadlineMissed(i: IncidentRef, to: string, r: ReportRef): Message {
  return message(
    `${tag(i)}: DEADLINE MISSED ${r.report} report to ${r.regimeName}`,
    [
      `${to}, the deadline of the ${r.report} report (${r.clockId}) passed at ${r.dueAt} without a submission.`,
      'Approve it with the reason for the delay; it will be sent marked late.',
    ],
    [
      ['Regime', r.regimeName],
      ['Incident', `${i.incidentId}: ${i.title}`],
    ],
  );
}

export function regulatorReport(
  i: IncidentRef,
  r: ReportRef & { occurrence: number },
  fields: Record<string, string>,
  late: { late: boolean; reason?: string | undefined },
): Message {
  const kind = r.occurrence > 1 ? `${r.report} report #${r.occurrence}` : `${r.report} report`;
  return message(
    `${late.late ? '[LATE] ' : ''}${r.regimeName}: ${kind} on incident ${i.incidentId} (${i.systemId})`,
    [
      `${kind[0]!.toUpperCase()}${kind.slice(1)} under ${r.regimeName}.`,
      ...(late.late ? [`This report is submitted after its deadline (${r.dueAt}). Reason: ${late.reason ?? 'not given'}`] : []),
    ],
    Object.entries(fields),
  );
}

export interface ConsumerRef {
  name: string;
  fallback: string;
}

/** What a customer notice says about the correction: never the internal rationale, which is not written for customers. */
export interface CustomerFacingCorrection {
  kind: (typeof correctionKinds)[number];
  scope: Record<string, unknown>;
  parameters: Record<string, unknown>;
  /** When it came into force, or was lifted (ISO 8601). */
  at: string;
  /** The runbook's customer message for the kind, or the proposer's own. */
  message: string | undefined;
}

/** Whom customers ask, and how their fallback is switched. */
export interface CustomerNoticeContext {
  systemName: string;
  contact: { name: string; email: string };
  /** `automatic`: Correx switches it (webhook); otherwise the consumer's named contact is asked to. */
  fallbackSwitch: 'automatic' | 'requested';
}

/** The default customer message when the runbook has none for the kind. */
const defaultCustomerMessage =
  'We have put this restriction in place while we investigate unexpected behaviour of the model. We will write again as soon as it is lifted.';

/** A downstream customer hears that a correction affecting it is in force, and later that it is lifted. */
export function customerNotice(
  i: IncidentRef,
  consumer: ConsumerRef,
  correction: CustomerFacingCorrection,
  context: CustomerNoticeContext,
  phase: 'applied' | 'lifted',
): Message {
  const what = correctionInWords(correction.kind, correction.scope, correction.parameters, context.systemName);
  const when = momentInWords(correction.at);
  const inForce = phase === 'applied';
  const fallback = inForce
    ? context.fallbackSwitch === 'automatic'
      ? `Your fallback (${consumer.fallback}) is being switched on automatically.`
      : `Please switch on your fallback now: ${consumer.fallback}. Your operations contact has been sent the instructions.`
    : context.fallbackSwitch === 'automatic'
      ? `Your fallback (${consumer.fallback}) is being switched off automatically.`
      : `You can switch off your fallback (${consumer.fallback}); your operations contact has been sent the instructions.`;
  return message(
    inForce ? `${context.systemName}: service restricted since ${when}` : `${context.systemName}: restriction lifted, normal service since ${when}`,
    [
      `To ${consumer.name}:`,
      inForce
        ? `Since ${when}, ${what}.`
        : `Since ${when}, the restriction on ${context.systemName} (${kindInWords[correction.kind].split(':')[0]} for ${scopeInWords(correction.scope)}) is lifted and normal service has resumed.`,
      ...(inForce ? [correction.message ?? defaultCustomerMessage] : []),
      fallback,
      `Questions: ${context.contact.name}, ${context.contact.email}. Please quote the reference below.`,
    ],
    [
      [inForce ? 'Restricted' : 'Lifted', capitalised(kindInWords[correction.kind])],
      ['For', scopeInWords(correction.scope)],
      ...parametersInWords(correction.kind, correction.parameters),
      [inForce ? 'Since' : 'Lifted at', when],
      ['Your fallback', consumer.fallback],
      ['Contact', `${context.contact.name} <${context.contact.email}>`],
      ['Reference', i.incidentId],
    ],
  );
}

export function fallbackRequest(i: IncidentRef, consumer: ConsumerRef & { instructions: string }, action: 'activate' | 'deactivate'): Message {
  return message(
    `${i.systemId}: please ${action} your fallback (${consumer.fallback})`,
    [
      `To ${consumer.name}: ${action === 'activate' ? 'a correction on' : 'the correction on'} ${i.systemId} ${action === 'activate' ? 'interrupts your service' : 'was lifted'}.`,
      `${action === 'activate' ? 'Activate' : 'Deactivate'} your fallback: ${consumer.instructions}`,
    ],
    [['Incident', i.incidentId]],
  );
}

/** A milestone of an incident, for the runbook's internal list: what happened, when, by whom. */
export function internalUpdate(i: IncidentRef, to: string, event: { headline: string; at: string; by: string; details?: [string, string][] }): Message {
  return message(
    `${tag(i)}: ${event.headline} (${i.title})`,
    [`${to}, for your information: ${event.headline}.`],
    [['When', momentInWords(event.at)], ['By', event.by], ...(event.details ?? []), ['Incident', `${i.incidentId}: ${i.title}`]],
  );
}

export function upstreamNotice(i: IncidentRef, recipient: string, summary: string | undefined): Message {
  return message(
    `${tag(i)}: incident notice (${i.title})`,
    [
      `To ${recipient}: an incident involving ${i.systemId} is open. We share it so the information flows along the value chain; we will follow up with findings.`,
    ],
    [['Incident', i.incidentId], ['Title', i.title], ['Severity', i.severity], ...(summary ? ([['Summary', summary]] as [string, string][]) : [])],
  );
}

export interface TaskRef {
  taskId: string;
  title: string;
  dueAt: string;
}

export function taskReminder(i: IncidentRef, to: string, task: TaskRef): Message {
  return message(
    `${tag(i)}: follow-up due ${task.dueAt.slice(0, 10)}: ${task.title}`,
    [
      `${to}, this after-action task of incident ${i.incidentId} (${i.title}) is yours and due soon.`,
      `Mark it done in Correx (correx task done ${task.taskId}), reassign it, or say why it will not be done.`,
    ],
    [
      ['Task', `${task.taskId}: ${task.title}`],
      ['Due', task.dueAt],
    ],
  );
}

export function taskOverdue(i: IncidentRef, to: string, task: TaskRef & { owner: string; ownerRole: string }): Message {
  return message(
    `${tag(i)}: overdue follow-up: ${task.title}`,
    [
      `${to}, an after-action task owned by ${task.owner} (${task.ownerRole}), whom you manage, is overdue.`,
      `Please see that it is done, reassigned, or dropped with a reason (correx task done|reassign|drop ${task.taskId}).`,
    ],
    [
      ['Incident', `${i.incidentId}: ${i.title}`],
      ['Task', `${task.taskId}: ${task.title}`],
      ['Was due', task.dueAt],
    ],
  );
}
