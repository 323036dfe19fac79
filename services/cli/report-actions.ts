import { z } from 'zod';
import { InstantInput } from '../instant.js';
import { ApiClient, idArgument, keyValues, parseInput, type ConnectionOptions } from './api.js';
import { fields, print, printJson, relative, table, time } from './output.js';

// What `correx report …` does (the commands are defined in ./report.ts).

interface ReportView {
  id: string;
  regime: string | null;
  clockId: string | null;
  occurrence: number | null;
  subject: string;
  state: string;
  dueAt: string | null;
  sentAt: string | null;
  late: boolean;
  approvedBy: string | null;
}

interface ClockSnapshot {
  clockId: string;
  report: string;
  occurrence: number;
  dueAt?: string;
  state: string;
  submittedAt?: string;
  late: boolean;
}

interface RegimeClocks {
  regimeId: string;
  regimeName?: string;
  withdrawn?: boolean;
  clocks?: ClockSnapshot[];
  unavailable?: string;
}

export async function list(incident: string, options: ConnectionOptions): Promise<void> {
  const incidentId = idArgument(incident, 'an incident', '<incidentId>');
  const api = await ApiClient.connect(options);
  const answer = await api.get<{ items: ReportView[]; clocks: RegimeClocks[] }>(`/v1/incidents/${incidentId}/reports`);
  if (options.json) return printJson(answer);
  if (answer.items.length === 0) print('no regulator reports (yet): classify the incident to start the clocks of the regimes that apply');
  else {
    const now = Date.now();
    print(
      table(
        ['id', 'regime', 'report', 'due', 'state', 'late'],
        answer.items.map((r) => [
          r.id,
          r.regime,
          `${r.clockId ?? '-'}${r.occurrence && r.occurrence > 1 ? ` #${r.occurrence}` : ''}`,
          r.dueAt ? `${time(r.dueAt)} (${relative(r.dueAt, now)})` : '-',
          r.state,
          r.late,
        ]),
      ),
    );
  }
  const unavailable = answer.clocks.filter((c) => c.unavailable);
  for (const c of unavailable) print(`clock ${c.regimeId}: unavailable (${c.unavailable})`);
}

