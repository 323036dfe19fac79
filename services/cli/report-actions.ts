import { z } from 'zod';
import { ApiClient, idArgument, keyValues, parseInput, type ConnectionOptions } from './api.js';
import { print, printJson, relative, table, time } from './output.js';

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
