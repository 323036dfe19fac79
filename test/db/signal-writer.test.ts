import { afterEach, describe, expect, it } from 'vitest';
import { HandOverMarks, SignalWriter, signalsAwaitingHandOver, storeSignalOnce } from '../../services/monitoring/repository.js';
import { SignalInput } from '../../services/monitoring/signal.js';
import { testDatabaseBackends, type TestDatabase } from '../support/database.js';

function alert(fingerprint: string, status: 'firing' | 'resolved' = 'firing'): SignalInput {
  return SignalInput.parse({
    systemId: 'assistant-prod',
    source: 'alertmanager',
    status,
    labels: { alertname: 'JailbreakRateHigh', group: fingerprint },
    at: '2026-12-02T01:00:00Z',
    idempotencyKey: `${fingerprint}:2026-12-02T01:00:00Z:${status}`,
    alertKey: fingerprint,
  });
}

describe.each(testDatabaseBackends)('signal writer on $backend', ({ create }) => {
  let database: TestDatabase;
  afterEach(async () => {
    await database?.destroy();
  });

  it('stores each alert once and counts every receipt of it, even when they arrive together', async () => {
    database = await create();
    const writer = new SignalWriter(database.db);
    const keys = Array.from({ length: 12 }, (_, i) => `fp${i}`);
    // 240 receipts at once: 20 of each alert, interleaved, as a storm of repeats arrives.
    const receipts = Array.from({ length: 240 }, (_, i) => keys[i % keys.length]!);
    const stored = await Promise.all(receipts.map((key) => writer.store(alert(key), new Date())));

    const rows = await database.db.selectFrom('signals').select(['id', 'fingerprint', 'occurrences']).execute();
    expect(rows).toHaveLength(12);
    for (const row of rows) expect(row.occurrences).toBe(20);
    for (const key of keys) {
      const mine = stored.filter((_, i) => receipts[i] === key);
      expect(new Set(mine.map((s) => s.signalId)).size).toBe(1);
      // Exactly one receipt stored it; the receipts are numbered 1..20 with none counted twice.
      expect(mine.filter((s) => s.fresh)).toHaveLength(1);
      expect(mine.map((s) => s.occurrence).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(mine.find((s) => s.fresh)!.occurrence).toBe(1);
    }
  });

  it('counts a later repeat on the stored row and keeps its first time', async () => {
    database = await create();
    const writer = new SignalWriter(database.db);
    const first = await writer.store(alert('fpA'), new Date('2026-12-02T01:00:05Z'));
    const again = await writer.store(alert('fpA'), new Date('2026-12-02T02:00:05Z'));
    const resolved = await writer.store(alert('fpA', 'resolved'), new Date('2026-12-02T02:30:00Z'));
    expect(first).toMatchObject({ fresh: true, occurrence: 1 });
    expect(again).toMatchObject({ signalId: first.signalId, fresh: false, occurrence: 2, at: first.at });
    expect(resolved.fresh).toBe(true);
    expect(resolved.signalId).not.toBe(first.signalId);
    const row = await database.db.selectFrom('signals').selectAll().where('id', '=', first.signalId).executeTakeFirstOrThrow();
    expect(row.occurrences).toBe(2);
    expect(row.last_seen_at.toISOString()).toBe('2026-12-02T02:00:05.000Z');
    expect(row.received_at.toISOString()).toBe('2026-12-02T01:00:00.000Z');
  });

  it('stores a retried evaluation once, as one receipt', async () => {
    database = await create();
    const signal = SignalInput.parse({
      systemId: 'assistant-prod',
      source: 'evaluation',
      labels: { evaluation: 'red-team' },
      idempotencyKey: 'red-team:run-1',
    });
    const first = await storeSignalOnce(database.db, signal, new Date());
    const retried = await storeSignalOnce(database.db, signal, new Date());
    expect(retried).toEqual({ ...first, fresh: false });
    const row = await database.db.selectFrom('signals').selectAll().executeTakeFirstOrThrow();
    expect(row.occurrences).toBe(1);
  });

  it('keeps the outbox: a stored alert awaits its hand-over until marked, and a mark never goes back', async () => {
    database = await create();
    const writer = new SignalWriter(database.db);
    const a = await writer.store(alert('fpA'), new Date(), 'sha256:v1');
    const b = await writer.store(alert('fpB'), new Date(), 'sha256:v1');
    const awaiting = await signalsAwaitingHandOver(database.db, 0, 10);
    expect(awaiting.map((w) => w.signalId).sort()).toEqual([a.signalId, b.signalId].sort());
    expect(awaiting.find((w) => w.signalId === a.signalId)).toMatchObject({
      runbookVersion: 'sha256:v1',
      input: { alertKey: 'fpA', systemId: 'assistant-prod' },
    });
    // Stored just now: not yet awaited by a sweep that leaves a minute to the instance that took it.
    expect(await signalsAwaitingHandOver(database.db, 60_000, 10)).toEqual([]);

    const marks = new HandOverMarks(database.db);
    await Promise.all([marks.mark(a.signalId, 2), marks.mark(a.signalId, 1), marks.mark(b.signalId, 1)]);
    await marks.mark(a.signalId, 1);
    expect((await signalsAwaitingHandOver(database.db, 0, 10)).length).toBe(0);
    const rows = await database.db.selectFrom('signals').select(['id', 'handed_over']).execute();
    expect(Object.fromEntries(rows.map((r) => [r.id, r.handed_over]))).toEqual({ [a.signalId]: 2, [b.signalId]: 1 });
  });
});