export async function approve(id: string, options: ConnectionOptions & { edit?: string[]; lateReason?: string }): Promise<void> {
  const reportId = idArgument(id, 'a report', '<reportId>');
  const edits = keyValues(options.edit, '--edit');
  const body = parseInput(
    z.object({
      edits: z.record(z.string().min(1), z.string()).optional(),
      lateReason: z.string().trim().min(1, 'must not be empty').max(2000).optional(),
    }),
    { edits: edits.length > 0 ? Object.fromEntries(edits) : undefined, lateReason: options.lateReason },
    { edits: '--edit' },
  );
  const api = await ApiClient.connect(options);
  const regime = await api.post<RegimeClocks>(`/v1/reports/${reportId}/approve`, body);
  if (options.json) return printJson(regime);
  const states = (regime.clocks ?? []).map((c) => `${c.clockId}${c.occurrence > 1 ? ` #${c.occurrence}` : ''} ${c.state}`);
  print(`report ${reportId}: approved (${regime.regimeName ?? regime.regimeId}: ${states.join(', ') || 'no clocks'})`);
}

export async function declareSubmitted(id: string, options: ConnectionOptions & { at: string; evidence: string }): Promise<void> {
  const reportId = idArgument(id, 'a report', '<reportId>');
  const body = parseInput(
    z.object({ submittedAt: InstantInput, evidence: z.string().trim().min(1, 'say what shows it was made').max(2000) }),
    { submittedAt: options.at, evidence: options.evidence },
    { submittedAt: '--at' },
  );
  const api = await ApiClient.connect(options);
  const regime = await api.post<RegimeClocks>(`/v1/reports/${reportId}/declare-submitted`, body);
  if (options.json) return printJson(regime);
  const states = (regime.clocks ?? []).map((c) => `${c.clockId}${c.occurrence > 1 ? ` #${c.occurrence}` : ''} ${c.state}`);
  print(
    `report ${reportId}: recorded as submitted outside Correx at ${body.submittedAt} (${regime.regimeName ?? regime.regimeId}: ${states.join(', ') || 'no clocks'})`,
  );
}

interface ReportField {
  name: string;
  value: string | null;
  source: 'derived' | 'edited' | 'missing';
  missing: boolean;
  derived: string | null;
  drafted: string | null;
  changedSinceDrafted: boolean;
}

interface ReportContent {
  id: string;
  incidentId: string;
  regime: { id: string; name: string };
  reportType: string | null;
  clockId: string;
  occurrence: number;
  recipient: string;
  dueAt: string | null;
  state: string;
  live: boolean;
  header: Record<string, string>;
  fields: ReportField[];
  missing: string[];
  incompleteInitialAllowed: boolean;
  approvable: boolean;
  approvedBy: string | null;
  approvedAt: string | null;
  sent: { at: string; late: boolean; messageId: string | null; contentHash: string | null; text: string } | null;
}

const indented = (text: string) =>
  text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');

/** The report as a person reads it: what it is, whether it can go, then each field with where its value comes from. */
function printReport(r: ReportContent, now = Date.now()): void {
  const type = `${r.reportType ?? 'regulator'} report${r.occurrence > 1 ? ` #${r.occurrence}` : ''}`;
  print(`${r.regime.name}: ${type} (clock ${r.clockId})`);
  const quoted = r.missing.map((m) => `'${m}'`).join(', ');
  // Made on a portal or by phone: Correx sent nothing, so its fields are only what it would have said.
  const elsewhere = r.sent !== null && r.sent.messageId === null;
  const content = elsewhere
    ? 'not sent by Correx: the fields below are its draft, not what the regulator received'
    : !r.missing.length
      ? 'complete: every required field has a value'
      : r.incompleteInitialAllowed
        ? `incomplete: ${quoted} empty; this initial report may be sent so, saying they will follow`
        : `incomplete: ${quoted} empty; approving is refused until they are filled (correx report edit ${r.id} --set 'field=value')`;
  print(
    fields([
      ['id', r.id],
      ['incident', r.incidentId],
      ['to', r.recipient],
      ['due', r.dueAt ? `${time(r.dueAt)} (${relative(r.dueAt, now)})` : '-'],
      [
        'state',
        r.live
          ? `${r.state}: derived from the incident as it stands now`
          : r.approvedBy
            ? `${r.state}: approved by ${r.approvedBy} ${time(r.approvedAt)}`
            : r.state,
      ],
      ['content', content],
      [
        'sent',
        r.sent
          ? elsewhere
            ? `${r.sent.late ? 'late, ' : ''}${r.sent.text}`
            : `${time(r.sent.at)}${r.sent.late ? ' (late)' : ''}, Message-ID ${r.sent.messageId ?? '-'}, SHA-256 ${r.sent.contentHash ?? '-'}`
          : undefined,
      ],
    ]),
  );
  for (const f of r.fields) {
    const marks = [f.missing ? 'MISSING' : f.source === 'edited' ? 'edited' : 'from the incident', ...(f.changedSinceDrafted ? ['changed since drafted'] : [])];
    print();
    print(`${f.name} [${marks.join(', ')}]`);
    print(indented(f.value ?? '-'));
    if (f.source === 'edited' && f.derived !== null && f.derived !== f.value) print(indented(`(Correx derives: ${f.derived.split('\n').join(' / ')})`));
    if (f.changedSinceDrafted) print(indented(`(when drafted: ${f.drafted === null ? 'missing' : f.drafted.split('\n').join(' / ')})`));
  }
}

export async function show(id: string, options: ConnectionOptions): Promise<void> {
  const reportId = idArgument(id, 'a report', '<reportId>');
  const api = await ApiClient.connect(options);
  const report = await api.get<ReportContent>(`/v1/reports/${reportId}`);
  if (options.json) return printJson(report);
  printReport(report);
}

export async function edit(id: string, options: ConnectionOptions & { set?: string[] }): Promise<void> {
  const reportId = idArgument(id, 'a report', '<reportId>');
  const edits = Object.fromEntries(keyValues(options.set, '--set'));
  const api = await ApiClient.connect(options);
  const report = await api.post<ReportContent>(`/v1/reports/${reportId}/fields`, { edits });
  if (options.json) return printJson(report);
  print(`report ${reportId}: ${Object.keys(edits).length === 1 ? '1 field' : `${Object.keys(edits).length} fields`} set (kept as your edits; on the timeline)`);
  print();
  printReport(report);
}
