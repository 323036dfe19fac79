import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startAlertmanager, type AlertmanagerAlert, type AlertmanagerWebhookPayload, type RunningAlertmanager } from '../support/alertmanager.js';
import { projectRoot } from '../support/environment.js';

/**
 * Self-check of the Alertmanager harness: the real Alertmanager notifying a plain HTTP listener.
 * `UPDATE_ALERTMANAGER_FIXTURES=1 npx vitest run test/ingest/alertmanager-harness.test.ts` rewrites
 * test/fixtures/ingest/alertmanager-{firing,resolved}.json from what it captures.
 */

const fixtureDir = path.join(projectRoot, 'test/fixtures/ingest');

interface Received {
  at: number;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: AlertmanagerWebhookPayload;
}

/** A webhook receiver that keeps every request; answers with the next queued status, else 200. */
class WebhookSink {
  readonly received: Received[] = [];
  readonly statuses: number[] = [];
  private readonly server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      this.received.push({ at: Date.now(), method: req.method!, url: req.url!, headers: req.headers, body: JSON.parse(raw) as AlertmanagerWebhookPayload });
      res.writeHead(this.statuses.shift() ?? 200, { 'content-type': 'text/plain' }).end('ok');
    });
  });

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/ingest/alertmanager`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(options: { repeatInterval?: string } = {}): Promise<{ sink: WebhookSink; am: RunningAlertmanager; token: string }> {
  const sink = await new WebhookSink().start();
  cleanups.push(() => sink.stop());
  const token = `am-${randomBytes(12).toString('hex')}`;
  const am = await startAlertmanager({ webhookUrl: sink.url, bearerToken: token, groupBy: ['alertname', 'system'], ...options });
  cleanups.push(() => am.stop());
  return { sink, am, token };
}

/** Polls until `find` returns something, or fails with what was received and Alertmanager's log. */
async function waitFor<T>(what: string, sink: WebhookSink, am: RunningAlertmanager, find: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) {
      const seen = sink.received.map((r) => `${r.body.status} ${r.body.groupKey} ${r.body.alerts.map((a) => a.status).join(',')}`).join('\n  ');
      throw new Error(
        `no ${what} within ${timeoutMs} ms; received:\n  ${seen || '(nothing)'}\nAlertmanager log:\n${am.logs().split('\n').slice(-15).join('\n')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const jailbreak: AlertmanagerAlert = {
  labels: { alertname: 'JailbreakRateHigh', system: 'frontier-assistant', severity: 'critical' },
  annotations: {
    summary: 'Jailbreak success rate above 2% on frontier-assistant',
    description: 'Classifier-flagged jailbreak completions were 3.4% of responses over the last 10 minutes (threshold 2%).',
  },
  generatorURL: 'http://prometheus.example:9090/graph?g0.expr=jailbreak_success_ratio%7Bsystem%3D%22frontier-assistant%22%7D+%3E+0.02&g0.tab=1',
};

function writeFixture(name: string, payload: AlertmanagerWebhookPayload): void {
  writeFileSync(path.join(fixtureDir, name), `${JSON.stringify(payload, null, 2)}\n`);
}

function readFixture(name: string): AlertmanagerWebhookPayload {
  return JSON.parse(readFileSync(path.join(fixtureDir, name), 'utf8')) as AlertmanagerWebhookPayload;
}

/** Field names, recursively into the first alert: the fixtures must have the live payload's shape. */
function shape(payload: AlertmanagerWebhookPayload): string[] {
  return [...Object.keys(payload), ...Object.keys(payload.alerts[0]!).map((k) => `alerts[].${k}`)].sort();
}

describe('Alertmanager harness (real prometheus-alertmanager)', () => {
  it('notifies the webhook with a bearer token, repeats after repeat_interval, then sends resolved', async () => {
    const { sink, am, token } = await setUp();
    await am.postAlerts([jailbreak]);

    const firing = await waitFor('firing notification', sink, am, () => sink.received[0]);
    expect(firing.method).toBe('POST');
    expect(firing.url).toBe('/ingest/alertmanager');
    expect(firing.headers.authorization).toBe(`Bearer ${token}`);
    expect(firing.headers['content-type']).toMatch(/^application\/json/);
    expect(firing.headers['user-agent']).toMatch(/^Alertmanager\//);
    const payload = firing.body;
    expect(payload).toMatchObject({
      version: '4',
      status: 'firing',
      receiver: 'correx',
      groupLabels: { alertname: 'JailbreakRateHigh', system: 'frontier-assistant' },
      commonLabels: jailbreak.labels,
      commonAnnotations: jailbreak.annotations,
      externalURL: am.url,
      truncatedAlerts: 0,
    });
    expect(payload.groupKey).toBe('{}:{alertname="JailbreakRateHigh", system="frontier-assistant"}');
    expect(payload.alerts).toHaveLength(1);
    const alert = payload.alerts[0]!;
    expect(alert).toMatchObject({ status: 'firing', labels: jailbreak.labels, annotations: jailbreak.annotations, generatorURL: jailbreak.generatorURL });
    expect(alert.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(Date.parse(alert.startsAt)).toBeGreaterThan(Date.now() - 60_000);

    // Still firing: the same group is notified again once repeat_interval (2 s) has passed.
    const repeat = await waitFor('repeat notification', sink, am, () => sink.received.slice(1).find((r) => r.body.status === 'firing'));
    expect(repeat.at - firing.at).toBeGreaterThanOrEqual(1_900);
    expect(repeat.headers.authorization).toBe(`Bearer ${token}`);
    expect(repeat.body.groupKey).toBe(payload.groupKey);
    expect(repeat.body.alerts.map((a) => [a.fingerprint, a.startsAt])).toEqual([[alert.fingerprint, alert.startsAt]]);

    await am.resolveAlerts([jailbreak]);
    const resolved = await waitFor('resolved notification', sink, am, () => sink.received.find((r) => r.body.status === 'resolved'));
    expect(resolved.headers.authorization).toBe(`Bearer ${token}`);
    expect(resolved.body).toMatchObject({ version: '4', status: 'resolved', groupKey: payload.groupKey, commonLabels: jailbreak.labels });
    expect(resolved.body.alerts).toHaveLength(1);
    const ended = resolved.body.alerts[0]!;
    expect(ended).toMatchObject({ status: 'resolved', fingerprint: alert.fingerprint, startsAt: alert.startsAt, labels: jailbreak.labels });
    expect(Date.parse(ended.endsAt)).toBeGreaterThanOrEqual(Date.parse(alert.startsAt));

    if (process.env.UPDATE_ALERTMANAGER_FIXTURES) {
      writeFixture('alertmanager-firing.json', payload);
      writeFixture('alertmanager-resolved.json', resolved.body);
    }
    // The static fixtures other tests use must still look like what this Alertmanager sends.
    const fixtures = { firing: readFixture('alertmanager-firing.json'), resolved: readFixture('alertmanager-resolved.json') };
    expect(shape(fixtures.firing)).toEqual(shape(payload));
    expect(shape(fixtures.resolved)).toEqual(shape(resolved.body));
    expect([fixtures.firing.status, fixtures.resolved.status]).toEqual(['firing', 'resolved']);
    expect(fixtures.resolved.alerts[0]!.fingerprint).toBe(fixtures.firing.alerts[0]!.fingerprint);
  });

  it('sends a notification answered 4xx again on the next group tick, not after repeat_interval', async () => {
    const { sink, am } = await setUp({ repeatInterval: '1h' });
    sink.statuses.push(400);
    await am.postAlerts([jailbreak]);

    const [rejected, again] = await waitFor('re-sent notification', sink, am, () => (sink.received.length >= 2 ? sink.received : undefined));
    expect(again!.body.groupKey).toBe(rejected!.body.groupKey);
    expect(again!.body.status).toBe('firing');
    expect(again!.at - rejected!.at).toBeLessThan(5_000); // group_interval is 1 s; repeat_interval 1 h
    expect(am.logs()).toMatch(/Notify for alerts failed.*unrecoverable error.*400/);
  });
});
