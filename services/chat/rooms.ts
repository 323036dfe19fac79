import { sql, type Kysely } from 'kysely';
import { ensureRoom, transactionId, type MatrixClient } from '../channel/matrix.js';
import type { Database, TimelineEventRow } from '../db/schema.js';
import { findRunbookVersion } from '../runbook/repository.js';
import type { Runbook } from '../runbook/schema.js';
import { listTimeline } from '../timeline/repository.js';
import './schema.js';

/** An incident's room, by key. */
export const incidentRoomKey = (incidentId: string) => `incident:${incidentId}`;

/** A runbook's people with a Matrix account: person id → Matrix user id (their first matrix contact). */
export function matrixUsers(runbook: Pick<Runbook, 'people'>): Map<string, string> {
  const users = new Map<string, string>();
  for (const person of runbook.people) {
    const matrix = person.contacts?.find((c) => c.channel === 'matrix');
    if (matrix && matrix.channel === 'matrix') users.set(person.id, matrix.user);
  }
  return users;
}

/** Who a Matrix user is in a runbook: the person whose matrix contact it is, or undefined. */
export function personOf(runbook: Pick<Runbook, 'people'>, matrixUser: string): string | undefined {
  for (const [person, user] of matrixUsers(runbook)) if (user === matrixUser) return person;
  return undefined;
}

/** Whether an incident at `severity` gets a room under the runbook (its severities are listed most severe first). */
export function wantsRoom(runbook: Pick<Runbook, 'incidentRoom' | 'severities'>, severity: string): boolean {
  if (!runbook.incidentRoom) return false;
  const ids = runbook.severities.map((s) => s.id);
  const at = ids.indexOf(severity);
  const threshold = ids.indexOf(runbook.incidentRoom.atOrAbove);
  return at !== -1 && threshold !== -1 && at <= threshold;
}

/** The incident's responders: everyone an escalation level names (role holders, people, schedule members and fallbacks). */
export function responders(runbook: Pick<Runbook, 'people' | 'escalation' | 'schedules'>): string[] {
  const ids = new Set<string>();
  for (const level of runbook.escalation.levels) {
    for (const target of level.targets) {
      if ('person' in target) ids.add(target.person);
      else if ('role' in target) {
        for (const p of runbook.people) if (p.roles.includes(target.role)) ids.add(p.id);
      } else {
        const schedule = runbook.schedules?.find((s) => s.id === target.schedule);
        for (const layer of schedule?.layers ?? []) for (const member of layer.members) ids.add(member);
        if (schedule?.fallback) ids.add(schedule.fallback);
      }
    }
  }
  return [...ids];
}

const field = (data: unknown, name: string): unknown => (data && typeof data === 'object' ? (data as Record<string, unknown>)[name] : undefined);
const str = (data: unknown, name: string): string | undefined => {
  const v = field(data, name);
  return typeof v === 'string' && v.trim() ? v : undefined;
};
const short = (id: unknown) => (typeof id === 'string' ? id.slice(0, 8) : '?');

/** What the room is told of one timeline event, or undefined for events not worth a message (key events only). */
export function describeEvent(event: Pick<TimelineEventRow, 'kind' | 'actor' | 'data'>): string | undefined {
  const { kind, actor, data } = event;
  const via = field(data, 'via') ? ` (from Matrix, ${str(field(data, 'via'), 'user')})` : '';
  const because = (name: string) => (str(data, name) ? `: ${str(data, name)}` : '');
  const correction = () => {
    const id = field(data, 'correctionId');
    const what = str(data, 'kind');
    return `${what ? what.replace(/_/g, ' ') : 'correction'} ${short(id)}`;
  };
  switch (kind) {
    case 'incident.opened':
      return `Incident opened by ${actor} at ${str(data, 'severity') ?? '?'}: ${str(data, 'title') ?? ''}`;
    case 'incident.acknowledged':
      return `Acknowledged by ${actor}${via}; ${actor} leads the incident. Paging stopped.`;
    case 'incident.mitigated':
      return 'Mitigated: a correction is in force.';
    case 'incident.resolved':
      return `Resolved by ${actor}${because('reason')}`;
    case 'incident.closed':
      return `Closed by ${actor}.`;
    case 'incident.reopened':
      return `Reopened${because('reason')}`;
    case 'page.sent':
      return `Paged ${str(data, 'person') ?? '?'} (${str(data, 'reason') ?? 'escalation'}, level ${String(field(data, 'level') ?? '?')}, by ${str(data, 'channel') ?? '?'}).`;
    case 'escalation.exhausted':
      return 'Escalation exhausted: nobody acknowledged.';
    case 'correction.proposed':
      return `Correction proposed by ${actor}: ${correction()} (id ${String(field(data, 'correctionId'))})${because('reason')}. Decide with !approve <id> <rationale> or !reject <id> <rationale>.`;
    case 'correction.approval_given':
      return `${actor} approved correction ${short(field(data, 'correctionId'))} as ${str(data, 'role') ?? '?'}${via}${because('rationale')}`;
    case 'correction.rejection_given':
      return `${actor} rejected correction ${short(field(data, 'correctionId'))} as ${str(data, 'role') ?? '?'}${via}${because('rationale')}`;
    case 'correction.approved':
      return `Correction ${short(field(data, 'correctionId'))} approved.`;
    case 'correction.rejected':
      return `Correction ${short(field(data, 'correctionId'))} rejected${because('rationale')}`;
    case 'correction.expired':
      return `Correction ${short(field(data, 'correctionId'))} expired: not decided in time.`;
    case 'correction.escalated':
      return `Correction ${short(field(data, 'correctionId'))}: nobody decided in time; escalated.`;
    case 'correction.applied':
      return `Correction ${short(field(data, 'correctionId'))} applied.`;
    case 'correction.verified':
      return `Correction ${short(field(data, 'correctionId'))} verified: enforced everywhere.`;
    case 'correction.lifted':
      return `Correction ${short(field(data, 'correctionId'))} lifted.`;
    default:
      return undefined;
  }
}

