import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { roles, type Role } from '../../services/access/roles.js';
import { createToken, revokeToken } from '../../services/access/repository.js';
import { listTimeline } from '../../services/timeline/repository.js';
import { startApi } from '../support/api.js';
import { eventually } from '../support/database.js';
import { useIncidentStack } from '../support/stack.js';
import { failingActivities } from '../support/workflows.js';

const readers: Role[] = ['responder', 'approver', 'compliance', 'admin'];

/** Who may call what. A route added or changed without updating this table fails the first test. */
const expectedAccess: Record<string, Role[] | 'public' | 'integration-key'> = {
  'GET /healthz': 'public',
  'GET /readyz': 'public',
  'GET /livez': 'public',
  'GET /.well-known/correx-signing-key': 'public',
  'GET /v1/exports': ['compliance', 'admin'],
  'GET /v1/incidents/{id}/report': ['compliance', 'admin'],
  'GET /v1/incidents/{id}/regulator-mappings': ['compliance', 'admin'],
  'POST /v2/enqueue': 'integration-key',
  'POST /v2/change/enqueue': 'integration-key',
  'POST /v1/incidents': ['responder', 'admin'],
  'GET /v1/incidents': readers,
  'GET /v1/incidents/{id}': readers,
  'GET /v1/incidents/{id}/timeline': readers,
  'GET /v1/incidents/{id}/alerts': readers,
  'POST /v1/incidents/{id}/acknowledge': ['responder', 'admin'],
  'POST /v1/incidents/{id}/resolve': ['responder', 'admin'],
  'POST /v1/incidents/{id}/awareness': ['responder', 'compliance', 'admin'],
  'POST /v1/incidents/{id}/classify': ['responder', 'compliance', 'admin'],
  'POST /v1/incidents/{id}/corrections': ['responder', 'admin'],
  'GET /v1/incidents/{id}/corrections': readers,
  'GET /v1/corrections/{id}': readers,
  'POST /v1/corrections/{id}/decision': ['approver', 'admin'],
  'POST /v1/corrections/{id}/lift': ['approver', 'admin'],
  'GET /v1/policy/{systemId}': [...readers, 'gateway'],
  'POST /v1/decide': [...readers, 'gateway'],
  'GET /v1/incidents/{id}/reports': readers,
  'GET /v1/reports/{id}': readers,
  'POST /v1/reports/{id}/fields': ['compliance', 'admin'],
  'POST /v1/reports/{id}/approve': ['compliance', 'admin'],
  'POST /v1/reports/{id}/declare-submitted': ['compliance', 'admin'],
  'GET /v1/incidents/{id}/notifications': readers,
  'GET /v1/tasks': readers,
  'POST /v1/tasks/{id}/done': readers,
  'POST /v1/tasks/{id}/reassign': readers,
  'POST /v1/tasks/{id}/not-doing': readers,
  'GET /v1/incidents/{id}/review': readers,
  'POST /v1/incidents/{id}/review': ['responder', 'approver', 'admin'],
  'POST /v1/incidents/{id}/review/sign-off': ['approver', 'admin'],
  'GET /v1/attributions': readers,
  'POST /v1/drills': ['responder', 'admin'],
  'GET /v1/drills/{id}': readers,
  'POST /v1/signals': ['ingest', 'responder', 'admin'],
  'POST /v1/systems/{systemId}/silences': ['responder', 'admin'],
  'GET /v1/systems/{systemId}/monitor': readers,
  'GET /v1/systems/{systemId}/enforcement': readers,
  'POST /v1/ingest/alertmanager': ['ingest', 'admin'],
  'POST /v1/tokens': ['admin'],
  'GET /v1/tokens': ['admin'],
  'DELETE /v1/tokens/{token}': ['admin'],
  'GET /v1/incidents/{id}/metrics': readers,
  'GET /v1/systems/{systemId}/metrics': readers,
  'GET /metrics': [...readers, 'gateway'],
  'GET /v1/schedules': readers,
  'GET /v1/schedules/{id}': readers,
  'GET /v1/schedules/{id}/on-call': readers,
  'POST /v1/schedules/{id}/overrides': ['responder', 'admin'],
  'DELETE /v1/schedules/{id}/overrides/{overrideId}': ['responder', 'admin'],
  'POST /v1/schedules/{id}/feed': readers,
  'POST /v1/people/{id}/feed': readers,
  'GET /v1/calendar/{secret}.ics': 'public',
};

