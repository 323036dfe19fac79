// Every message Correx sends, in one place. Pure string building (workflows call these), each with a
// plain-text and an HTML body.

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

export interface IncidentRef {
  incidentId: string;
  systemId: string;
  title: string;
  severity: string;
}

const tag = (i: IncidentRef) => `[Correx ${i.severity}] ${i.systemId}`;

export function escalationPage(i: IncidentRef, to: string, level: number, round: number): Message {
  return message(`${tag(i)}: ${i.title}`, [
    `${to}, you are paged for incident ${i.incidentId} on ${i.systemId} (${i.severity}).`,
    `Escalation level ${level}, round ${round}. Acknowledge incident ${i.incidentId} in Correx to stop the escalation.`,
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

export interface ReportRef {
  regimeName: string;
  clockId: string;
  report: string;
  dueAt: string;
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

export function consumerNotice(
  i: IncidentRef,
  consumer: ConsumerRef,
  correction: { kind: string; scope: string; reason: string; at: string },
  phase: 'applied' | 'lifted',
): Message {
  const restricted = phase === 'applied';
  return message(
    `${i.systemId}: ${correction.kind.replace(/_/g, ' ')} ${restricted ? 'in force' : 'lifted'}`,
    [
      `To ${consumer.name}:`,
      restricted
        ? `Access to ${i.systemId} is restricted (${correction.kind.replace(/_/g, ' ')}) from ${correction.at}. Your fallback (${consumer.fallback}) is being activated.`
        : `The ${correction.kind.replace(/_/g, ' ')} on ${i.systemId} was lifted at ${correction.at}. Your fallback is being deactivated; normal service resumes.`,
      'Reply to this message or contact the deployer if you are affected in ways not described here.',
    ],
    [
      ['What is restricted', `${correction.kind} (${correction.scope})`],
      ['Why', correction.reason],
      ['Incident', i.incidentId],
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
