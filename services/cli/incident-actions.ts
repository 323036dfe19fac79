import { z } from 'zod';
import { InstantInput } from '../instant.js';
import { CliError, ExitCode } from './exit.js';
import { IncidentState, IncidentTrigger, Severity, SystemId } from '../incident/schema.js';
import { IncidentClass } from '../regulatory/regime.js';
import { ApiClient, idArgument, listValues, parseInput, type ConnectionOptions } from './api.js';
import { age, fields, print, printJson, table, time, truncate } from './output.js';
import { escalationInWords, type EscalationProgress } from '../escalation/wording.js';

// What `correx incident …` does (the commands are defined in ./incident.ts).

/** An incident as GET /v1/incidents answers it. */
export interface IncidentView {
  id: string;
  systemId: string;
  title: string;
  severity: string;
  state: string;
  dedupKey: string;
  commander: string | null;
  classification: string[] | null;
  runbookVersion: string;
  openedBy: string;
  openedAt: string;
  acknowledgedAt: string | null;
  mitigatedAt: string | null;
  resolvedAt: string | null;
  closedAt: string | null;
}

/** The workflow's live view of an incident (the answer of acknowledge, resolve, classify and lift). */
export interface IncidentSnapshot {
  incidentId: string;
  state: string;
  commander?: string;
  severity: string;
  corrections: { id: string; kind: string; state: string; breakGlass: boolean }[];
  classification: string[];
  regulatoryClocks: { regimeId: string }[];
  awareness?: { at: string; by: string; reason: string };
  escalation?: EscalationProgress;
}

interface CorrectionView {
  id: string;
  kind: string;
  state: string;
  breakGlass: boolean;
  proposedBy: string;
  proposedAt: string;
  reason: string;
}

interface TimelineEvent {
  seq: number;
  kind: string;
  actor: string;
  occurredAt: string;
  data: unknown;
}

interface TriggerOutcome {
  incidentId: string;
  workflowId: string;
  joined: boolean;
}

const ListOptions = z.object({
  system: SystemId.optional(),
  state: z.array(IncidentState).optional(),
  severity: Severity.optional(),
  limit: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be 1 to 200').max(200, 'must be 1 to 200').default(50),
  cursor: z.string().min(1).optional(),
});

export async function trigger(
  systemId: string,
  options: ConnectionOptions & { title: string; severity: string; dedupKey?: string; summary?: string; awareSince?: string; awarenessReason?: string },
): Promise<void> {
  if ((options.awareSince === undefined) !== (options.awarenessReason === undefined))
    throw new CliError('--aware-since and --awareness-reason go together: when the organisation became aware, and how that is known', ExitCode.usage);
  const aware = options.awareSince !== undefined;
  const body = parseInput(
    IncidentTrigger,
    {
      systemId,
      title: options.title,
      severity: options.severity,
      dedupKey: options.dedupKey,
      summary: options.summary,
      ...(aware ? { awareSince: { at: options.awareSince, reason: options.awarenessReason } } : {}),
    },
    { systemId: '<systemId>', 'awareSince.at': '--aware-since', 'awareSince.reason': '--awareness-reason' },
  );
  const api = await ApiClient.connect(options);
  const outcome = await api.post<TriggerOutcome>('/v1/incidents', body);
  if (options.json) return printJson(outcome);
  print(`incident ${outcome.incidentId}: ${outcome.joined ? 'joined (an open incident with the same dedup key took this trigger)' : 'opened'}`);
}

export async function list(
  options: ConnectionOptions & { system?: string; state?: string; severity?: string; limit: string; cursor?: string; all?: boolean },
): Promise<void> {
  const filter = parseInput(ListOptions, {
    system: options.system,
    state: options.state === undefined ? undefined : listValues([options.state]),
    severity: options.severity,
    limit: options.limit,
    cursor: options.cursor,
  });
  const api = await ApiClient.connect(options);
  const items: IncidentView[] = [];
  let cursor = filter.cursor;
  let nextCursor: string | null;
  do {
    const page = await api.get<{ items: IncidentView[]; nextCursor: string | null }>('/v1/incidents', {
      systemId: filter.system,
      state: filter.state?.join(','),
      severity: filter.severity,
      limit: filter.limit,
      cursor,
    });
    items.push(...page.items);
    nextCursor = page.nextCursor;
    cursor = nextCursor ?? undefined;
  } while (options.all && nextCursor);

  if (options.json) return printJson({ items, nextCursor });
  if (items.length === 0) return print('no incidents');
  const now = Date.now();
  print(
    table(
      ['id', 'severity', 'state', 'system', 'age', 'title'],
      items.map((i) => [i.id, i.severity, i.state, i.systemId, age(i.openedAt, now), truncate(i.title, 60)]),
    ),
  );
  if (nextCursor) print(`more: correx incident list --cursor ${nextCursor} (with the same filters), or --all`);
}

