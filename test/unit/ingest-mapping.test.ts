import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidInput } from '../../services/errors.js';
import { AlertmanagerWebhook, alertmanagerSignals } from '../../services/ingest/alertmanager.js';
import { PagerDutyEvent, pagerDutySignal } from '../../services/ingest/pagerduty.js';
import { projectRoot } from '../support/environment.js';

const fixture = (name: string) => AlertmanagerWebhook.parse(JSON.parse(readFileSync(path.join(projectRoot, 'test/fixtures/ingest', name), 'utf8')));

describe('mapping Alertmanager payloads (captured from the real Alertmanager) to signals', () => {
  it('maps a firing alert with its labels, severity, summary, start time and a repeat-proof idempotency key', () => {
    const payload = fixture('alertmanager-firing.json');
    const [signal] = alertmanagerSignals(payload, null);
    const alert = payload.alerts[0]!;
    expect(signal).toMatchObject({
      systemId: 'frontier-assistant',
      source: 'alertmanager',
      status: 'firing',
      severity: 'critical',
      labels: alert.labels,
      // Read as its instant, in UTC to the millisecond (Alertmanager sends nanoseconds).
      at: new Date(alert.startsAt).toISOString(),
      idempotencyKey: `${alert.fingerprint}:${alert.startsAt}:firing`,
    });
    // Alertmanager re-sends the group every repeat_interval: the same alert maps to the same key.
    expect(alertmanagerSignals(payload, null)[0]!.idempotencyKey).toBe(signal!.idempotencyKey);
  });

  it('maps a resolved alert to a resolved signal at its end time, with a key of its own', () => {
    const [firing] = alertmanagerSignals(fixture('alertmanager-firing.json'), null);
    const resolvedPayload = fixture('alertmanager-resolved.json');
    const [resolved] = alertmanagerSignals(resolvedPayload, null);
    expect(resolved).toMatchObject({ status: 'resolved', at: new Date(resolvedPayload.alerts[0]!.endsAt!).toISOString() });
    expect(resolved!.idempotencyKey).not.toBe(firing!.idempotencyKey);
  });

  it('takes the system from an integration key, refuses a contradicting label, and names alerts without one', () => {
    const payload = fixture('alertmanager-firing.json');
    const unlabelled = { ...payload, alerts: payload.alerts.map((a) => ({ ...a, labels: { alertname: a.labels.alertname! } })) };
    expect(alertmanagerSignals(unlabelled, 'clinical-triage')[0]!.systemId).toBe('clinical-triage');
    expect(() => alertmanagerSignals(unlabelled, null)).toThrow(InvalidInput);
    const refusal = (() => {
      try {
        alertmanagerSignals(payload, 'clinical-triage');
        return undefined;
      } catch (error) {
        return error as InvalidInput;
      }
    })();
    expect(refusal?.errors).toEqual([{ path: 'alerts.0.labels.system', message: 'this key sends for clinical-triage only, not frontier-assistant' }]);
  });
});

describe('mapping PagerDuty Events v2 to signals', () => {
  const trigger = PagerDutyEvent.parse({
    routing_key: 'a'.repeat(32),
    event_action: 'trigger',
    dedup_key: 'disk-1',
    payload: { summary: 'weights read spike', source: 'bucket-7', severity: 'error', component: 'weights-store', timestamp: '2026-11-23T01:00:00Z' },
  });

  it('carries payload fields as labels, the severity word, and the event timestamp', () => {
    expect(pagerDutySignal(trigger, 'frontier-assistant', 'disk-1', undefined, new Date('2026-11-23T02:00:00Z'))).toEqual({
      systemId: 'frontier-assistant',
      source: 'pagerduty',
      status: 'firing',
      labels: { source: 'bucket-7', component: 'weights-store', dedup_key: 'disk-1' },
      severity: 'error',
      summary: 'weights read spike',
      at: '2026-11-23T01:00:00.000Z',
      // The alert is the dedup key: its acknowledge and resolve name it.
      alertKey: 'disk-1',
    });
  });

  it('gives acknowledge and resolve the labels of the trigger they answer', () => {
    const ack = PagerDutyEvent.parse({ routing_key: 'a'.repeat(32), event_action: 'acknowledge', dedup_key: 'disk-1' });
    const earlier = { labels: { source: 'bucket-7', component: 'weights-store', dedup_key: 'disk-1' }, severity: 'error' };
    expect(pagerDutySignal(ack, 'frontier-assistant', 'disk-1', earlier, new Date('2026-11-23T02:00:00Z'))).toMatchObject({
      status: 'acknowledged',
      labels: earlier.labels,
      severity: 'error',
      at: '2026-11-23T02:00:00.000Z',
    });
  });

  it('requires a payload to trigger and a dedup key to acknowledge or resolve', () => {
    expect(PagerDutyEvent.safeParse({ routing_key: 'a'.repeat(32), event_action: 'trigger' }).error?.issues[0]?.path).toEqual(['payload']);
    expect(PagerDutyEvent.safeParse({ routing_key: 'a'.repeat(32), event_action: 'resolve' }).error?.issues[0]?.path).toEqual(['dedup_key']);
  });
});
