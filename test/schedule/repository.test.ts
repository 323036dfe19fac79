import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { InvalidInput } from '../../services/errors.js';
import { recordRunbookVersion } from '../../services/runbook/repository.js';
import { Runbook } from '../../services/runbook/schema.js';
import {
  cancelOverride,
  createFeed,
  createOverride,
  findFeed,
  findSchedule,
  listOverrides,
  listSchedules,
  nextHandOffOf,
  whoIsOnCall,
} from '../../services/schedule/repository.js';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database.js';
import { projectRoot } from '../support/environment.js';
import { recordRunbook } from '../support/runbooks.js';

const at = (iso: string) => new Date(iso);

/** The minimal fixture runbook with a business-hours schedule over a weekly one, and a fallback. */
export async function runbookWithSchedule(): Promise<Record<string, unknown>> {
  const content = parse(await readFile(path.join(projectRoot, 'test/fixtures/runbooks/minimal.yaml'), 'utf8')) as Record<string, unknown>;
  content.schedules = [
    {
      id: 'loan-primary',
      name: 'Loan model primary',
      timeZone: 'Europe/Berlin',
      layers: [
        { id: 'weekly', members: ['ada', 'ben'], start: '2027-03-15T09:00', shift: '1w' },
        {
          id: 'daytime',
          members: ['cleo'],
          start: '2027-03-15T09:00',
          shift: '1d',
          restrictions: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '17:00' }],
        },
      ],
      fallback: 'cleo',
    },
  ];
  return content;
}

describe('schedules in PostgreSQL', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createPostgresTestDatabase();
    await recordRunbook(database.db, await runbookWithSchedule());
  });
  afterAll(async () => {
    await database?.destroy();
  });

  it('finds a schedule in the recorded runbooks, with its people', async () => {
    const found = await findSchedule(database.db, 'loan-primary');
    expect(found?.schedule.name).toBe('Loan model primary');
    expect(found?.systemId).toBe('loan-model');
    expect(found?.people.map((p) => p.id)).toEqual(['ada', 'ben', 'cleo']);
    expect((await listSchedules(database.db)).map((f) => f.schedule.id)).toEqual(['loan-primary']);
    expect(await findSchedule(database.db, 'nope')).toBeUndefined();
    expect(await whoIsOnCall(database.db, 'nope', new Date())).toBeUndefined();
  });

  it('answers who is on call, overrides included, and the next hand-off', async () => {
    // Saturday 2027-03-20 12:00 CET: the weekly layer (ada).
    expect(await whoIsOnCall(database.db, 'loan-primary', at('2027-03-20T11:00:00Z'))).toEqual({
      person: 'ada',
      since: at('2027-03-19T16:00:00Z'),
      until: at('2027-03-22T08:00:00Z'),
      source: { kind: 'layer', layer: 'weekly' },
      scheduleId: 'loan-primary',
      scheduleName: 'Loan model primary',
    });
    const found = (await findSchedule(database.db, 'loan-primary'))!;
    const override = await createOverride(database.db, found, {
      scheduleId: 'loan-primary',
      person: 'ben',
      startsAt: at('2027-03-20T10:00:00Z'),
      endsAt: at('2027-03-20T14:00:00Z'),
      reason: 'Ada at a wedding',
      createdBy: 'cleo',
    });
    expect(await whoIsOnCall(database.db, 'loan-primary', at('2027-03-20T11:00:00Z'))).toMatchObject({
      person: 'ben',
      since: at('2027-03-20T10:00:00Z'),
      until: at('2027-03-20T14:00:00Z'),
      source: { kind: 'override', overrideId: override.id, by: 'cleo', reason: 'Ada at a wedding' },
    });
    expect(await nextHandOffOf(database.db, 'loan-primary', at('2027-03-20T11:00:00Z'))).toEqual(at('2027-03-20T14:00:00Z'));

    const cancelled = await cancelOverride(database.db, 'loan-primary', override.id, 'ada', at('2027-03-01T00:00:00Z'));
    expect(cancelled).toMatchObject({ cancelledBy: 'ada', cancelledAt: at('2027-03-01T00:00:00Z') });
    expect(await cancelOverride(database.db, 'other', override.id, 'ada')).toBeUndefined();
    expect(await cancelOverride(database.db, 'loan-primary', 'not-a-uuid', 'ada')).toBeUndefined();
    expect((await whoIsOnCall(database.db, 'loan-primary', at('2027-03-20T11:00:00Z')))?.person).toBe('ada');
    expect(await listOverrides(database.db, 'loan-primary')).toEqual([]);
    expect(await listOverrides(database.db, 'loan-primary', { includeCancelled: true })).toHaveLength(1);
    // Sunday 20:00 CET to Monday 09:00 CET: the hand-off from ada to cleo's daytime layer.
    expect(await nextHandOffOf(database.db, 'loan-primary', at('2027-03-20T11:00:00Z'))).toEqual(at('2027-03-22T08:00:00Z'));
  });

  it('refuses an override for someone outside the runbook, backwards, or too long', async () => {
    const found = (await findSchedule(database.db, 'loan-primary'))!;
    const attempt = (fields: Partial<Parameters<typeof createOverride>[2]>) =>
      createOverride(database.db, found, {
        scheduleId: 'loan-primary',
        person: 'ada',
        startsAt: at('2027-04-01T00:00:00Z'),
        endsAt: at('2027-04-02T00:00:00Z'),
        reason: 'cover',
        createdBy: 'cleo',
        ...fields,
      });
    await expect(attempt({ person: 'mallory' })).rejects.toThrow(/'mallory' is not one of the people/);
    await expect(attempt({ endsAt: at('2027-03-31T00:00:00Z') })).rejects.toThrow(/to: must be after from/);
    await expect(attempt({ endsAt: at('2027-07-01T00:00:00Z') })).rejects.toThrow(/at most 90 days/);
    await expect(attempt({ reason: ' ' })).rejects.toBeInstanceOf(InvalidInput);
  });

  it('reads runbook versions recorded before runbooks had schedules', async () => {
    const content = await runbookWithSchedule();
    const runbook = Runbook.parse({ ...content, system: { ...(content.system as object), id: 'older-model' } }) as Partial<Runbook>;
    delete runbook.schedules;
    await recordRunbookVersion(database.db, { file: 'older.yaml', runbook: runbook as Runbook, version: 'sha256:older' });
    expect((await listSchedules(database.db)).map((f) => f.schedule.id)).toEqual(['loan-primary']);
  });

  it('keeps only a hash of a feed secret', async () => {
    const feed = await createFeed(database.db, { scheduleId: 'loan-primary' }, 'cleo');
    expect(feed.secret).toMatch(/^cal_/);
    expect(await findFeed(database.db, feed.secret)).toEqual({ scheduleId: 'loan-primary' });
    expect(await findFeed(database.db, `${feed.secret}x`)).toBeUndefined();
    const personal = await createFeed(database.db, { personId: 'ada' }, 'ada');
    expect(await findFeed(database.db, personal.secret)).toEqual({ personId: 'ada' });
    const rows = await database.db.withTables<{ schedule_feeds: { secret_hash: string } }>().selectFrom('schedule_feeds').select('secret_hash').execute();
    expect(rows.map((r) => r.secret_hash)).not.toContain(feed.secret);
  });
});
