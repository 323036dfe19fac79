import { DateTime } from 'luxon';
import { z } from 'zod';
import { RunbookId as ScheduleId } from '../runbook/id.js';
import { ApiClient, idArgument, parseInput, type ConnectionOptions } from './api.js';
import { fields, print, printJson, table, truncate } from './output.js';

// What `correx schedule …` does (the commands are defined in ./schedule.ts).

interface PersonRef {
  id: string;
  name: string;
}
type Source = { kind: 'layer'; layer: string } | { kind: 'override'; overrideId: string; by: string; reason: string } | { kind: 'fallback' };
interface Shift {
  person: PersonRef;
  since: string;
  until: string;
  source: Source;
}
interface ScheduleSummary {
  id: string;
  name: string;
  timeZone: string;
  systemId: string;
  layers: { id: string; members: PersonRef[]; start: string; shift: string; restrictions: { days: string[]; from: string; to: string }[] | null }[];
  fallback: PersonRef | null;
}
interface OverrideView {
  id: string;
  person: PersonRef;
  from: string;
  to: string;
  reason: string;
  createdBy: string;
  createdAt: string;
  cancelledAt: string | null;
  cancelledBy: string | null;
}
interface ScheduleDetail extends ScheduleSummary {
  onCall: Shift | null;
  upcoming: Shift[];
  gaps: { since: string; until: string; fallback: PersonRef | null }[];
  overrides: OverrideView[];
}

const Instant = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 time with an offset, e.g. 2026-12-24T18:00:00+01:00' });

function scheduleArgument(value: string, name = '<id>'): string {
  return parseInput(z.object({ id: ScheduleId }), { id: value }, { id: name }).id;
}

/** An instant in the schedule's zone, as people there read it: `Mon 2027-03-29 09:00 CEST`. */
function local(iso: string, zone: string): string {
  return DateTime.fromISO(iso, { zone }).toFormat('ccc yyyy-LL-dd HH:mm ZZZZ');
}

function why(source: Source): string {
  switch (source.kind) {
    case 'layer':
      return `layer ${source.layer}`;
    case 'override':
      return `override by ${source.by}: ${source.reason}`;
    case 'fallback':
      return 'fallback (no layer covers)';
  }
}

export async function list(options: ConnectionOptions): Promise<void> {
  const answer = await (await ApiClient.connect(options)).get<{ items: ScheduleSummary[] }>('/v1/schedules');
  if (options.json) return printJson(answer);
  if (answer.items.length === 0) return print('no schedules (a runbook defines them under schedules:)');
  print(
    table(
      ['id', 'name', 'zone', 'system', 'layers', 'fallback'],
      answer.items.map((s) => [s.id, truncate(s.name, 40), s.timeZone, s.systemId, s.layers.map((l) => l.id).join(', '), s.fallback?.id]),
    ),
  );
}

