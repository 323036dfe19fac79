import type { OpenAPIV3_1 } from 'openapi-types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TimelineExport } from '../../services/export/routes.js';
import type { CorrexApp } from '../../services/http/app.js';
import { apiWithDatabaseDown } from '../support/database-down.js';
import { eventually } from '../support/database.js';
import { useIncidentStack } from '../support/stack.js';

type Document = OpenAPIV3_1.Document;
const operation = (document: Document, operationId: string) =>
  Object.values(document.paths ?? {})
    .flatMap((item) => Object.values(item ?? {}) as OpenAPIV3_1.OperationObject[])
    .find((op) => op.operationId === operationId)!;
const mediaTypes = (document: Document, operationId: string, status: string) =>
  Object.keys((operation(document, operationId).responses?.[status] as OpenAPIV3_1.ResponseObject).content ?? {});

/**
 * The strict serializer checks every JSON body a test provokes against its documented schema. These
 * are the bodies it cannot check (streams, text) or that no other test provokes (the monitor's state,
 * a silence, the probes' 503): each is compared with the document here.
 */
describe('bodies answered as the OpenAPI document describes them', () => {
  const stack = useIncidentStack({ api: true });
  let document: Document;
  let responder: string;
  let compliance: string;
  let gateway: string;

  beforeAll(async () => {
    document = (await stack.api.call('GET', '/openapi.json')).body as Document;
    responder = await stack.api.token('amara-okafor', ['responder']);
    compliance = await stack.api.token('ines-duarte', ['compliance']);
    gateway = await stack.api.token('gateway-eu', ['gateway']);
  });

  it("answers a silence, signals and the monitor's state in their documented shapes", async () => {
    const endsAt = new Date(Date.now() + 3_600_000).toISOString();
    const silence = await stack.api.call('POST', '/v1/systems/frontier-assistant/silences', {
      token: responder,
      body: { reason: 'load test in eu', endsAt, matchers: { region: 'eu' } },
    });
    expect(silence.status, JSON.stringify(silence.body)).toBe(201);
    expect(silence.body).toEqual({ id: expect.any(String), matchers: { region: 'eu' }, owner: 'amara-okafor', reason: 'load test in eu', endsAt });

    const signal = async (region: string) => {
      const answer = await stack.api.call('POST', '/v1/signals', {
        token: responder,
        body: { systemId: 'frontier-assistant', source: 'alertmanager', labels: { alertname: 'JailbreakRateHigh', region }, severity: 'critical' },
      });
      expect(answer.status, JSON.stringify(answer.body)).toBe(202);
      expect(answer.body).toEqual({ signalId: expect.any(String), duplicate: false });
      return answer.body.signalId as string;
    };
    const held = await signal('eu');
    const counted = await signal('us');

    // The silence holds the eu signal back; the us one is in the trigger's window (one of the three it needs).
    const monitor = await eventually(async () => {
      const answer = await stack.api.call('GET', '/v1/systems/frontier-assistant/monitor', { token: responder });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      return answer.body.processed >= 2 ? answer.body : undefined;
    });
    expect(monitor.windows).toEqual({ 'jailbreak-rate|alertname=JailbreakRateHigh': [{ signalId: counted, at: expect.any(String) }] });
    expect(monitor.suppressed).toEqual([{ signalId: held, silenceId: silence.body.id, at: expect.any(String) }]);
    expect(monitor.silences).toEqual([silence.body]);
    expect(monitor.plan.triggers.map((t: { id: string }) => t.id)).toContain('jailbreak-rate');
    expect(monitor).not.toHaveProperty('recent');
  });

  it('refuses by its schema a silence that would hold back every signal, or one already over', async () => {
    const silence = (body: object) => stack.api.call('POST', '/v1/systems/frontier-assistant/silences', { token: responder, body });
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const everything = await silence({ reason: 'quiet please', endsAt: future });
    expect(everything.status).toBe(400);
    expect(everything.body.errors).toEqual([{ path: 'body.matchers', message: expect.stringMatching(/label matchers or a trigger/) }]);
    const over = await silence({ reason: 'too late', endsAt: new Date(Date.now() - 60_000).toISOString(), trigger: 'jailbreak-rate' });
    expect(over.status).toBe(400);
    expect(over.body.errors).toEqual([{ path: 'body.endsAt', message: 'must be in the future' }]);

    const body = (operation(document, 'createSilence').requestBody as OpenAPIV3_1.RequestBodyObject).content['application/json']!.schema;
    expect(body).toMatchObject({ anyOf: [{ required: ['matchers'], properties: { matchers: { minProperties: 1 } } }, { required: ['trigger'] }] });
  });

  it('sends Prometheus text, the JSON and CSV exports and the printable report with the media types documented, the JSON export in its schema', async () => {
    const triggered = await stack.api.call('POST', '/v1/incidents', {
      token: responder,
      body: { systemId: 'frontier-assistant', title: 'Documented bodies', severity: 'SEV3' },
    });
    expect(triggered.status, JSON.stringify(triggered.body)).toBe(202);
    const { incidentId } = triggered.body as { incidentId: string };

    const metrics = await stack.api.call('GET', '/metrics', { token: gateway });
    expect(metrics.status).toBe(200);
    expect(mediaTypes(document, 'getPrometheusMetrics', '200')).toEqual([metrics.headers.get('content-type')]);

    const json = await stack.api.call('GET', `/v1/exports?incidentId=${incidentId}`, { token: compliance });
    expect(json.status).toBe(200);
    expect(json.headers.get('content-type')).toMatch(/^application\/json;/);
    const parsed = TimelineExport.safeParse(json.body);
    expect(parsed.error?.issues ?? []).toEqual([]);
    expect(parsed.data?.incidents.map((i) => i.incident.id)).toEqual([incidentId]);

    const csv = await stack.api.call('GET', `/v1/exports?incidentId=${incidentId}&format=csv`, { token: compliance });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv;/);
    expect(mediaTypes(document, 'exportTimelines', '200')).toEqual(['application/json', 'text/csv']);

    const report = await stack.api.call('GET', `/v1/incidents/${incidentId}/report`, { token: compliance });
    expect(report.status).toBe(200);
    expect(report.headers.get('content-type')).toMatch(/^text\/html;/);
    expect(mediaTypes(document, 'getIncidentReport', '200')).toEqual(['text/html']);
  });
});

describe('the probes with the database down answer their documented 503 bodies', () => {
  let app: CorrexApp;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ app, close } = await apiWithDatabaseDown());
  });
  afterAll(async () => {
    await close?.();
  });

  it('reports what is down on /healthz and /readyz, and is alive on /livez', async () => {
    // Strict responses: a body that strayed from its documented 503 schema would be a 500.
    const health = await app.inject({ method: 'GET', url: '/healthz' });
    expect(health.statusCode, health.body).toBe(503);
    expect(health.json()).toMatchObject({ status: 'unavailable', database: { reachable: false, backend: 'postgres' } });
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode, ready.body).toBe(503);
    expect(ready.json()).toMatchObject({ status: 'unavailable', database: false });
    const live = await app.inject({ method: 'GET', url: '/livez' });
    expect(live.statusCode).toBe(200);
    expect(live.json()).toEqual({ status: 'alive' });
  });
});
