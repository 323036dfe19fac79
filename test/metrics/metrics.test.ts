import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { jsonb } from '../../services/db/jsonb.js';
import type { IncidentState } from '../../services/incident/schema.js';
import { durationBuckets } from '../../services/metrics/prometheus.js';
import { startApi, type RunningApi, rateLimitInForce } from '../support/api.js';
import { eventually } from '../support/database.js';
import { useIncidentStack } from '../support/stack.js';

/** prom2json-shaped output of the parser (it ships no types). */
interface Sample {
  labels?: Record<string, string>;
  value?: string;
  buckets?: Record<string, string>;
  count?: string;
  sum?: string;
}
interface Family {
  name: string;
  help: string;
  type: 'GAUGE' | 'COUNTER' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  metrics: Sample[];
}
const parsePrometheusTextFormat = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[];

const seconds = (to: Date | null | undefined, from: Date | null | undefined) => (to && from ? (to.getTime() - from.getTime()) / 1000 : null);
const at = (iso: string, plusSeconds = 0) => new Date(Date.parse(iso) + plusSeconds * 1000);

describe('metrics: per incident, per system and for Prometheus, from PostgreSQL, drills left out', () => {
  const stack = useIncidentStack({ api: true });
  let incidentId: string;
  let drillId: string;
  let reader: string;
  let gateway: string;
  const firstSignalLead = 42.123;

  const fixtureIncident = async (values: {
    system: string;
    severity: string;
    state: IncidentState;
    openedAt: Date;
    ack?: number;
    resolve?: number;
    close?: number;
    drill?: boolean;
  }) => {
    const id = randomUUID();
    const plus = (s: number | undefined) => (s === undefined ? null : new Date(values.openedAt.getTime() + s * 1000));
    await stack.db
      .insertInto('incidents')
      .values({
        id,
        workflow_id: `fixture:${id}`,
        system_id: values.system,
        dedup_key: id,
        title: 'fixture',
        severity: values.severity,
        state: values.state,
        classification: jsonb<string[]>([]),
        opened_by: 'test',
        opened_at: values.openedAt,
        acknowledged_at: plus(values.ack),
        resolved_at: plus(values.resolve),
        closed_at: plus(values.close),
        drill: values.drill ?? false,
      })
      .execute();
    return id;
  };
  const signal = async (incident: string, system: string, receivedAt: Date) => {
    const key = randomUUID();
    await stack.db
      .insertInto('signals')
      .values({
        system_id: system,
        source: 'native',
        dedup_key: key,
        status: 'firing',
        payload: jsonb({}),
        idempotency_key: key,
        incident_id: incident,
        received_at: receivedAt,
      })
      .execute();
  };
  const report = async (incident: string, regime: string, dueAt: Date, sentAt: Date | null, late = false) => {
    const key = randomUUID();
    await stack.db
      .insertInto('notifications')
      .values({
        incident_id: incident,
        audience: 'regulator',
        regime,
        clock_id: 'initial',
        occurrence: 1,
        recipient: 'regulator@example.test',
        subject: 'fixture',
        body: '',
        state: sentAt ? (late ? 'sent-late' : 'sent') : 'drafted',
        due_at: dueAt,
        sent_at: sentAt,
        late,
        idempotency_key: key,
      })
      .execute();
  };

  beforeAll(async () => {
    reader = await stack.api.token('hannah-vogel', ['compliance']);
    gateway = await stack.api.token('prometheus', ['gateway']);
    const responder = await stack.api.token('amara-okafor', ['responder']);
    const approver = await stack.api.token('sofia-marquez', ['approver']);

    // The scripted incident, through the API: trigger, acknowledge, classify, correct, report, resolve.
    const opened = await stack.api.call('POST', '/v1/incidents', {
      token: responder,
      body: { systemId: 'frontier-assistant', title: 'Assistant leaks other users’ conversation titles', severity: 'SEV2' },
    });
    expect(opened.status, JSON.stringify(opened.body)).toBe(202);
    incidentId = opened.body.incidentId;
    const row = await eventually(() => stack.db.selectFrom('incidents').selectAll().where('id', '=', incidentId).executeTakeFirst());
    // The alerts that led to it (the earliest is the first signal), and one that joined it afterwards.
    await signal(incidentId, 'frontier-assistant', new Date(row.opened_at.getTime() - firstSignalLead * 1000));
    await signal(incidentId, 'frontier-assistant', new Date(row.opened_at.getTime() - 7_000));
    await signal(incidentId, 'frontier-assistant', new Date(row.opened_at.getTime() + 90_000));

    expect((await stack.api.call('POST', `/v1/incidents/${incidentId}/acknowledge`, { token: responder })).status).toBe(200);
    const classified = await stack.api.call('POST', `/v1/incidents/${incidentId}/classify`, {
      token: responder,
      body: { classes: ['serious-harm-to-health'], reason: 'A user was harmed' },
    });
    expect(classified.status, JSON.stringify(classified.body)).toBe(200);
    await rateLimitInForce(stack.api, incidentId, responder, approver);

    // The first report its clock (not only its row) holds as drafted, so that it can be approved.
    const drafted = await eventually(async () => {
      const body = (await stack.api.call('GET', `/v1/incidents/${incidentId}/reports`, { token: reader })).body as {
        items: { id: string; regime: string; clockId: string }[];
        clocks: { regimeId: string; clocks?: { clockId: string; state: string }[] }[];
      };
      const clock = body.clocks.flatMap((r) => (r.clocks ?? []).map((c) => ({ ...c, regimeId: r.regimeId }))).find((c) => c.state === 'drafted');
      return clock ? body.items.find((r) => r.regime === clock.regimeId && r.clockId === clock.clockId) : undefined;
    }, 30_000);
    // Every required field filled: those Correx cannot derive, by compliance.
    const missing = (await stack.api.call('GET', `/v1/reports/${drafted.id}`, { token: reader })).body.missing as string[];
    const approved = await stack.api.call('POST', `/v1/reports/${drafted.id}/approve`, {
      token: reader,
      body: { edits: Object.fromEntries(missing.map((field) => [field, 'Under investigation'])) },
    });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    await eventually(
      async () => ((await stack.db.selectFrom('notifications').select('sent_at').where('id', '=', drafted.id).executeTakeFirst())?.sent_at ? true : undefined),
      30_000,
    );

    expect((await stack.api.call('POST', `/v1/incidents/${incidentId}/resolve`, { token: responder, body: { reason: 'Fix deployed' } })).status).toBe(200);
    await eventually(async () =>
      (await stack.db.selectFrom('incidents').select('resolved_at').where('id', '=', incidentId).executeTakeFirst())?.resolved_at ? true : undefined,
    );

    // The clocks that start at the first report's submission and at resolution draft theirs: wait for them.
    await eventually(async () => {
      const live = (await stack.api.call('GET', `/v1/incidents/${incidentId}/reports`, { token: reader })).body.clocks as { clocks?: { state: string }[] }[];
      return live.length > 0 && live.every((regime) => regime.clocks?.every((c) => c.state !== 'waiting')) ? true : undefined;
    }, 30_000);

    // A drill of the same system and severity, with every timestamp, a signal and a late report: it must count nowhere.
    drillId = await fixtureIncident({
      system: 'frontier-assistant',
      severity: 'SEV2',
      state: 'resolved',
      openedAt: at('2026-06-01T10:00:00.000Z'),
      ack: 5,
      resolve: 50,
      close: 500,
      drill: true,
    });
    await signal(drillId, 'frontier-assistant', at('2026-06-01T09:59:00.000Z'));
    await report(drillId, 'gdpr-art33', at('2026-06-01T11:00:00.000Z'), at('2026-06-01T12:00:00.000Z'), true);

    // A second system with known durations, opened in January, February and March.
    const jan = await fixtureIncident({
      system: 'metrics-fixture',
      severity: 'SEV1',
      state: 'closed',
      openedAt: at('2026-01-10T08:00:00.000Z'),
      ack: 60,
      resolve: 3600,
      close: 86400,
    });
    const feb = await fixtureIncident({
      system: 'metrics-fixture',
      severity: 'SEV2',
      state: 'resolved',
      openedAt: at('2026-02-10T08:00:00.000Z'),
      ack: 120,
      resolve: 7200,
    });
    await fixtureIncident({ system: 'metrics-fixture', severity: 'SEV2', state: 'acknowledged', openedAt: at('2026-03-10T08:00:00.000Z'), ack: 600 });
    await fixtureIncident({
      system: 'metrics-fixture',
      severity: 'SEV2',
      state: 'closed',
      openedAt: at('2026-03-11T08:00:00.000Z'),
      ack: 1,
      resolve: 2,
      close: 3,
      drill: true,
    });
    await signal(jan, 'metrics-fixture', at('2026-01-10T07:59:30.500Z'));
    await report(jan, 'eu-ai-act-art73', at('2026-01-12T08:00:00.000Z'), at('2026-01-12T07:00:00.000Z'));
    await report(jan, 'gdpr-art33', at('2026-01-13T08:00:00.000Z'), at('2026-01-13T08:30:00.000Z'), true);
    await report(feb, 'gdpr-art33', at('2026-02-13T08:00:00.000Z'), null);
    await report(feb, 'eu-ai-act-art73', at('2099-01-01T00:00:00.000Z'), null);
  }, 120_000);

  it("gives a scripted incident's durations as the exact differences of its recorded timestamps", async () => {
    const incident = await stack.db.selectFrom('incidents').selectAll().where('id', '=', incidentId).executeTakeFirstOrThrow();
    const corrections = await stack.db.selectFrom('corrections').select('applied_at').where('incident_id', '=', incidentId).execute();
    const firstApplied = new Date(Math.min(...corrections.filter((c) => c.applied_at).map((c) => c.applied_at!.getTime())));
    const firstSignal = await stack.db
      .selectFrom('signals')
      .select((eb) => eb.fn.min('received_at').as('at'))
      .where('incident_id', '=', incidentId)
      .executeTakeFirstOrThrow();
    const reports = await stack.db.selectFrom('notifications').selectAll().where('incident_id', '=', incidentId).where('audience', '=', 'regulator').execute();
    expect(reports.filter((r) => r.sent_at)).toHaveLength(1);

    const response = await stack.api.call('GET', `/v1/incidents/${incidentId}/metrics`, { token: reader });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const metrics = response.body;
    expect(metrics).toMatchObject({
      incidentId,
      systemId: 'frontier-assistant',
      severity: 'SEV2',
      state: 'resolved',
      drill: false,
      openedAt: incident.opened_at.toISOString(),
    });
    expect(metrics.timeToDetectSeconds).toBe(seconds(incident.opened_at, new Date(firstSignal.at as unknown as string | Date)));
    expect(metrics.timeToDetectSeconds).toBe(firstSignalLead);
    expect(metrics.timeToAcknowledgeSeconds).toBe(seconds(incident.acknowledged_at, incident.opened_at));
    expect(metrics.timeToFirstCorrectionSeconds).toBe(seconds(firstApplied, incident.opened_at));
    expect(metrics.timeToResolveSeconds).toBe(seconds(incident.resolved_at, incident.opened_at));
    expect(metrics.timeToCloseSeconds).toBeNull();
    for (const value of [metrics.timeToAcknowledgeSeconds, metrics.timeToFirstCorrectionSeconds, metrics.timeToResolveSeconds])
      expect(value).toBeGreaterThan(0);

    const key = (r: { regime: string | null; clockId: string | null; occurrence: number | null }) => `${r.regime}:${r.clockId}:${r.occurrence}`;
    const expected = reports
      .map((r) => ({
        regime: r.regime,
        clockId: r.clock_id,
        occurrence: r.occurrence,
        dueAt: r.due_at?.toISOString() ?? null,
        sentAt: r.sent_at?.toISOString() ?? null,
        marginSeconds: r.sent_at ? seconds(r.due_at, r.sent_at) : null,
        late: r.sent_at ? r.late : r.due_at !== null && r.due_at.getTime() < Date.now(),
      }))
      .sort((a, b) => key(a).localeCompare(key(b)));
    const got = [...(metrics.regulatorSubmissions as typeof expected)].sort((a, b) => key(a).localeCompare(key(b)));
    expect(got).toEqual(expected);
    const sent = got.find((r) => r.sentAt)!;
    expect(sent.marginSeconds).toBeGreaterThan(0);
    expect(sent.late).toBe(false);
  });

  it('shows a drill to whoever looks at it, flagged', async () => {
    const response = await stack.api.call('GET', `/v1/incidents/${drillId}/metrics`, { token: reader });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      incidentId: drillId,
      drill: true,
      timeToDetectSeconds: 60,
      timeToAcknowledgeSeconds: 5,
      timeToResolveSeconds: 50,
      timeToCloseSeconds: 500,
      timeToFirstCorrectionSeconds: null,
    });
    expect(response.body.regulatorSubmissions).toEqual([
      {
        regime: 'gdpr-art33',
        clockId: 'initial',
        occurrence: 1,
        dueAt: '2026-06-01T11:00:00.000Z',
        sentAt: '2026-06-01T12:00:00.000Z',
        marginSeconds: -3600,
        late: true,
      },
    ]);
  });

  it('aggregates a system over its non-drill incidents: the scripted one counts, the drill does not', async () => {
    const incident = await stack.db.selectFrom('incidents').selectAll().where('id', '=', incidentId).executeTakeFirstOrThrow();
    const one = (value: number | null) => ({ count: 1, mean: value, p50: value, p90: value, max: value });
    const none = { count: 0, mean: null, p50: null, p90: null, max: null };
    const perIncident = (await stack.api.call('GET', `/v1/incidents/${incidentId}/metrics`, { token: reader })).body;
    const response = await stack.api.call('GET', '/v1/systems/frontier-assistant/metrics', { token: reader });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    const sent = perIncident.regulatorSubmissions.filter((s: { sentAt: string | null }) => s.sentAt);
    expect(response.body).toMatchObject({
      systemId: 'frontier-assistant',
      from: null,
      to: null,
      incidents: { total: 1, bySeverity: { SEV2: 1 }, byState: { resolved: 1 }, bySeverityAndState: [{ severity: 'SEV2', state: 'resolved', count: 1 }] },
      timeToDetectSeconds: one(firstSignalLead),
      timeToAcknowledgeSeconds: one(seconds(incident.acknowledged_at, incident.opened_at)),
      timeToFirstCorrectionSeconds: one(perIncident.timeToFirstCorrectionSeconds),
      timeToResolveSeconds: one(seconds(incident.resolved_at, incident.opened_at)),
      timeToCloseSeconds: none,
      regulatorSubmissions: {
        count: 1,
        lateCount: 0,
        minMarginSeconds: sent[0].marginSeconds,
        unsent: perIncident.regulatorSubmissions.length - 1,
        overdue: 0,
      },
    });
    // A window around the drill alone holds nothing.
    const aroundDrill = await stack.api.call('GET', '/v1/systems/frontier-assistant/metrics?from=2026-06-01T00:00:00Z&to=2026-06-02T00:00:00%2B00:00', {
      token: reader,
    });
    expect(aroundDrill.body).toMatchObject({
      from: '2026-06-01T00:00:00.000Z',
      to: '2026-06-02T00:00:00.000Z',
      incidents: { total: 0, bySeverity: {}, byState: {} },
      timeToAcknowledgeSeconds: none,
      regulatorSubmissions: { count: 0, lateCount: 0, minMarginSeconds: null },
    });
  });

  it('computes count, mean, p50, p90 (interpolated) and max, and regulator margins, over a window', async () => {
    const all = (await stack.api.call('GET', '/v1/systems/metrics-fixture/metrics', { token: reader })).body;
    expect(all.incidents).toEqual({
      total: 3,
      bySeverity: { SEV1: 1, SEV2: 2 },
      byState: { acknowledged: 1, closed: 1, resolved: 1 },
      bySeverityAndState: [
        { severity: 'SEV1', state: 'closed', count: 1 },
        { severity: 'SEV2', state: 'acknowledged', count: 1 },
        { severity: 'SEV2', state: 'resolved', count: 1 },
      ],
    });
    // 60, 120, 600: p90 = 120 + 0.8 × (600 − 120).
    expect(all.timeToAcknowledgeSeconds).toEqual({ count: 3, mean: 260, p50: 120, p90: 504, max: 600 });
    expect(all.timeToResolveSeconds).toEqual({ count: 2, mean: 5400, p50: 5400, p90: 6840, max: 7200 });
    expect(all.timeToCloseSeconds).toEqual({ count: 1, mean: 86400, p50: 86400, p90: 86400, max: 86400 });
    expect(all.timeToDetectSeconds).toEqual({ count: 1, mean: 29.5, p50: 29.5, p90: 29.5, max: 29.5 });
    expect(all.regulatorSubmissions).toEqual({
      count: 2,
      lateCount: 1,
      minMarginSeconds: -1800,
      unsent: 2,
      overdue: 1,
      byRegime: [
        { regime: 'eu-ai-act-art73', count: 1, lateCount: 0, minMarginSeconds: 3600, unsent: 1, overdue: 0 },
        { regime: 'gdpr-art33', count: 1, lateCount: 1, minMarginSeconds: -1800, unsent: 1, overdue: 1 },
      ],
    });

    const fromFebruary = (await stack.api.call('GET', '/v1/systems/metrics-fixture/metrics?from=2026-02-01T00:00:00Z', { token: reader })).body;
    expect(fromFebruary.incidents.total).toBe(2);
    expect(fromFebruary.timeToAcknowledgeSeconds).toEqual({ count: 2, mean: 360, p50: 360, p90: 552, max: 600 });
    expect(fromFebruary.regulatorSubmissions).toMatchObject({ count: 0, unsent: 2, overdue: 1 });
    // [from, to): an incident opened exactly at `to` is outside.
    const january = (await stack.api.call('GET', '/v1/systems/metrics-fixture/metrics?from=2026-01-10T08:00:00Z&to=2026-02-10T08:00:00Z', { token: reader }))
      .body;
    expect(january.incidents).toMatchObject({ total: 1, bySeverity: { SEV1: 1 } });
  });

  it('validates ids, systems and windows, and needs a reader', async () => {
    expect((await stack.api.call('GET', `/v1/incidents/${randomUUID()}/metrics`, { token: reader })).status).toBe(404);
    expect((await stack.api.call('GET', '/v1/systems/no-such-system/metrics', { token: reader })).status).toBe(404);
    const badId = await stack.api.call('GET', '/v1/incidents/not-a-uuid/metrics', { token: reader });
    expect(badId.status).toBe(400);
    expect(badId.body.errors[0].path).toBe('params.id');
    const badSystem = await stack.api.call('GET', '/v1/systems/Not_A_System/metrics', { token: reader });
    expect(badSystem.body.errors[0].path).toBe('params.systemId');
    const badTime = await stack.api.call('GET', '/v1/systems/frontier-assistant/metrics?from=yesterday', { token: reader });
    expect(badTime.body.errors[0].path).toBe('query.from');
    const backwards = await stack.api.call('GET', '/v1/systems/frontier-assistant/metrics?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', {
      token: reader,
    });
    expect(backwards.status).toBe(400);
    expect(backwards.body.errors[0]).toEqual({ path: 'query.to', message: 'must be after from' });
    expect((await stack.api.call('GET', `/v1/incidents/${incidentId}/metrics`)).status).toBe(401);
    expect((await stack.api.call('GET', `/v1/incidents/${incidentId}/metrics`, { token: gateway })).status).toBe(403);
  });

  it('exposes /metrics in the Prometheus text format with the expected series and values, drills left out', async () => {
    expect((await stack.api.call('GET', '/metrics')).status).toBe(401);
    expect((await stack.api.call('GET', '/metrics', { token: await stack.api.token('alert-sender', ['ingest']) })).status).toBe(403);
    const response = await fetch(`${stack.api.url}/metrics`, { headers: { authorization: `Bearer ${gateway}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await response.text();
    expect(text.endsWith('\n')).toBe(true);
    // The parser throws on any line that is not valid text format. It folds a labelled histogram's
    // series into one, so the histograms' samples are read from a second parse with them untyped.
    const families = new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
    // (There each run of _bucket, _sum or _count lines is a family of its own: runs of one name are joined.)
    const untyped = new Map<string, Family>();
    for (const f of parsePrometheusTextFormat(text.replace(/^# TYPE (\S+) histogram$/gm, '# TYPE $1 untyped'))) {
      untyped.set(f.name, { ...f, metrics: [...(untyped.get(f.name)?.metrics ?? []), ...f.metrics] });
    }
    const family = (name: string, from = families) => {
      const found = from.get(name);
      if (!found) throw new Error(`no ${name} in:\n${text}`);
      return found;
    };
    const matching = (labels: Record<string, string>) => (m: Sample) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v);
    const series = (name: string, labels: Record<string, string>) => family(name).metrics.filter(matching(labels));
    const histogram = (name: string, labels: Record<string, string>) => {
      const samples = (suffix: string) => family(`${name}_${suffix}`, untyped).metrics.filter(matching(labels));
      return {
        labelSets: samples('count').map((m) => m.labels),
        count: samples('count').reduce((n, m) => n + Number(m.value), 0),
        sum: samples('sum').reduce((n, m) => n + Number(m.value), 0),
        buckets: Object.fromEntries(samples('bucket').map((m) => [m.labels!.le!, Number(m.value)])),
      };
    };

    expect(family('correx_incidents').type).toBe('GAUGE');
    expect(family('correx_incidents').metrics.map((m) => [m.labels, Number(m.value)])).toEqual(
      expect.arrayContaining([
        [{ system: 'frontier-assistant', severity: 'SEV2', state: 'resolved' }, 1],
        [{ system: 'metrics-fixture', severity: 'SEV1', state: 'closed' }, 1],
        [{ system: 'metrics-fixture', severity: 'SEV2', state: 'resolved' }, 1],
        [{ system: 'metrics-fixture', severity: 'SEV2', state: 'acknowledged' }, 1],
      ]),
    );
    // Four incidents that are not drills; the two drills would add a second resolved SEV2 and a closed SEV2.
    expect(family('correx_incidents').metrics.reduce((n, m) => n + Number(m.value), 0)).toBe(4);

    const perIncident = (await stack.api.call('GET', `/v1/incidents/${incidentId}/metrics`, { token: reader })).body;
    const histograms: [string, string][] = [
      ['correx_incident_time_to_detect_seconds', 'timeToDetectSeconds'],
      ['correx_incident_time_to_acknowledge_seconds', 'timeToAcknowledgeSeconds'],
      ['correx_incident_time_to_first_correction_seconds', 'timeToFirstCorrectionSeconds'],
      ['correx_incident_time_to_resolve_seconds', 'timeToResolveSeconds'],
    ];
    for (const [name, field] of histograms) {
      expect(family(name).type).toBe('HISTOGRAM');
      const value = perIncident[field] as number;
      expect(histogram(name, { system: 'frontier-assistant' })).toEqual({
        labelSets: [{ system: 'frontier-assistant', severity: 'SEV2' }],
        count: 1,
        sum: value,
        buckets: Object.fromEntries([...durationBuckets.map((le) => [String(le), value <= le ? 1 : 0]), ['+Inf', 1]]),
      });
    }
    // Nothing closed on frontier-assistant but the drill: no series for it.
    expect(histogram('correx_incident_time_to_close_seconds', { system: 'frontier-assistant' }).labelSets).toEqual([]);
    expect(histogram('correx_incident_time_to_close_seconds', { system: 'metrics-fixture' })).toMatchObject({
      labelSets: [{ system: 'metrics-fixture', severity: 'SEV1' }],
      count: 1,
      sum: 86400,
    });
    const fixtureAck = histogram('correx_incident_time_to_acknowledge_seconds', { system: 'metrics-fixture', severity: 'SEV2' });
    expect(fixtureAck).toMatchObject({ count: 2, sum: 720, buckets: { '60': 0, '120': 1, '300': 1, '600': 2, '+Inf': 2 } });

    const sent = perIncident.regulatorSubmissions.find((s: { sentAt: string | null }) => s.sentAt);
    expect(family('correx_regulator_submissions_total').type).toBe('COUNTER');
    expect(series('correx_regulator_submissions_total', { system: 'frontier-assistant' }).map((m) => [m.labels, Number(m.value)])).toEqual([
      [{ system: 'frontier-assistant', regime: sent.regime, late: 'false' }, 1],
    ]);
    expect(series('correx_regulator_submissions_total', { system: 'metrics-fixture' }).map((m) => [m.labels, Number(m.value)])).toEqual(
      expect.arrayContaining([
        [{ system: 'metrics-fixture', regime: 'eu-ai-act-art73', late: 'false' }, 1],
        [{ system: 'metrics-fixture', regime: 'gdpr-art33', late: 'true' }, 1],
      ]),
    );
    expect(family('correx_regulator_submission_margin_seconds_min').type).toBe('GAUGE');
    expect(series('correx_regulator_submission_margin_seconds_min', { system: 'frontier-assistant' }).map((m) => Number(m.value))).toEqual([
      sent.marginSeconds,
    ]);
    expect(Number(series('correx_regulator_submission_margin_seconds_min', { system: 'metrics-fixture', regime: 'gdpr-art33' })[0]!.value)).toBe(-1800);
    expect(series('correx_regulator_reports_unsent', { system: 'metrics-fixture' }).map((m) => [m.labels, Number(m.value)])).toEqual(
      expect.arrayContaining([
        [{ system: 'metrics-fixture', regime: 'gdpr-art33', overdue: 'true' }, 1],
        [{ system: 'metrics-fixture', regime: 'eu-ai-act-art73', overdue: 'false' }, 1],
      ]),
    );

    // Another API instance over the same database exposes the same text: nothing is kept in a process.
    // (Compared a few times: the scripted incident's workflow may still be drafting a report.)
    const second = await startApi(stack.db, stack.worker);
    try {
      const scrape = async (from: RunningApi) => (await fetch(`${from.url}/metrics`, { headers: { authorization: `Bearer ${gateway}` } })).text();
      await eventually(async () => {
        const [a, b] = await Promise.all([scrape(stack.api), scrape(second)]);
        return a === b && a.includes('correx_incidents{') ? true : undefined;
      });
    } finally {
      await second.close();
    }
  });
});
