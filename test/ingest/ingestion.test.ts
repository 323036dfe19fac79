import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../services/access/repository.js';
import { startAlertmanager, type RunningAlertmanager } from '../support/alertmanager.js';
import { eventually } from '../support/database.js';
import { useIncidentStack } from '../support/stack.js';

type Trigger = { id: string; threshold?: unknown; groupBy?: string[]; onResolved?: string };

describe('alert ingestion from the real Alertmanager and PagerDuty Events v2 clients', () => {
  const stack = useIncidentStack({
    runbookFiles: {
      // The shipped runbook, with one alert enough to open and each PagerDuty dedup key its own incident.
      'frontier-assistant': {
        from: 'frontier-assistant',
        adjust(runbook) {
          const triggers = runbook.triggers as Trigger[];
          const jailbreak = triggers.find((t) => t.id === 'jailbreak-rate')!;
          delete jailbreak.threshold;
          jailbreak.onResolved = 'resolve';
          const weights = triggers.find((t) => t.id === 'weights-access-anomaly')!;
          weights.groupBy = ['dedup_key'];
          weights.onResolved = 'resolve';
          // A second kind of alert, another group: its own incident.
          (runbook.triggers as unknown[]).push({
            id: 'toxicity-rate',
            description: 'Toxicity rate above threshold',
            match: { sources: ['alertmanager'], labels: { alertname: 'ToxicityRateHigh' } },
            groupBy: ['alertname'],
            severity: 'SEV3',
          });
        },
      },
    },
    api: true,
  });
  let alertmanager: RunningAlertmanager | undefined;

  afterAll(async () => {
    await alertmanager?.stop();
  });

  const incidentsTitled = (fragment: string) =>
    stack.db.selectFrom('incidents').selectAll().where('system_id', '=', 'frontier-assistant').where('title', 'like', `%${fragment}%`).execute();

  it('opens one incident for a firing Alertmanager group, keeps it on repeats, and resolves it with the resolved notification', async () => {
    const { secret } = await createToken(stack.db, { owner: 'alertmanager', roles: ['ingest'] });
    alertmanager = await startAlertmanager({
      webhookUrl: `${stack.api.url}/v1/ingest/alertmanager`,
      bearerToken: secret,
      groupBy: ['alertname'],
      logLevel: 'debug',
    });
    const alert = {
      labels: { alertname: 'JailbreakRateHigh', system: 'frontier-assistant', severity: 'critical', region: 'eu' },
      annotations: { summary: 'jailbreak success rate above 2%' },
    };
    await alertmanager.postAlerts([alert]);

    const [incident] = await eventually(async () => {
      const rows = await incidentsTitled('alertname=JailbreakRateHigh');
      return rows.length ? rows : undefined;
    });
    expect(incident!.severity).toBe('SEV2');
    expect(incident!.opened_by).toBe('system:monitor');

    // A second alert of the same group joins; Alertmanager's repeats of both are stored once each.
    await alertmanager.postAlerts([{ ...alert, labels: { ...alert.labels, region: 'us' } }]);
    await eventually(async () => ((alertmanager!.logs().match(/Notify success/g) ?? []).length >= 4 ? true : undefined), 20_000);
    expect(await incidentsTitled('alertname=JailbreakRateHigh')).toHaveLength(1);
    const stored = await stack.db.selectFrom('signals').select(['status', 'incident_id']).where('source', '=', 'alertmanager').execute();
    expect(stored).toHaveLength(2);
    expect(stored.every((s) => s.incident_id === incident!.id)).toBe(true);

    // Past three repeat intervals (2 s each here): each alert still one stored signal, its repeats counted
    // on it, and still one incident.
    const repeated = await eventually(async () => {
      const rows = await stack.db.selectFrom('signals').select(['occurrences', 'incident_id']).where('source', '=', 'alertmanager').execute();
      return rows.length === 2 && rows.every((r) => r.occurrences >= 4) ? rows : undefined;
    }, 30_000);
    expect(repeated.every((r) => r.incident_id === incident!.id)).toBe(true);
    expect(await incidentsTitled('alertname=JailbreakRateHigh')).toHaveLength(1);

    // Another group (another alertname under groupBy alertname) is an incident of its own.
    const other = { labels: { ...alert.labels, alertname: 'ToxicityRateHigh' }, annotations: { summary: 'toxicity above threshold' } };
    await alertmanager.postAlerts([other]);
    const [second] = await eventually(async () => {
      const rows = await incidentsTitled('alertname=ToxicityRateHigh');
      return rows.length ? rows : undefined;
    }, 30_000);
    expect(second!.id).not.toBe(incident!.id);
    await alertmanager.resolveAlerts([other]);

    await alertmanager.resolveAlerts([alert, { ...alert, labels: { ...alert.labels, region: 'us' } }]);
    const resolved = await eventually(async () => {
      const row = await stack.db.selectFrom('incidents').select(['state', 'resolved_at']).where('id', '=', incident!.id).executeTakeFirstOrThrow();
      return row.state === 'resolved' ? row : undefined;
    }, 30_000);
    expect(resolved.resolved_at).toBeInstanceOf(Date);
    const timeline = await stack.db
      .selectFrom('timeline_events')
      .select(['kind', 'data'])
      .where('incident_id', '=', incident!.id)
      .where('kind', '=', 'incident.resolved')
      .execute();
    expect(JSON.stringify(timeline[0]!.data)).toMatch(/resolved signal/);
    expect(await incidentsTitled('alertname=JailbreakRateHigh')).toHaveLength(1);
  }, 90_000);

  it('refuses alerts without a known system with 400 naming the alert, and unauthenticated senders with 401', async () => {
    const { secret } = await createToken(stack.db, { owner: 'alertmanager-2', roles: ['ingest'] });
    const body = {
      version: '4',
      groupKey: '{}:{alertname="X"}',
      status: 'firing',
      receiver: 'correx',
      alerts: [
        { status: 'firing', labels: { alertname: 'X', system: 'frontier-assistant' }, startsAt: '2026-11-23T01:00:00Z', fingerprint: 'a1' },
        { status: 'firing', labels: { alertname: 'X' }, startsAt: '2026-11-23T01:00:00Z', fingerprint: 'a2' },
        { status: 'firing', labels: { alertname: 'X', system: 'no-such-system' }, startsAt: '2026-11-23T01:00:00Z', fingerprint: 'a3' },
      ],
    };
    const refused = await stack.api.call('POST', '/v1/ingest/alertmanager', { token: secret, body });
    expect(refused.status).toBe(400);
    expect((refused.body as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual(['body.alerts.1.labels.system']);
    const unknownSystem = await stack.api.call('POST', '/v1/ingest/alertmanager', {
      token: secret,
      body: { ...body, alerts: [body.alerts[0], body.alerts[2]] },
    });
    expect((unknownSystem.body as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual(['body.alerts.1.labels.system']);
    // Nothing of a refused payload is stored: the valid first alert waits for a payload that is whole.
    expect(await stack.db.selectFrom('signals').select('id').where('fingerprint', 'like', 'a1:%').execute()).toHaveLength(0);
    expect((await stack.api.call('POST', '/v1/ingest/alertmanager', { body })).status).toBe(401);
  });

  describe('PagerDuty Events API v2', () => {
    let routingKey: string;
    beforeAll(async () => {
      routingKey = (await createToken(stack.db, { owner: 'grafana', roles: ['ingest'], integrationKeyFor: 'frontier-assistant' })).secret;
    });
    const event = (action: string, dedupKey: string | undefined, extra: Record<string, unknown> = {}) => ({
      routing_key: routingKey,
      event_action: action,
      ...(dedupKey ? { dedup_key: dedupKey } : {}),
      ...(action === 'trigger'
        ? {
            payload: {
              summary: 'Unusual read volume on the weights bucket',
              source: 'weights-bucket-7',
              severity: 'critical',
              component: 'weights-store',
              custom_details: { reads: 1200 },
            },
          }
        : {}),
      ...extra,
    });
    const stateOf = async (fragment: string) => (await incidentsTitled(fragment))[0]?.state;

    it('triggers, acknowledges and resolves, answering as PagerDuty does', async () => {
      const triggered = await stack.api.call('POST', '/v2/enqueue', {
        body: event('trigger', 'weights-1', { client: 'Grafana', links: [{ href: 'https://grafana.example/d/1' }] }),
      });
      expect(triggered.status).toBe(202);
      expect(triggered.body).toEqual({ status: 'success', message: 'Event processed', dedup_key: 'weights-1' });
      await eventually(async () => ((await stateOf('dedup_key=weights-1')) === 'triggered' ? true : undefined));
      const [incident] = await incidentsTitled('dedup_key=weights-1');
      expect(incident!.severity).toBe('SEV1');

      expect((await stack.api.call('POST', '/v2/enqueue', { body: event('acknowledge', 'weights-1') })).status).toBe(202);
      await eventually(async () => ((await stateOf('dedup_key=weights-1')) === 'acknowledged' ? true : undefined));
      expect((await stack.api.call('POST', '/v2/enqueue', { body: event('resolve', 'weights-1') })).status).toBe(202);
      await eventually(async () => ((await stateOf('dedup_key=weights-1')) === 'resolved' ? true : undefined));

      // Without a dedup key, Correx makes one and returns it, as PagerDuty does.
      const fresh = await stack.api.call('POST', '/v2/enqueue', { body: event('trigger', undefined) });
      expect(fresh.body).toMatchObject({ status: 'success', dedup_key: expect.stringMatching(/^[0-9a-f-]{36}$/) });
      // Acknowledging a key no alert was opened for is dropped, not an error.
      expect((await stack.api.call('POST', '/v2/enqueue', { body: event('acknowledge', 'never-triggered') })).status).toBe(202);
    });

    it('answers invalid events with 400 and PagerDuty-style errors', async () => {
      const noPayload = await stack.api.call('POST', '/v2/enqueue', { body: { routing_key: routingKey, event_action: 'trigger' } });
      expect(noPayload.status).toBe(400);
      expect(noPayload.body).toEqual({ status: 'invalid event', message: 'Event object is invalid', errors: ["'payload' is required for trigger events"] });
      const shortKey = await stack.api.call('POST', '/v2/enqueue', { body: { ...event('trigger', 'k'), routing_key: 'abc' } });
      expect((shortKey.body as { errors: string[] }).errors).toEqual(["'routing_key' must be the 32-character integration key"]);
      const unknownKey = await stack.api.call('POST', '/v2/enqueue', { body: { ...event('trigger', 'k'), routing_key: '0'.repeat(32) } });
      expect(unknownKey.status).toBe(400);
      expect((unknownKey.body as { errors: string[] }).errors).toEqual(['Invalid routing key']);
      // A bearer API token is not an integration key.
      const bearer = await stack.api.token('someone', ['ingest']);
      expect((await stack.api.call('POST', '/v2/enqueue', { body: { ...event('trigger', 'k'), routing_key: bearer.slice(0, 32) } })).status).toBe(400);
    });

    it('opens one incident for 500 concurrent duplicate triggers', async () => {
      const responses = await Promise.all(Array.from({ length: 500 }, () => stack.api.call('POST', '/v2/enqueue', { body: event('trigger', 'storm') })));
      expect(responses.map((r) => r.status).filter((s) => s !== 202)).toEqual([]);
      // Every one of them is stored and reaches the monitor, which links each to the one incident.
      await eventually(async () => {
        const linked = await stack.db
          .selectFrom('signals')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where(sql<boolean>`labels @> '{"dedup_key":"storm"}'::jsonb`)
          .where('incident_id', 'is not', null)
          .executeTakeFirstOrThrow();
        return Number(linked.n) === 500 ? true : undefined;
      }, 120_000);
      expect(await incidentsTitled('dedup_key=storm')).toHaveLength(1);
    }, 180_000);
  });
});
