import { describe, expect, it } from 'vitest';
import { createToken } from '../../services/access/repository.js';
import { SignalWriter } from '../../services/monitoring/repository.js';
import { SignalInput } from '../../services/monitoring/signal.js';
import { eventually } from '../support/database.js';
import { useIncidentStack } from '../support/stack.js';

/**
 * Ingestion answers 202 once an alert is stored and hands it to the monitor afterwards (the stored row
 * is the outbox). Played with the real API: a storm's payloads all open their incidents, each row ends
 * marked as handed over, and an alert stored by an instance that stopped before its hand-over (written
 * here straight into PostgreSQL, as such an instance leaves it) still opens its incident, through the
 * sweep every API instance runs.
 */
describe('alerts stored before 202, handed to the monitor after it', () => {
  const stack = useIncidentStack({
    runbookFiles: {
      'frontier-assistant': {
        from: 'frontier-assistant',
        adjust(runbook) {
          runbook.triggers = [
            {
              id: 'outbox',
              description: 'Outbox alerts',
              match: { sources: ['alertmanager'], labels: { alertname: 'OutboxAlert' } },
              groupBy: ['group'],
              severity: 'SEV3',
            },
          ];
        },
      },
    },
    api: true,
  });

  const payload = (group: string) => ({
    version: '4',
    groupKey: `{}:{group="${group}"}`,
    status: 'firing',
    receiver: 'correx',
    alerts: [
      {
        status: 'firing',
        labels: { alertname: 'OutboxAlert', system: 'frontier-assistant', group },
        annotations: { summary: `outbox group ${group}` },
        startsAt: '2026-12-02T08:00:00Z',
        fingerprint: `fp-${group}`,
      },
    ],
  });
  const incidentsOf = (group: string) =>
    stack.db.selectFrom('incidents').select(['id', 'title']).where('system_id', '=', 'frontier-assistant').where('title', 'like', `%group=${group}%`).execute();

  it('opens an incident per group of a burst of payloads, each answered before its hand-over, none lost or doubled', async () => {
    const { secret } = await createToken(stack.db, { owner: 'alertmanager-burst', roles: ['ingest'] });
    // Two digits: no group's name is a prefix of another's ('burst1' of 'burst10'), which the title match below would take for it.
    const groups = Array.from({ length: 12 }, (_, i) => `burst${String(i).padStart(2, '0')}`);
    // Every group sent three times at once, as a storm of repeats arrives.
    const answers = await Promise.all(
      [...groups, ...groups, ...groups].map((group) =>
        fetch(`${stack.api.url}/v1/ingest/alertmanager`, {
          method: 'POST',
          headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
          body: JSON.stringify(payload(group)),
        }).then(async (r) => ({ status: r.status, body: (await r.json()) as { accepted: number; duplicates: number } })),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
    expect(answers.reduce((n, a) => n + a.body.duplicates, 0)).toBe(24);

    for (const group of groups) {
      const incidents = await eventually(async () => {
        const rows = await incidentsOf(group);
        return rows.length > 0 ? rows : undefined;
      }, 60_000);
      expect(incidents).toHaveLength(1);
    }
    const rows = await eventually(async () => {
      const signals = await stack.db
        .selectFrom('signals')
        .select(['occurrences', 'handed_over', 'incident_id'])
        .where('fingerprint', 'like', 'fp-burst%')
        .execute();
      return signals.length === 12 && signals.every((s) => s.handed_over === 1 && s.incident_id) ? signals : undefined;
    });
    // One row per alert, its three receipts counted, its first handed over (no threshold counts repeats).
    expect(rows.map((r) => r.occurrences)).toEqual(rows.map(() => 3));
  }, 120_000);

  it('hands over an alert that was stored but never handed over, through the sweep', async () => {
    const runbookVersion = (await stack.db.selectFrom('runbook_versions').select('version').where('system_id', '=', 'frontier-assistant').executeTakeFirst())
      ?.version;
    const stored = await new SignalWriter(stack.db).store(
      SignalInput.parse({
        systemId: 'frontier-assistant',
        source: 'alertmanager',
        labels: { alertname: 'OutboxAlert', group: 'orphan' },
        summary: 'outbox group orphan',
        at: '2026-12-02T08:00:00Z',
        idempotencyKey: 'fp-orphan:2026-12-02T08:00:00Z:firing',
        alertKey: 'fp-orphan',
      }),
      new Date(),
      runbookVersion,
    );
    expect(stored.fresh).toBe(true);
    // Not handed over now: the sweep finds it once it is 10 s old (it runs every 5 s).
    expect(await incidentsOf('orphan')).toHaveLength(0);
    const [incident] = await eventually(async () => {
      const rows = await incidentsOf('orphan');
      return rows.length > 0 ? rows : undefined;
    }, 45_000);
    expect(incident!.title).toContain('outbox group orphan');
    const row = await eventually(async () => {
      const signal = await stack.db.selectFrom('signals').select(['handed_over', 'incident_id']).where('id', '=', stored.signalId).executeTakeFirstOrThrow();
      return signal.handed_over === 1 && signal.incident_id ? signal : undefined;
    });
    expect(row.incident_id).toBe(incident!.id);
    // Swept once: a later sweep finds nothing, and the incident stays one.
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    expect(await incidentsOf('orphan')).toHaveLength(1);
  }, 90_000);
});