export interface RoomDependencies {
  db: Kysely<Database>;
  matrix: MatrixClient;
  /** The console's origin, for links. */
  publicUrl: string;
  log?: (line: string) => void;
}

/**
 * One pass of the incident rooms: a room for each open incident whose runbook asks for one at its
 * severity (with its responders who have a Matrix account invited), then each room's new timeline events
 * posted in order. An event's transaction id is its incident and sequence number and the room's cursor
 * moves after each post, so nothing is posted twice or skipped across restarts.
 */
export async function syncIncidentRooms(deps: RoomDependencies): Promise<void> {
  const runbooks = new Map<string, Runbook | undefined>();
  const runbookAt = async (version: string | null) => {
    if (!version) return undefined;
    if (!runbooks.has(version)) runbooks.set(version, await findRunbookVersion(deps.db, version));
    return runbooks.get(version);
  };

  const candidates = await deps.db
    .selectFrom('incidents')
    .select(['id', 'title', 'severity', 'system_id', 'runbook_version', 'commander'])
    .where('state', '<>', 'closed')
    .where('drill', '=', false)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('chat_rooms')
            .select('chat_rooms.key')
            .whereRef('chat_rooms.incident_id', '=', 'incidents.id')
            .where('chat_rooms.kind', '=', 'incident')
            .where('chat_rooms.room_id', 'is not', null),
        ),
      ),
    )
    .orderBy('opened_at')
    .execute();
  for (const incident of candidates) {
    try {
      await openRoom(incident);
    } catch (error) {
      deps.log?.(`incident room for ${incident.id}: ${(error as Error).message}`);
    }
  }
  async function openRoom(incident: (typeof candidates)[number]) {
    const runbook = await runbookAt(incident.runbook_version);
    if (!runbook || !wantsRoom(runbook, incident.severity)) return;
    const users = matrixUsers(runbook);
    const people = new Set(responders(runbook));
    if (incident.commander) people.add(incident.commander);
    const invite = [...people].flatMap((p) => (users.has(p) ? [users.get(p)!] : []));
    const { roomId } = await ensureRoom(deps.db, deps.matrix, incidentRoomKey(incident.id), { kind: 'incident', incidentId: incident.id }, (tag) =>
      deps.matrix.createRoom({
        name: `${incident.severity} ${incident.title} (${incident.system_id})`,
        topic: `Correx incident ${incident.id}: ${deps.publicUrl}/console/incidents/${incident.id} · !help for commands`,
        invite: [...new Set(invite)],
        tag,
      }),
    );
    deps.log?.(`incident room for ${incident.id}: ${roomId}`);
  }

  const rooms = await deps.db
    .selectFrom('chat_rooms')
    .select(['key', 'room_id', 'incident_id', 'posted_seq'])
    .where('kind', '=', 'incident')
    .where('room_id', 'is not', null)
    .where(({ exists, selectFrom }) =>
      exists(
        selectFrom('timeline_events')
          .select('timeline_events.seq')
          .whereRef('timeline_events.incident_id', '=', 'chat_rooms.incident_id')
          .whereRef('timeline_events.seq', '>', 'chat_rooms.posted_seq'),
      ),
    )
    .execute();
  for (const room of rooms) {
    try {
      await post(room);
    } catch (error) {
      deps.log?.(`incident room ${room.room_id}: ${(error as Error).message}`);
    }
  }
  async function post(room: (typeof rooms)[number]) {
    const incident = await deps.db.selectFrom('incidents').select(['runbook_version']).where('id', '=', room.incident_id!).executeTakeFirst();
    const runbook = await runbookAt(incident?.runbook_version ?? null);
    const users = runbook ? matrixUsers(runbook) : new Map<string, string>();
    for (let after = room.posted_seq; ;) {
      const events = await listTimeline(deps.db, room.incident_id!, { afterSeq: after, limit: 100 });
      for (const event of events) {
        const text = describeEvent(event);
        if (text)
          await deps.matrix.sendMessage(room.room_id!, transactionId(`timeline:${event.incident_id}:${event.seq}`), { body: text, msgtype: 'm.notice' });
        // Whoever leads or was paged is in the room from then on.
        const joining = event.kind === 'incident.acknowledged' ? event.actor : event.kind === 'page.sent' ? str(event.data, 'person') : undefined;
        if (joining && users.has(joining)) await deps.matrix.invite(room.room_id!, users.get(joining)!).catch(() => {});
        await deps.db
          .updateTable('chat_rooms')
          .set({ posted_seq: event.seq, updated_at: sql`now()` })
          .where('key', '=', room.key)
          .execute();
        after = event.seq;
      }
      if (events.length < 100) break;
    }
  }
}