export async function show(id: string, options: ConnectionOptions): Promise<void> {
  const incidentId = idArgument(id, 'an incident');
  const api = await ApiClient.connect(options);
  const shown = await api.get<IncidentView & { live: Partial<IncidentSnapshot> & { unavailable?: string } }>(`/v1/incidents/${incidentId}`);
  const [corrections, timeline] = await Promise.all([
    api.get<{ items: CorrectionView[] }>(`/v1/incidents/${incidentId}/corrections`),
    fullTimeline(api, incidentId),
  ]);
  if (options.json) return printJson({ ...shown, corrections: corrections.items, timeline });

  const live = shown.live;
  print(`incident ${shown.id}  ${shown.severity}  ${live?.state ?? shown.state}`);
  print(
    fields([
      ['title', shown.title],
      ['system', shown.systemId],
      ['commander', live?.commander ?? shown.commander ?? 'none yet'],
      ['classes', (live?.classification ?? shown.classification ?? []).join(', ') || 'not classified'],
      ['opened', `${time(shown.openedAt)} by ${shown.openedBy} (${age(shown.openedAt)} ago)`],
      ['aware since', live?.awareness && `${time(live.awareness.at)} (set by ${live.awareness.by}: ${live.awareness.reason})`],
      ['acknowledged', shown.acknowledgedAt && time(shown.acknowledgedAt)],
      ['paging', live?.escalation && escalationInWords(live.escalation)],
      ['mitigated', shown.mitigatedAt && time(shown.mitigatedAt)],
      ['resolved', shown.resolvedAt && time(shown.resolvedAt)],
      ['closed', shown.closedAt && time(shown.closedAt)],
      ['dedup key', shown.dedupKey],
      ['runbook', shown.runbookVersion],
      ['workflow', live?.unavailable ? `unavailable (${live.unavailable})` : undefined],
    ]),
  );
  print();
  if (corrections.items.length === 0) print('corrections: none');
  else {
    print('corrections');
    print(
      table(
        ['id', 'kind', 'state', 'break-glass', 'proposed by', 'proposed', 'reason'],
        corrections.items.map((c) => [c.id, c.kind, c.state, c.breakGlass, c.proposedBy, time(c.proposedAt), truncate(c.reason, 50)]),
      ),
    );
  }
  print();
  print('timeline');
  print(
    table(
      ['seq', 'time', 'actor', 'kind'],
      timeline.map((e) => [e.seq, time(e.occurredAt), e.actor, e.kind]),
    ),
  );
}

/** `ack` and `resolve`: the same call on the incident's acknowledge or resolve route. */
export function transition(route: 'acknowledge' | 'resolve') {
  return async (id: string, options: ConnectionOptions & { reason?: string }): Promise<void> => {
    const incidentId = idArgument(id, 'an incident');
    const body = parseInput(z.object({ reason: z.string().trim().min(1, 'must not be empty').max(2000).optional() }), { reason: options.reason });
    const api = await ApiClient.connect(options);
    const snapshot = await api.post<IncidentSnapshot>(`/v1/incidents/${incidentId}/${route}`, body);
    if (options.json) return printJson(snapshot);
    print(`incident ${incidentId}: ${snapshot.state}${snapshot.commander ? ` (commander ${snapshot.commander})` : ''}`);
  };
}

export async function classify(id: string, options: ConnectionOptions & { class: string[]; reason: string }): Promise<void> {
  const incidentId = idArgument(id, 'an incident');
  const body = parseInput(
    z.object({ classes: z.array(IncidentClass).min(1, 'give at least one class'), reason: z.string().trim().min(1, 'say why').max(2000) }),
    { classes: listValues(options.class), reason: options.reason },
    { classes: '--class' },
  );
  const api = await ApiClient.connect(options);
  const snapshot = await api.post<IncidentSnapshot>(`/v1/incidents/${incidentId}/classify`, body);
  if (options.json) return printJson(snapshot);
  const regimes = snapshot.regulatoryClocks.map((c) => c.regimeId);
  print(`incident ${incidentId}: classified ${snapshot.classification.join(', ')}; regulator clocks: ${regimes.join(', ') || 'none'}`);
}

export async function awareness(id: string, options: ConnectionOptions & { since: string; reason: string }): Promise<void> {
  const incidentId = idArgument(id, 'an incident');
  const body = parseInput(
    z.object({ awareSince: InstantInput, reason: z.string().trim().min(1, 'say why').max(2000) }),
    { awareSince: options.since, reason: options.reason },
    { awareSince: '--since' },
  );
  const api = await ApiClient.connect(options);
  const snapshot = await api.post<IncidentSnapshot>(`/v1/incidents/${incidentId}/awareness`, body);
  if (options.json) return printJson(snapshot);
  print(
    `incident ${incidentId}: aware since ${time(snapshot.awareness!.at)} (set by ${snapshot.awareness!.by}); clocks that run from awareness now run from it`,
  );
}

/** An incident's whole timeline, oldest first, page after page. */
export async function fullTimeline(api: ApiClient, incidentId: string): Promise<TimelineEvent[]> {
  const events: TimelineEvent[] = [];
  let afterSeq: number | undefined;
  for (;;) {
    const page = await api.get<{ items: TimelineEvent[]; nextAfterSeq: number | null }>(`/v1/incidents/${incidentId}/timeline`, { afterSeq, limit: 1000 });
    events.push(...page.items);
    if (page.nextAfterSeq === null) return events;
    afterSeq = page.nextAfterSeq;
  }
}
