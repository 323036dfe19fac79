import { createHash, randomBytes } from 'node:crypto';
import type { ColumnType, Generated, Kysely, Selectable } from 'kysely';
import type { CreatedAt, Database, Timestamp } from '../db/schema.js';
import { InvalidInput } from '../errors.js';
import type { RunbookCatalogue } from '../runbook/catalogue.js';
import type { Runbook } from '../runbook/schema.js';
import { coverageGaps, nextHandOff, onCallAt, shiftsBetween, type OnCall, type Override } from './on-call.js';
import type { Schedule } from './schema.js';

// The tables this module owns (migrations/2026-12-03T0000_schedules.ts), and the one place that
// joins a schedule (from the runbooks) with its overrides (from here).

export interface ScheduleOverridesTable {
  id: Generated<string>;
  schedule_id: string;
  person: string;
  starts_at: Timestamp;
  ends_at: Timestamp;
  reason: string;
  created_by: string;
  created_at: CreatedAt;
  cancelled_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  cancelled_by: string | null;
}

export interface ScheduleFeedsTable {
  id: Generated<string>;
  schedule_id: string | null;
  person_id: string | null;
  secret_hash: string;
  created_by: string;
  created_at: CreatedAt;
  revoked_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

// A type alias, not an interface: withTables wants an index signature.
export type ScheduleTables = {
  schedule_overrides: ScheduleOverridesTable;
  schedule_feeds: ScheduleFeedsTable;
};

type Db = Kysely<Database>;
const tables = (db: Db) => db.withTables<ScheduleTables>();

/** Longest override accepted: longer than this is a rotation change, which belongs in the runbook. */
export const maxOverrideMs = 90 * 86_400_000;

export type SchedulePerson = Runbook['people'][number];

/** A schedule as the runbook that defines it declares it, with that runbook's people (names, contacts). */
export interface FoundSchedule {
  schedule: Schedule;
  systemId: string;
  runbookVersion: string;
  people: SchedulePerson[];
}

/** Where the runbooks are read from: the catalogue (the files, as the API serves them) or the versions last recorded in the database. */
export type ScheduleSource = RunbookCatalogue | undefined;

interface RunbookEntry {
  systemId: string;
  version: string;
  runbook: Runbook;
}

async function recordedRunbooks(db: Db): Promise<RunbookEntry[]> {
  const rows = await db
    .selectFrom('systems')
    .innerJoin('runbook_versions', 'runbook_versions.version', 'systems.runbook_version')
    .select(['systems.id', 'runbook_versions.version', 'runbook_versions.content'])
    .orderBy('systems.id')
    .execute();
  return rows.map((row) => ({ systemId: row.id, version: row.version, runbook: row.content as unknown as Runbook }));
}

async function currentRunbooks(db: Db, catalogue: ScheduleSource): Promise<RunbookEntry[]> {
  if (!catalogue) return recordedRunbooks(db);
  const entries: RunbookEntry[] = [];
  for (const systemId of await catalogue.systemIds()) {
    const inUse = await catalogue.find(systemId);
    if (!inUse) continue;
    // Recorded, so that the worker (which reads recorded versions) pages under the schedule the API shows.
    if ((inUse.runbook.schedules ?? []).length > 0) await catalogue.record(db, inUse);
    entries.push({ systemId, version: inUse.version, runbook: inUse.runbook });
  }
  return entries;
}

/** Every schedule of the current runbooks, sorted by id. */
export async function listSchedules(db: Db, catalogue?: ScheduleSource): Promise<FoundSchedule[]> {
  const found = (await currentRunbooks(db, catalogue)).flatMap((entry) =>
    // Versions recorded before runbooks had schedules have none.
    (entry.runbook.schedules ?? []).map((schedule) => ({ schedule, systemId: entry.systemId, runbookVersion: entry.version, people: entry.runbook.people })),
  );
  // Ids are unique across runbooks (the catalogue refuses a second one); the first wins should two recorded versions disagree.
  const seen = new Set<string>();
  return found
    .sort((a, b) => (a.schedule.id < b.schedule.id ? -1 : a.schedule.id > b.schedule.id ? 1 : 0))
    .filter((f) => !seen.has(f.schedule.id) && !!seen.add(f.schedule.id));
}

/**
 * The schedule with this id in the current runbooks, with its runbook's people. Without a catalogue,
 * the runbook versions last recorded in the database are read (what incidents run under: an
 * incident's runbook is recorded before it starts).
 */
export async function findSchedule(db: Db, id: string, catalogue?: ScheduleSource): Promise<FoundSchedule | undefined> {
  return (await listSchedules(db, catalogue)).find((found) => found.schedule.id === id);
}

function toOverride(row: Selectable<ScheduleOverridesTable>): Override & { scheduleId: string } {
  return {
    id: row.id,
    scheduleId: row.schedule_id,
    person: row.person,
    startsAt: row.starts_at,
    endsAt: row.ends_at,
    reason: row.reason,
    createdBy: row.created_by,
    createdAt: row.created_at,
    cancelledAt: row.cancelled_at,
    cancelledBy: row.cancelled_by,
  };
}

export type StoredOverride = ReturnType<typeof toOverride>;

/** A schedule's overrides that overlap [from, to) (all of them without bounds), oldest start first; cancelled ones only when asked. */
export async function listOverrides(
  db: Db,
  scheduleId: string,
  options: { from?: Date; to?: Date; includeCancelled?: boolean } = {},
): Promise<StoredOverride[]> {
  let query = tables(db).selectFrom('schedule_overrides').selectAll().where('schedule_id', '=', scheduleId);
  if (options.from) query = query.where('ends_at', '>', options.from);
  if (options.to) query = query.where('starts_at', '<', options.to);
  if (!options.includeCancelled) query = query.where('cancelled_at', 'is', null);
  const rows = await query.orderBy('starts_at').orderBy('created_at').orderBy('id').execute();
  return rows.map(toOverride);
}

export interface NewOverride {
  scheduleId: string;
  person: string;
  startsAt: Date;
  endsAt: Date;
  reason: string;
  createdBy: string;
}

/** Checks an override against its schedule: a person of its runbook, a positive span of at most 90 days. */
export function overrideProblems(found: FoundSchedule, override: Omit<NewOverride, 'scheduleId' | 'createdBy'>): InvalidInput | undefined {
  const errors: { path: string; message: string }[] = [];
  if (!found.people.some((p) => p.id === override.person)) {
    errors.push({ path: 'person', message: `'${override.person}' is not one of the people of the runbook that defines schedule '${found.schedule.id}'` });
  }
  const starts = override.startsAt.getTime();
  const ends = override.endsAt.getTime();
  if (!Number.isFinite(starts)) errors.push({ path: 'from', message: 'must be an instant' });
  if (!Number.isFinite(ends)) errors.push({ path: 'to', message: 'must be an instant' });
  else if (ends <= starts) errors.push({ path: 'to', message: 'must be after from' });
  else if (ends - starts > maxOverrideMs)
    errors.push({ path: 'to', message: 'an override may last at most 90 days: change the rotation in the runbook instead' });
  if (override.reason.trim() === '') errors.push({ path: 'reason', message: 'must say why' });
  return errors.length > 0 ? new InvalidInput(errors) : undefined;
}

/** Stores an override after checking it; throws InvalidInput naming the bad fields. */
export async function createOverride(db: Db, found: FoundSchedule, override: NewOverride): Promise<StoredOverride> {
  const problems = overrideProblems(found, override);
  if (problems) throw problems;
  const row = await tables(db)
    .insertInto('schedule_overrides')
    .values({
      schedule_id: found.schedule.id,
      person: override.person,
      starts_at: override.startsAt,
      ends_at: override.endsAt,
      reason: override.reason.trim(),
      created_by: override.createdBy,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toOverride(row);
}

/** Cancels an override; the first cancellation stands. Undefined when the schedule has no such override. */
export async function cancelOverride(db: Db, scheduleId: string, overrideId: string, by: string, at: Date = new Date()): Promise<StoredOverride | undefined> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(overrideId)) return undefined;
  await tables(db)
    .updateTable('schedule_overrides')
    .set({ cancelled_at: at, cancelled_by: by })
    .where('id', '=', overrideId)
    .where('schedule_id', '=', scheduleId)
    .where('cancelled_at', 'is', null)
    .execute();
  const row = await tables(db)
    .selectFrom('schedule_overrides')
    .selectAll()
    .where('id', '=', overrideId)
    .where('schedule_id', '=', scheduleId)
    .executeTakeFirst();
  return row && toOverride(row);
}

/** The overrides that can matter around `at` for onCallAt and nextHandOff (which look up to 8 weeks either way). */
const lookAroundMs = 9 * 7 * 86_400_000;

export type ScheduleOnCall = OnCall & { scheduleId: string; scheduleName: string };

/** Who is on call under a schedule at `at` (layers, overrides, fallback); undefined when nobody is or there is no such schedule. */
export async function whoIsOnCall(db: Db, scheduleId: string, at: Date, catalogue?: ScheduleSource): Promise<ScheduleOnCall | undefined> {
  const found = await findSchedule(db, scheduleId, catalogue);
  if (!found) return undefined;
  const overrides = await listOverrides(db, scheduleId, { from: new Date(at.getTime() - lookAroundMs), to: new Date(at.getTime() + lookAroundMs) });
  const onCall = onCallAt(found.schedule, overrides, at);
  return onCall && { ...onCall, scheduleId, scheduleName: found.schedule.name };
}

/** The next instant after `after` the person on call under a schedule changes, within 8 weeks. */
export async function nextHandOffOf(db: Db, scheduleId: string, after: Date, catalogue?: ScheduleSource): Promise<Date | undefined> {
  const found = await findSchedule(db, scheduleId, catalogue);
  if (!found) return undefined;
  const overrides = await listOverrides(db, scheduleId, { from: after, to: new Date(after.getTime() + lookAroundMs) });
  return nextHandOff(found.schedule, overrides, after);
}

/** A schedule's timeline between two instants: shifts, gaps, and the overrides in it. */
export async function scheduleTimeline(db: Db, found: FoundSchedule, from: Date, to: Date) {
  const overrides = await listOverrides(db, found.schedule.id, { from, to });
  return { overrides, shifts: shiftsBetween(found.schedule, overrides, from, to), gaps: coverageGaps(found.schedule, overrides, from, to) };
}

// Calendar feeds: a secret URL per schedule or per person; only the secret's hash is stored.

export type FeedSubject = { scheduleId: string } | { personId: string };

function hashFeedSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Makes a feed and answers its secret, which is never stored and so shown only this once. */
export async function createFeed(db: Db, subject: FeedSubject, createdBy: string): Promise<{ id: string; secret: string }> {
  const secret = `cal_${randomBytes(24).toString('base64url')}`;
  const row = await tables(db)
    .insertInto('schedule_feeds')
    .values({
      schedule_id: 'scheduleId' in subject ? subject.scheduleId : null,
      person_id: 'personId' in subject ? subject.personId : null,
      secret_hash: hashFeedSecret(secret),
      created_by: createdBy,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, secret };
}

/** What a feed's secret shows, or undefined for a secret no feed has. */
export async function findFeed(db: Db, secret: string): Promise<FeedSubject | undefined> {
  const row = await tables(db)
    .selectFrom('schedule_feeds')
    .select(['schedule_id', 'person_id'])
    .where('secret_hash', '=', hashFeedSecret(secret))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  if (row?.schedule_id) return { scheduleId: row.schedule_id };
  if (row?.person_id) return { personId: row.person_id };
  return undefined;
}
