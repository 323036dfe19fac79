import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { recordIncidentOpened } from '../../services/incident/repository.js';
import { GENESIS_HASH, timelineEventHash } from '../../services/timeline/chain.js';
import { appendTimelineEvent, appendTimelineEvents, listTimeline } from '../../services/timeline/repository.js';
import { anIncidentStart, testDatabaseBackends, type TestDatabase } from '../support/database.js';

const anIncident = () => anIncidentStart();

describe.each(testDatabaseBackends)('incident timeline on $backend', ({ backend, create }) => {
  let database: TestDatabase;
  afterEach(async () => {
    await database?.destroy();
  });

  it('records an opened incident once, however often the write is retried', async () => {
    database = await create();
    const incident = anIncident();
    await recordIncidentOpened(database.db, incident);
    await recordIncidentOpened(database.db, incident);

    const rows = await database.db.selectFrom('incidents').selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: incident.incidentId, state: 'triggered', runbook_version: 'sha256:abc', classification: [] });
    const timeline = await listTimeline(database.db, incident.incidentId);
    expect(timeline.map((e) => [e.seq, e.kind, e.actor])).toEqual([[1, 'incident.opened', 'alice']]);
    expect(timeline[0]!.occurred_at.toISOString()).toBe(incident.openedAt);
  });

  it('chains each event to the one before it', async () => {
    database = await create();
    const incident = anIncident();
    await recordIncidentOpened(database.db, incident);
    for (const n of [1, 2, 3]) {
      await appendTimelineEvent(database.db, {
        incidentId: incident.incidentId,
        kind: 'page.sent',
        actor: 'bob',
        occurredAt: new Date(`2026-11-22T10:0${n}:00.000Z`),
        data: { text: `note ${n}`, tags: ['a', 'b'] },
        idempotencyKey: `note-${n}`,
      });
    }
    const timeline = await listTimeline(database.db, incident.incidentId);
    expect(timeline.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    let prev = GENESIS_HASH;
    for (const e of timeline) {
      expect(e.prev_hash).toBe(prev);
      const recomputed = timelineEventHash({
        incidentId: e.incident_id,
        seq: e.seq,
        kind: e.kind,
        actor: e.actor,
        occurredAt: e.occurred_at.toISOString(),
        data: e.data,
        prevHash: e.prev_hash,
      });
      expect(e.hash).toBe(recomputed);
      prev = e.hash;
    }
  });

  it('appends several events in one call, in order and chained, each once per key', async () => {
    database = await create();
    const incident = anIncident();
    await recordIncidentOpened(database.db, incident);
    const entry = (key: string) => ({
      incidentId: incident.incidentId,
      kind: 'notice.sent' as const,
      actor: 'system:notifications',
      occurredAt: new Date('2026-11-22T10:05:00.000Z'),
      data: { recipient: key },
      idempotencyKey: key,
    });
    const before = await appendTimelineEvent(database.db, entry('b'));
    // 'b' is already recorded, 'c' is given twice: a retry after a crash, or a caller repeating itself.
    const events = await appendTimelineEvents(database.db, [entry('a'), entry('b'), entry('c'), entry('c')]);
    expect(events.map((e) => [e.seq, e.idempotency_key])).toEqual([
      [3, 'a'],
      [2, 'b'],
      [4, 'c'],
      [4, 'c'],
    ]);
    expect(events[1]).toEqual(before);
    const timeline = await listTimeline(database.db, incident.incidentId);
    expect(timeline.map((e) => [e.seq, e.idempotency_key])).toEqual([
      [1, expect.any(String)],
      [2, 'b'],
      [3, 'a'],
      [4, 'c'],
    ]);
    for (const [i, e] of timeline.entries()) if (i > 0) expect(e.prev_hash).toBe(timeline[i - 1]!.hash);
    expect(await appendTimelineEvents(database.db, [entry('a'), entry('c')])).toEqual([events[0], events[2]]);
    await expect(appendTimelineEvents(database.db, [entry('a'), { ...entry('x'), incidentId: anIncident().incidentId }])).rejects.toThrow(/one incident/);
  });

  it('refuses to update or delete a timeline event', async () => {
    database = await create();
    const incident = anIncident();
    await recordIncidentOpened(database.db, incident);
    await expect(sql`update timeline_events set actor = 'mallory'`.execute(database.db)).rejects.toThrow(/append-only: UPDATE refused/);
    await expect(sql`delete from timeline_events`.execute(database.db)).rejects.toThrow(/append-only: DELETE refused/);
    expect((await listTimeline(database.db, incident.incidentId))[0]!.actor).toBe('alice');
  });

  it(`gives concurrent appends consecutive sequence numbers without gaps or duplicates (${backend})`, async () => {
    database = await create();
    const incident = anIncident();
    await recordIncidentOpened(database.db, incident);
    const writes = Array.from({ length: 20 }, (_, i) =>
      appendTimelineEvent(database.db, {
        incidentId: incident.incidentId,
        kind: 'signal.suppressed',
        actor: 'system:ingest',
        occurredAt: new Date(),
        data: { i },
        // every event written twice, as a retried activity would
        idempotencyKey: `signal-${i % 10}`,
      }),
    );
    await Promise.all(writes);
    const timeline = await listTimeline(database.db, incident.incidentId);
    expect(timeline.map((e) => e.seq)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
    expect(new Set(timeline.map((e) => e.idempotency_key)).size).toBe(11);
  });
});
