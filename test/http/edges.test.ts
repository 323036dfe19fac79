import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../services/access/repository.js';
import { startApi, type RunningApi } from '../support/api.js';
import { createPostgresTestDatabase, eventually, type TestDatabase } from '../support/database.js';
import { startDevServerWorker, type RunningWorker } from '../support/temporal.js';

/** What a client that cuts a string in the middle of an emoji sends: half of a surrogate pair. */
const loneSurrogate = 'x \ud800';

describe('the edge refuses text PostgreSQL cannot store, naming the field, and loses nothing', () => {
  let database: TestDatabase;
  let worker: RunningWorker;
  let api: RunningApi;
  let responder: string;
  let ingest: string;
  let routingKey: string;

  beforeAll(async () => {
    database = await createPostgresTestDatabase();
    worker = await startDevServerWorker(database.db);
    api = await startApi(database.db, worker);
    responder = await api.token('amara-okafor', ['responder']);
    ingest = await api.token('alertmanager', ['ingest']);
    routingKey = (await createToken(database.db, { owner: 'grafana', roles: ['ingest'], integrationKeyFor: 'frontier-assistant' })).secret;
  });
  afterAll(async () => {
    await api?.close();
    await worker?.stop();
    await database?.destroy();
  });

  const expectRefused = (response: { status: number; headers: Headers; body: unknown }, path: string) => {
    expect(response.status, JSON.stringify(response.body)).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((response.body as { errors: { path: string; message: string }[] }).errors).toEqual([
      { path, message: expect.stringMatching(/well-formed Unicode/) },
    ]);
  };

  it('a trigger whose title has a lone surrogate is refused at once, and its dedup key still opens an incident', async () => {
    const started = Date.now();
    const refused = await api.call('POST', '/v1/incidents', {
      token: responder,
      body: { systemId: 'frontier-assistant', title: loneSurrogate, severity: 'SEV3', dedupKey: 'cut-emoji' },
    });
    expectRefused(refused, 'body.title');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await database.db.selectFrom('incidents').select('id').execute()).toEqual([]);

    // Nothing was started for the key, so the corrected retry opens a new incident rather than joining a stuck one.
    const retried = await api.call('POST', '/v1/incidents', {
      token: responder,
      body: { systemId: 'frontier-assistant', title: 'x 😀', severity: 'SEV3', dedupKey: 'cut-emoji' },
    });
    expect(retried.status).toBe(202);
    expect(retried.body).toMatchObject({ joined: false });
    const row = await eventually(() =>
      database.db
        .selectFrom('incidents')
        .select(['title', 'state'])
        .where('id', '=', (retried.body as { incidentId: string }).incidentId)
        .executeTakeFirst(),
    );
    expect(row).toEqual({ title: 'x 😀', state: 'triggered' });
  });

  it('a lone surrogate in a signal, an Alertmanager label, a PagerDuty event or a key answers 400, not 500', async () => {
    expectRefused(
      await api.call('POST', '/v1/signals', { token: ingest, body: { systemId: 'frontier-assistant', source: 'native', summary: loneSurrogate } }),
      'body.summary',
    );
    expectRefused(
      await api.call('POST', '/v1/signals', { token: ingest, body: { systemId: 'frontier-assistant', source: 'native', labels: { [loneSurrogate]: 'v' } } }),
      'body.labels.x \\ud800',
    );
    const alert = {
      status: 'firing',
      labels: { alertname: 'X', system: 'frontier-assistant', region: loneSurrogate },
      annotations: {},
      startsAt: '2026-11-23T01:00:00Z',
      fingerprint: 'f1',
    };
    expectRefused(
      await api.call('POST', '/v1/ingest/alertmanager', {
        token: ingest,
        body: {
          version: '4',
          status: 'firing',
          receiver: 'correx',
          groupKey: 'g',
          groupLabels: {},
          commonLabels: {},
          commonAnnotations: {},
          externalURL: 'http://am',
          alerts: [alert],
        },
      }),
      'body.alerts.0.labels.region',
    );
    const pagerDuty = await api.call('POST', '/v2/enqueue', {
      body: { routing_key: routingKey, event_action: 'trigger', payload: { summary: loneSurrogate, source: 'probe', severity: 'critical' } },
    });
    expect(pagerDuty.status).toBe(400);
    expect(pagerDuty.body).toMatchObject({ status: 'invalid event', errors: [expect.stringMatching(/payload\.summary.*well-formed Unicode/)] });
    expect(await database.db.selectFrom('signals').select('id').execute()).toEqual([]);
  });

  /** A raw request, for what fetch refuses to send (TRACE, invalid UTF-8 it would not produce). */
  const raw = (method: string, path: string, options: { token?: string; body?: Buffer } = {}) =>
    new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>((resolve, reject) => {
      const url = new URL(api.url);
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          method,
          path,
          headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...(options.body ? { 'content-type': 'application/json' } : {}) },
        },
        (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        },
      );
      req.on('error', reject);
      req.end(options.body);
    });

  it('reads a moment with any offset or year as the instant it names, and bounds a page cursor to what the database holds (schemathesis found each a 500)', async () => {
    const reader = await api.token('hannah-vogel', ['compliance']);
    // An offset beyond PostgreSQL's ±15:59 and a year before 1000: read as their instant in UTC.
    const signal = await api.call('POST', '/v1/signals', {
      token: ingest,
      body: { systemId: 'clinical-triage', at: '0986-09-23T11:55:45.47-21:50', severity: 'warning', source: 'pagerduty' },
    });
    expect(signal.status, JSON.stringify(signal.body)).toBe(202);
    const stored = await database.db.selectFrom('signals').select('received_at').where('id', '=', signal.body.signalId).executeTakeFirst();
    expect(stored).toBeDefined();
    const metrics = await api.call(
      'GET',
      `/v1/systems/credit-scoring/metrics?from=${encodeURIComponent('0176-09-10T11:31:49+22:31')}&to=2026-12-02T01:22:37Z`,
      {
        token: reader,
      },
    );
    expect(metrics.status, JSON.stringify(metrics.body)).toBe(200);
    // seq is an integer column: a larger afterSeq is a 400 naming the field, not a failed query.
    const incident = await api.call('POST', '/v1/incidents', {
      token: responder,
      body: { systemId: 'frontier-assistant', title: 'Cursor bounds', severity: 'SEV3' },
    });
    const page = await api.call('GET', `/v1/incidents/${incident.body.incidentId}/timeline?afterSeq=96183033809657`, { token: reader });
    expect(page.status, JSON.stringify(page.body)).toBe(400);
    expect(page.body.errors).toEqual([{ path: 'query.afterSeq', message: expect.stringMatching(/2147483647/) }]);
    // Only digits are a whole number (schemathesis sent `?afterSeq=`, which used to be read as 0 and answered 200).
    const timeline = `/v1/incidents/${incident.body.incidentId}/timeline`;
    for (const query of ['afterSeq=', 'afterSeq=%20', 'afterSeq=1e3', 'limit=0x10', 'limit=2.5']) {
      const refused = await api.call('GET', `${timeline}?${query}`, { token: reader });
      expect(refused.status, `${query}: ${JSON.stringify(refused.body)}`).toBe(400);
      expect(refused.body.errors, query).toEqual([{ path: `query.${query.split('=')[0]}`, message: 'must be a whole number' }]);
    }
    const firstPage = await api.call('GET', `${timeline}?afterSeq=0&limit=1`, { token: reader });
    expect(firstPage.status, JSON.stringify(firstPage.body)).toBe(200);
    expect(firstPage.body.items).toHaveLength(1);
    const tasks = await api.call('GET', '/v1/tasks?limit=', { token: reader });
    expect(tasks.status, JSON.stringify(tasks.body)).toBe(400);
    expect(tasks.body.errors).toEqual([{ path: 'query.limit', message: 'must be a whole number' }]);
  });

  it('answers malformed and over-long URLs, over-large headers and unsupported methods with problem+json', async () => {
    const cases: [string, string, number][] = [
      ['GET', '/v1/incidents/%ZZ', 400],
      ['GET', `/v1/incidents/${'a'.repeat(101)}`, 400],
      ['GET', `/v1/incidents/${'a'.repeat(100_000)}`, 431],
      ['TRACE', '/v1/incidents', 405],
      ['DELETE', '/v1/incidents', 405],
      // A method Node parses as having a body: refused for its missing Content-Type before, instead of 405.
      ['QUERY', '/v1/incidents', 405],
      ['QUERY', '/v1/nowhere', 404],
    ];
    for (const [method, path, status] of cases) {
      const response = await raw(method, path, { token: responder });
      expect(response.status, `${method} ${path.slice(0, 40)}: ${response.body}`).toBe(status);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(response.body)).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
    }
    expect((await raw('TRACE', '/v1/incidents', { token: responder })).headers.allow).toBe('GET, HEAD, POST');
    // Over-long path segments are invalid parameters, as the document's maxLength on every path parameter says.
    for (const path of [`/v1/calendar/cal_${'a'.repeat(97)}.ics`, `/v1/schedules/${'a'.repeat(101)}/on-call`]) {
      const response = await raw('GET', path, { token: responder });
      expect(response.status, path).toBe(400);
      expect(JSON.parse(response.body).errors).toEqual([{ path: 'params', message: 'must be at most 100 characters' }]);
    }
    // The console's links are followed by people: a mangled one gets the console's page, not JSON.
    const consolePage = await raw('GET', `/console/schedules/${'a'.repeat(101)}`, {});
    expect(consolePage.status).toBe(400);
    expect(consolePage.headers['content-type']).toMatch(/^text\/html/);
    expect(consolePage.body).toContain('Invalid link');
  });

  it('refuses a JSON body that is not valid UTF-8 instead of storing U+FFFD', async () => {
    const body = Buffer.concat([
      Buffer.from('{"systemId":"frontier-assistant","source":"native","summary":"bad '),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}'),
    ]);
    const response = await raw('POST', '/v1/signals', { token: ingest, body });
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({ errors: [{ path: 'body', message: expect.stringMatching(/not valid UTF-8/) }] });
    expect(await database.db.selectFrom('signals').select('summary').where('summary', 'like', 'bad %').execute()).toEqual([]);
  });

  it('bounds signal labels in number, name and value length, naming the label', async () => {
    const signal = (labels: Record<string, string>) =>
      api.call('POST', '/v1/signals', { token: ingest, body: { systemId: 'frontier-assistant', source: 'native', labels } });
    const many = await signal(Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`l${i}`, 'v'])));
    expect(many.status).toBe(400);
    expect(many.body.errors).toEqual([{ path: 'body.labels', message: 'at most 64 labels' }]);
    const longName = await signal({ ['n'.repeat(129)]: 'v' });
    expect(longName.status).toBe(400);
    expect(longName.body.errors).toEqual([{ path: 'body.labels', message: `label name '${'n'.repeat(24)}…' is longer than 128 characters` }]);
    const longValue = await signal({ region: 'x'.repeat(2049) });
    expect(longValue.status).toBe(400);
    expect(longValue.body.errors).toEqual([{ path: 'body.labels.region', message: 'must be at most 2048 characters' }]);
    const alert = {
      status: 'firing',
      labels: { alertname: 'X', system: 'frontier-assistant', query: 'q'.repeat(2049) },
      startsAt: '2026-11-23T01:00:00Z',
      fingerprint: 'f2',
    };
    const alertmanager = await api.call('POST', '/v1/ingest/alertmanager', {
      token: ingest,
      body: { version: '4', status: 'firing', receiver: 'correx', groupKey: 'g', alerts: [alert] },
    });
    expect(alertmanager.status).toBe(400);
    expect(alertmanager.body.errors).toEqual([{ path: 'body.alerts.0.labels.query', message: 'must be at most 2048 characters' }]);
    // At the limits, a signal is taken.
    expect(
      (await signal(Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`${'k'.repeat(125)}${String(i).padStart(3, '0')}`, 'v'.repeat(2048)])))).status,
    ).toBe(202);
  });

  it('records who created a token, and refuses a person token for someone no runbook names unless asked', async () => {
    const admin = await api.token('admin-person', ['admin']);
    const typo = await api.call('POST', '/v1/tokens', { token: admin, body: { owner: 'sofia-marques', roles: ['approver'] } });
    expect(typo.status).toBe(400);
    expect(typo.body.errors).toEqual([
      { path: 'body.owner', message: expect.stringMatching(/^'sofia-marques' is no person in the runbooks .*ownerOutsideRunbooks: true/) },
    ]);

    const person = await api.call('POST', '/v1/tokens', { token: admin, body: { owner: 'sofia-marquez', roles: ['approver'] } });
    expect(person.status).toBe(201);
    expect(person.body.token).toMatchObject({ owner: 'sofia-marquez', createdBy: 'admin-person' });
    const auditor = await api.call('POST', '/v1/tokens', {
      token: admin,
      body: { owner: 'external-auditor', roles: ['compliance'], ownerOutsideRunbooks: true },
    });
    expect(auditor.status).toBe(201);
    expect(auditor.body.token).toMatchObject({ owner: 'external-auditor', createdBy: 'admin-person' });
    // Machine tokens name a sender, not a person.
    expect((await api.call('POST', '/v1/tokens', { token: admin, body: { owner: 'grafana', roles: ['ingest'] } })).status).toBe(201);

    const listed = (await api.call('GET', '/v1/tokens', { token: admin })).body.items as { owner: string; createdBy: string | null }[];
    expect(listed.find((t) => t.owner === 'external-auditor')?.createdBy).toBe('admin-person');
  });

  it('a surrogate pair (a whole emoji) is stored and read back as sent', async () => {
    const accepted = await api.call('POST', '/v1/signals', {
      token: ingest,
      body: { systemId: 'frontier-assistant', source: 'native', summary: 'spike 🚨', labels: { probe: '🚨' } },
    });
    expect(accepted.status).toBe(202);
    const stored = await eventually(() => database.db.selectFrom('signals').select(['summary', 'labels']).where('summary', '=', 'spike 🚨').executeTakeFirst());
    expect(stored).toEqual({ summary: 'spike 🚨', labels: expect.objectContaining({ probe: '🚨' }) });
  });

  it('a token lifetime beyond ten years answers 400 naming body.expiresIn, not 500', async () => {
    const admin = await api.token('admin-person', ['admin']);
    const refused = await api.call('POST', '/v1/tokens', { token: admin, body: { owner: 'grafana', roles: ['ingest'], expiresIn: '1000000000w' } });
    expect(refused.status, JSON.stringify(refused.body)).toBe(400);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((refused.body as { errors: unknown }).errors).toEqual([{ path: 'body.expiresIn', message: 'must be at most 3650d (10 years)' }]);

    const longest = await api.call('POST', '/v1/tokens', { token: admin, body: { owner: 'grafana', roles: ['ingest'], expiresIn: '3650d' } });
    expect(longest.status, JSON.stringify(longest.body)).toBe(201);
    const expiresAt = Date.parse((longest.body as { token: { expiresAt: string } }).token.expiresAt);
    expect(Math.abs(expiresAt - (Date.now() + 3650 * 86_400_000))).toBeLessThan(60_000);
  });
});