interface Operation {
  method: string;
  path: string;
  security?: Record<string, string[]>[];
  parameters?: { in: string; name: string; required?: boolean }[];
  requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown>; required?: string[] } }> };
}

/** PagerDuty's Events and Change Events APIs: authenticated by the integration key in the body, answering in PagerDuty's format. */
const pagerDuty = (path: string) => path === '/v2/enqueue' || path === '/v2/change/enqueue';

/** A concrete URL for an OpenAPI path: ids that exist nowhere, the shipped system. */
function concrete(path: string): string {
  return path.replace('{id}', randomUUID()).replace('{systemId}', 'frontier-assistant').replace('{token}', 'crx_nosuchtok');
}

describe('HTTP API: authentication, roles, validation and fuzzing against the real service', () => {
  const stack = useIncidentStack({ api: true });
  let operations: Operation[];
  const tokenOf: Partial<Record<Role, string>> = {};

  beforeAll(async () => {
    for (const role of roles) tokenOf[role] = await stack.api.token(`${role}-person`, [role]);
    const document = (await stack.api.call('GET', '/openapi.json')).body as {
      openapi: string;
      paths: Record<string, Record<string, Omit<Operation, 'method' | 'path'>>>;
    };
    expect(document.openapi).toBe('3.1.0');
    operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ ...op, method: method.toUpperCase(), path })),
    );
  });

  it('documents every route in OpenAPI 3.1 with the roles it needs, matching the access table', () => {
    const documented = Object.fromEntries(
      operations.map((op) => {
        const security = op.security ?? [];
        const access = security.length === 0 ? (pagerDuty(op.path) ? 'integration-key' : 'public') : [...security[0]!.bearer!].sort();
        return [`${op.method} ${op.path}`, access];
      }),
    );
    const expected = Object.fromEntries(Object.entries(expectedAccess).map(([route, access]) => [route, Array.isArray(access) ? [...access].sort() : access]));
    expect(documented).toEqual(expected);
  });

  it('lets each role through where it may and answers 403 problem+json everywhere else', async () => {
    const outcomes: string[] = [];
    for (const op of operations) {
      const access = expectedAccess[`${op.method} ${op.path}`]!;
      if (!Array.isArray(access)) continue;
      for (const role of roles) {
        const response = await stack.api.call(op.method, concrete(op.path), { token: tokenOf[role]!, ...(op.requestBody ? { body: {} } : {}) });
        const allowed = access.includes(role);
        const verdict =
          response.status === 403
            ? 'forbidden'
            : response.status === 401
              ? 'unauthenticated'
              : response.status >= 500
                ? `server error ${response.status}`
                : 'let through';
        if (verdict !== (allowed ? 'let through' : 'forbidden'))
          outcomes.push(`${role} ${op.method} ${op.path}: ${verdict} (${JSON.stringify(response.body)})`);
        if (!allowed) {
          expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
          expect(response.body).toMatchObject({ status: 403, title: 'Forbidden', detail: expect.stringContaining(`${role}-person`) });
        }
      }
    }
    expect(outcomes).toEqual([]);
  });

  it('does what each role is for, and records the authenticated person in the timeline', async () => {
    const responder = await stack.api.token('amara-okafor', ['responder']);
    const triggered = await stack.api.call('POST', '/v1/incidents', {
      token: responder,
      body: { systemId: 'frontier-assistant', title: 'Role check', severity: 'SEV3' },
    });
    expect(triggered.status).toBe(202);
    const { incidentId } = triggered.body as { incidentId: string };
    await eventually(async () =>
      (await stack.api.call('GET', `/v1/incidents/${incidentId}`, { token: tokenOf.compliance! })).status === 200 ? true : undefined,
    );
    expect((await stack.api.call('POST', `/v1/incidents/${incidentId}/acknowledge`, { token: responder, body: { reason: 'looking' } })).status).toBe(200);

    const timeline = await listTimeline(stack.db, incidentId);
    expect(timeline.find((e) => e.kind === 'incident.opened')!.actor).toBe('amara-okafor');
    expect(timeline.find((e) => e.kind === 'incident.acknowledged')!.actor).toBe('amara-okafor');

    const forCompliance = await stack.api.call('GET', `/v1/incidents/${incidentId}/timeline`, { token: tokenOf.compliance! });
    expect(forCompliance.status).toBe(200);
    expect((forCompliance.body as { items: { kind: string }[] }).items.map((e) => e.kind)).toContain('incident.acknowledged');

    const signal = await stack.api.call('POST', '/v1/signals', {
      token: tokenOf.ingest!,
      body: { systemId: 'frontier-assistant', source: 'native', labels: { probe: 'yes' } },
    });
    expect(signal.status).toBe(202);
    expect((await stack.api.call('GET', '/v1/policy/frontier-assistant', { token: tokenOf.gateway! })).status).toBe(200);
    const created = await stack.api.call('POST', '/v1/tokens', {
      token: tokenOf.admin!,
      body: { owner: 'new-person', roles: ['responder'], ownerOutsideRunbooks: true },
    });
    expect(created.status).toBe(201);
    expect((created.body as { secret: string }).secret).toMatch(/^crx_/);
    const listed = await stack.api.call('GET', '/v1/tokens', { token: tokenOf.admin! });
    expect(JSON.stringify(listed.body)).not.toContain((created.body as { secret: string }).secret);
  });

  it('answers 401 problem+json without a token, with a malformed, unknown, revoked or expired one', async () => {
    const missing = await stack.api.call('GET', '/v1/incidents');
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(missing.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((await stack.api.call('GET', '/v1/incidents', { headers: { authorization: 'Basic dXNlcjpwYXNz' } })).status).toBe(401);
    expect((await stack.api.call('GET', '/v1/incidents', { token: 'crx_not-a-real-token' })).body).toMatchObject({
      status: 401,
      detail: 'the token is not known',
    });

    const revoked = await createToken(stack.db, { owner: 'leaver', roles: ['responder'] });
    expect((await stack.api.call('GET', '/v1/incidents', { token: revoked.secret })).status).toBe(200);
    const viaApi = await stack.api.call('DELETE', `/v1/tokens/${revoked.token.prefix}`, { token: tokenOf.admin! });
    expect(viaApi.status).toBe(200);
    expect((await stack.api.call('GET', '/v1/incidents', { token: revoked.secret })).body).toMatchObject({ status: 401, detail: 'the token was revoked' });
    expect(await revokeToken(stack.db, revoked.token.id)).toMatchObject({ revokedAt: expect.any(String) });

    const expiring = await createToken(stack.db, { owner: 'contractor', roles: ['responder'], expiresIn: '1h' });
    expect((await stack.api.call('GET', '/v1/incidents', { token: expiring.secret })).status).toBe(200);
    await stack.db
      .updateTable('api_tokens')
      .set({ expires_at: new Date(Date.now() - 1000) })
      .where('id', '=', expiring.token.id)
      .execute();
    expect((await stack.api.call('GET', '/v1/incidents', { token: expiring.secret })).body).toMatchObject({ status: 401, detail: 'the token has expired' });
  });

  it('rate-limits per token with 429 problem+json and Retry-After, leaving other tokens alone', async () => {
    const limited = await startApi(stack.db, stack.worker, { rateLimit: { perMinute: 3, ingestPerMinute: 3 } });
    try {
      const busy = await limited.token('busy-bee', ['responder']);
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await limited.call('GET', '/v1/incidents?limit=1', { token: busy })).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const refused = await limited.call('GET', '/v1/incidents?limit=1', { token: busy });
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(refused.body).toMatchObject({ status: 429 });
      expect((await limited.call('GET', '/v1/incidents?limit=1', { token: await limited.token('calm-person', ['responder']) })).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('rejects malformed input on every route with a body, query or path with 400 problem+json naming the field', async () => {
    const unnamed: string[] = [];
    for (const op of operations) {
      if (op.path === '/healthz' || op.path === '/readyz' || op.path === '/livez' || op.path.startsWith('/.well-known')) continue;
      const problems = [];
      if (op.requestBody) problems.push({ expect: 'body', path: concrete(op.path), body: { unexpectedField: true, reason: 42 } });
      if (op.parameters?.some((p) => p.in === 'path'))
        problems.push({ expect: 'params', path: op.path.replace(/\{[^}]+\}/g, 'NOT%20VALID'), body: op.requestBody ? {} : undefined });
      if (op.parameters?.some((p) => p.in === 'query'))
        problems.push({ expect: 'query', path: `${concrete(op.path)}?limit=lots&unknownFilter=1`, body: undefined });
      for (const attempt of problems) {
        const token = pagerDuty(op.path) ? undefined : tokenOf.admin!;
        const response = await stack.api.call(op.method, attempt.path, {
          ...(token ? { token } : {}),
          ...(attempt.body !== undefined ? { body: attempt.body } : {}),
        });
        if (pagerDuty(op.path)) {
          // PagerDuty's own error shape, which its clients understand.
          expect(response.status).toBe(400);
          expect(response.body).toMatchObject({ status: 'invalid event', errors: expect.arrayContaining([expect.any(String)]) });
          continue;
        }
        const paths = ((response.body as { errors?: { path: string }[] }).errors ?? []).map((e) => e.path);
        if (response.status !== 400 || !paths.some((p) => p.startsWith(attempt.expect)))
          unnamed.push(`${op.method} ${attempt.path}: ${response.status} ${JSON.stringify(response.body)}`);
      }
    }
    expect(unnamed).toEqual([]);
  });

  it('never answers 5xx to fuzzed input on any route (fast-check, schema-driven and arbitrary JSON)', async () => {
    const json = fc.jsonValue({ maxDepth: 3 });
    const weirdText = fc.oneof(
      fc.string(),
      fc.string({ unit: 'grapheme' }),
      // Any UTF-16 code unit, lone surrogates included: what a client that cuts a string mid-emoji sends.
      fc.string({ unit: 'binary' }),
      fc.constantFrom('\u0000', '../../etc/passwd', '%', '%00', "' or 1=1 --", '9'.repeat(400), '-1', '1e309', 'null'),
    );
    for (const op of operations) {
      if (op.path === '/healthz' || op.path === '/readyz' || op.path === '/livez' || op.path.startsWith('/.well-known')) continue;
      const properties = Object.keys(op.requestBody?.content['application/json']?.schema.properties ?? {});
      const queryNames = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      const input = fc.record({
        pathValue: weirdText,
        body: properties.length ? fc.oneof(json, fc.dictionary(fc.constantFrom(...properties), fc.oneof(json, weirdText))) : json,
        query: fc.dictionary(fc.constantFrom(...(queryNames.length ? queryNames : ['x'])), weirdText, { maxKeys: 3 }),
      });
      await fc.assert(
        fc.asyncProperty(input, async ({ pathValue, body, query }) => {
          // A URL carries UTF-8, which has no lone surrogates: encodeURIComponent would throw on one.
          const path = op.path.replace(/\{[^}]+\}/g, () => encodeURIComponent(pathValue.toWellFormed()) || 'x');
          const search = new URLSearchParams(query).toString();
          const routingKey = pagerDuty(op.path) && body && typeof body === 'object' && !Array.isArray(body) ? { routing_key: 'f'.repeat(32), ...body } : body;
          const response = await stack.api.call(op.method, `${path}${search ? `?${search}` : ''}`, {
            token: tokenOf.admin!,
            ...(op.method === 'GET' || op.method === 'DELETE' ? {} : { body: JSON.stringify(routingKey ?? null) }),
          });
          if (response.status >= 500) throw new Error(`${op.method} ${path}?${search} → ${response.status} ${JSON.stringify(response.body)}`);
        }),
        { numRuns: 100, seed: 20261123 },
      );
    }
  }, 240_000);

  it('answers well-shaped triggers with any text 202 or 400, and no workflow is left retrying a failed activity', async () => {
    const anyText = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 });
    const trigger = fc.record({ title: anyText, summary: fc.option(anyText, { nil: undefined }), dedupKey: fc.option(anyText, { nil: undefined }) });
    const statuses = new Set<number>();
    const opened = new Set<string>();
    await fc.assert(
      fc.asyncProperty(trigger, async ({ title, summary, dedupKey }) => {
        const response = await stack.api.call('POST', '/v1/incidents', {
          token: tokenOf.admin!,
          body: { systemId: 'frontier-assistant', severity: 'SEV4', title, ...(summary ? { summary } : {}), ...(dedupKey ? { dedupKey } : {}) },
        });
        statuses.add(response.status);
        if (response.status === 202) opened.add((response.body as { incidentId: string }).incidentId);
        else if (response.status !== 400) throw new Error(`${response.status} ${JSON.stringify(response.body)}`);
      }),
      { numRuns: 60, seed: 20261202 },
    );
    expect([...statuses].sort()).toEqual([202, 400]);

    // Every incident the API accepted is recorded (its first activity did not fail) ...
    await eventually(async () => {
      const recorded = await stack.db
        .selectFrom('incidents')
        .select('id')
        .where('id', 'in', [...opened])
        .execute();
      return recorded.length === opened.size ? true : undefined;
    });
    // ... and no workflow on the server is retrying an activity that failed.
    expect(await failingActivities(stack.client)).toEqual([]);
  }, 240_000);
});