export async function show(id: string, options: ConnectionOptions): Promise<void> {
  const scheduleId = scheduleArgument(id);
  const s = await (await ApiClient.connect(options)).get<ScheduleDetail>(`/v1/schedules/${scheduleId}`);
  if (options.json) return printJson(s);
  const zone = s.timeZone;
  print(`schedule ${s.id}: ${s.name}`);
  print(
    fields([
      ['zone', zone],
      ['system', s.systemId],
      ['fallback', s.fallback ? `${s.fallback.name} (${s.fallback.id})` : 'none: gaps leave nobody on call'],
      ['on call', s.onCall ? `${s.onCall.person.name} (${s.onCall.person.id}) until ${local(s.onCall.until, zone)}, ${why(s.onCall.source)}` : 'nobody'],
    ]),
  );
  print();
  print('layers (a later layer wins where it has someone):');
  for (const layer of s.layers) {
    const windows = layer.restrictions?.map((r) => `${r.days.join(',')} ${r.from}-${r.to}`).join('; ');
    print(`  ${layer.id}: ${layer.members.map((m) => m.id).join(' → ')}, ${layer.shift} shifts from ${layer.start}${windows ? `, only ${windows}` : ''}`);
  }
  print();
  print(`next two weeks (${zone}):`);
  print(
    s.upcoming.length
      ? table(
          ['from', 'until', 'who', 'why'],
          s.upcoming.map((x) => [local(x.since, zone), local(x.until, zone), x.person.name, why(x.source)]),
        )
      : 'nobody on call',
  );
  if (s.gaps.length > 0) {
    print();
    print('gaps (no layer and no override):');
    print(
      table(
        ['from', 'until', 'covered by'],
        s.gaps.map((g) => [local(g.since, zone), local(g.until, zone), g.fallback?.name ?? 'NOBODY']),
      ),
    );
  }
  if (s.overrides.length > 0) {
    print();
    print('overrides:');
    print(
      table(
        ['id', 'from', 'until', 'who', 'by', 'why'],
        s.overrides.map((o) => [o.id, local(o.from, zone), local(o.to, zone), o.person.name, o.createdBy, truncate(o.reason, 60)]),
      ),
    );
  }
}

export async function onCall(id: string, options: ConnectionOptions & { at?: string }): Promise<void> {
  const scheduleId = scheduleArgument(id);
  const query = parseInput(z.object({ at: Instant.optional() }), { at: options.at }, { at: '--at' });
  const api = await ApiClient.connect(options);
  const answer = await api.get<{ scheduleId: string; scheduleName: string; at: string; onCall: Shift | null }>(`/v1/schedules/${scheduleId}/on-call`, query);
  if (options.json) return printJson(answer);
  if (!answer.onCall) return print(`nobody is on call under ${answer.scheduleName} at ${answer.at}`);
  const o = answer.onCall;
  print(`${o.person.name} (${o.person.id}) is on call under ${answer.scheduleName} at ${answer.at}`);
  print(
    fields([
      ['since', o.since],
      ['until', o.until],
      ['why', why(o.source)],
    ]),
  );
}

export async function override(id: string, options: ConnectionOptions & { person: string; from: string; to: string; reason: string }): Promise<void> {
  const scheduleId = scheduleArgument(id);
  const body = parseInput(
    z.object({ person: z.string().min(1).max(64), from: Instant, to: Instant, reason: z.string().trim().min(1, 'must say why').max(2000) }),
    { person: options.person, from: options.from, to: options.to, reason: options.reason },
    { person: '--person', from: '--from', to: '--to', reason: '--reason' },
  );
  const made = await (await ApiClient.connect(options)).post<OverrideView>(`/v1/schedules/${scheduleId}/overrides`, body);
  if (options.json) return printJson(made);
  print(`override ${made.id}: ${made.person.name} on call under ${scheduleId} from ${made.from} until ${made.to}`);
}

export async function cancelOverride(id: string, overrideId: string, options: ConnectionOptions): Promise<void> {
  const scheduleId = scheduleArgument(id);
  const oid = idArgument(overrideId, 'an override', '<overrideId>');
  const cancelled = await (await ApiClient.connect(options)).delete<OverrideView>(`/v1/schedules/${scheduleId}/overrides/${oid}`);
  if (options.json) return printJson(cancelled);
  print(`override ${cancelled.id}: cancelled by ${cancelled.cancelledBy} (${cancelled.person.name}, ${cancelled.from} until ${cancelled.to})`);
}

export async function feed(id: string, options: ConnectionOptions & { person?: boolean }): Promise<void> {
  const subject = scheduleArgument(id);
  const route = options.person ? `/v1/people/${subject}/feed` : `/v1/schedules/${subject}/feed`;
  const made = await (await ApiClient.connect(options)).post<{ id: string; url: string }>(route);
  if (options.json) return printJson(made);
  print(made.url);
  process.stderr.write('correx: subscribe to this URL in a calendar; it is shown only this once, and anyone with it can read the feed\n');
}
