import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/database.js';
import { type RunningApi, acknowledgedIncident, rateLimitInForce, startApi } from '../support/api.js';
import { runCorrex } from '../support/cli.js';
import { useIncidentStack } from '../support/stack.js';

/**
 * The decision path gateways call before each model request, on two API instances over one database:
 * answered from the policy in memory, a rate limit counted across both instances, no per-token rate
 * limit in the way, a revoked gateway credential refused within the bound, and a correction verified
 * only once both instances hold it.
 */
describe('decisions for gateways, from two API instances', () => {
  // The per-token limit meant for people is tiny here: gateway traffic must not be subject to it.
  const stack = useIncidentStack({ api: { rateLimit: { perMinute: 5, ingestPerMinute: 1000 } } });
  let second: RunningApi;
  let gateway: string;
  let jonas: string;
  let sofia: string;
  let incidentId: string;
  const free = (userId: string) => ({ systemId: 'frontier-assistant', tier: 'free', userId });

  beforeAll(async () => {
    second = await startApi(stack.db, stack.worker, { rateLimit: { perMinute: 5, ingestPerMinute: 1000 } });
    gateway = await stack.api.token('envoy-edge', ['gateway']);
    jonas = await stack.api.token('jonas-berg', ['responder']);
    sofia = await stack.api.token('sofia-marquez', ['approver']);
    incidentId = await acknowledgedIncident(stack.api, jonas, {
      systemId: 'frontier-assistant',
      title: 'Scraping through the free tier',
      severity: 'SEV2',
      dedupKey: 'gateway-decisions',
    });
    // Both instances are asked before the correction, so both hold the system's policy and must catch up.
    for (const api of [stack.api, second]) {
      const before = await api.call('POST', '/v1/decide', { token: gateway, body: free('u-0') });
      expect(before.status, JSON.stringify(before.body)).toBe(200);
      expect(before.body).toMatchObject({ decision: 'allow', policyVersion: 0 });
    }
  }, 60_000);
  afterAll(() => second?.close());

  it('counts a rate limit across both instances: 10 a minute per user, the rest refused with when to retry', async () => {
    const correctionId = await rateLimitInForce(stack.api, incidentId, jonas, sofia);
    const row = await stack.db.selectFrom('corrections').select(['applied_version', 'verified_at']).where('id', '=', correctionId).executeTakeFirstOrThrow();
    expect(row.applied_version).toBeGreaterThan(0);
    // Verified means both instances answer from a policy that has it: no decision after this misses it.
    // (Each person's token gets 5 requests a minute here: people and scripts are read with their own tokens.)
    const status = await stack.api.call('GET', '/v1/systems/frontier-assistant/enforcement', { token: await stack.api.token('lena-ops', ['responder']) });
    expect(status.status).toBe(200);
    expect(status.body.instances.length).toBeGreaterThanOrEqual(2);
    for (const instance of status.body.instances) expect(instance.version).toBeGreaterThanOrEqual(row.applied_version!);

    const answers = [];
    for (let i = 0; i < 14; i++) {
      const api = i % 2 === 0 ? stack.api : second;
      const answer = await api.call('POST', '/v1/decide', { token: gateway, body: free('u-1') });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      answers.push(answer.body);
    }
    expect(answers.filter((a) => a.admitted === true)).toHaveLength(10);
    const refused = answers.filter((a) => a.admitted === false);
    expect(refused).toHaveLength(4);
    expect(answers.slice(10).every((a) => a.admitted === false)).toBe(true);
    for (const answer of refused) {
      expect(answer).toMatchObject({ decision: 'throttle', policyVersion: row.applied_version, limit: { requestsPerMinute: 10, per: 'user' } });
      expect(answer.retryAfterSeconds).toBeGreaterThan(0);
      expect(answer.retryAfterSeconds).toBeLessThanOrEqual(60);
      // What the end user reads: the limit in words, never the internal rationale.
      expect(answer.message).toContain('at most 10 requests a minute per user');
      expect(answer.message).not.toContain('scraping');
    }
    // Another user has a count of their own; paid traffic is out of the correction's scope.
    expect((await second.call('POST', '/v1/decide', { token: gateway, body: free('u-2') })).body).toMatchObject({ decision: 'throttle', admitted: true });
    expect((await second.call('POST', '/v1/decide', { token: gateway, body: { ...free('u-1'), tier: 'pro' } })).body).toMatchObject({ decision: 'allow' });
    // A gateway pointed at a system no runbook defines is told so, rather than let through unchecked.
    const unknown = await second.call('POST', '/v1/decide', { token: gateway, body: { systemId: 'frontier-assistnat' } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors).toEqual([{ path: 'body.systemId', message: "no runbook defines system 'frontier-assistnat'" }]);
    expect((await second.call('GET', '/v1/policy/frontier-assistnat', { token: gateway })).status).toBe(404);

    // Each instance noted the gateway and the version it was answered under.
    await eventually(async () => {
      const point = await stack.db.selectFrom('enforcement_points').selectAll().where('point_id', '=', 'decide:envoy-edge').executeTakeFirst();
      return point && point.policy_version === row.applied_version && point.decisions >= 18 ? point : undefined;
    });
    const reader = await stack.api.token('mara-compliance', ['compliance']);
    const shown = await stack.api.call('GET', '/v1/systems/frontier-assistant/enforcement', { token: reader });
    expect(shown.body.points).toContainEqual(
      expect.objectContaining({ pointId: 'decide:envoy-edge', kind: 'decide', owner: 'envoy-edge', version: row.applied_version }),
    );
    // The same from the CLI, as an operator would check it.
    const cli = await runCorrex(['correction', 'enforcement', 'frontier-assistant'], { CORREX_SERVER: stack.api.url, CORREX_TOKEN: reader });
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain(`frontier-assistant: policy version ${row.applied_version}`);
    expect(cli.stdout).toMatch(/decide:envoy-edge \(envoy-edge, \d+ decisions\)\s+decide\s+1\s+current/);
    expect(cli.stdout.match(/correx api\s+1\s+current/g)?.length).toBeGreaterThanOrEqual(2);
  });

  it('verifies a correction an instance never catches up with after the bound, with a warning on the timeline and a page to the commander', async () => {
    // An API instance that reports holding the system's policy at an old version and never moves on.
    const stuck = 'stuck-instance:1';
    const beat = () =>
      stack.db
        .insertInto('decision_instances')
        .values({ instance_id: stuck, versions: JSON.stringify({ 'frontier-assistant': 0 }) as never, heartbeat_at: new Date() })
        .onConflict((oc) => oc.column('instance_id').doUpdateSet({ heartbeat_at: new Date() }))
        .execute();
    await beat();
    const beating = setInterval(() => void beat(), 500);
    try {
      const proposed = await stack.api.call('POST', `/v1/incidents/${incidentId}/corrections`, {
        token: jonas,
        body: { kind: 'user_restriction', scope: { users: ['u-abuser'] }, parameters: { mode: 'blocklist' }, reason: 'Abuse from one account' },
      });
      expect(proposed.status, JSON.stringify(proposed.body)).toBe(201);
      const id = proposed.body.correctionId as string;
      const approvedAt = Date.now();
      expect(
        (await stack.api.call('POST', `/v1/corrections/${id}/decision`, { token: sofia, body: { decision: 'approve', rationale: 'One account' } })).status,
      ).toBe(200);
      const verified = await eventually(
        async () =>
          stack.db
            .selectFrom('corrections')
            .select(['verified_at', 'applied_version'])
            .where('id', '=', id)
            .where('verified_at', 'is not', null)
            .executeTakeFirst(),
        20_000,
      );
      // Not before the runbook's bound (5 s by default): the live instances caught up at once, the stuck one never.
      expect(verified.verified_at!.getTime() - approvedAt).toBeGreaterThanOrEqual(5_000);
      const warning = await stack.db
        .selectFrom('timeline_events')
        .selectAll()
        .where('incident_id', '=', incidentId)
        .where('kind', '=', 'correction.enforcement_lagging')
        .executeTakeFirstOrThrow();
      expect(warning.data).toMatchObject({
        correctionId: id,
        expected: 'applied',
        policyVersion: verified.applied_version,
        lagging: [`API instance ${stuck} (version 0)`],
      });
      const pages = await stack.db
        .selectFrom('pages')
        .selectAll()
        .where('incident_id', '=', incidentId)
        .where('idempotency_key', 'like', `${id}:enforcement-lagging:%`)
        .execute();
      expect(pages.map((p) => p.target)).toEqual(['jonas-berg']);
      // A gateway asking the live instances meets the correction all along.
      expect((await stack.api.call('POST', '/v1/decide', { token: gateway, body: { systemId: 'frontier-assistant', userId: 'u-abuser' } })).body.decision).toBe(
        'deny',
      );
    } finally {
      clearInterval(beating);
      await stack.db.deleteFrom('decision_instances').where('instance_id', '=', stuck).execute();
    }
  }, 60_000);

  it('puts a break-glass correction into the policy, held by every instance, before it is recorded as applied', async () => {
    // A token of his own for this: each person's token gets 5 requests a minute here.
    const jonas = await stack.api.token('jonas-berg', ['responder', 'approver']);
    const sev1 = await acknowledgedIncident(stack.api, jonas, {
      systemId: 'frontier-assistant',
      title: 'Model giving synthesis routes',
      severity: 'SEV1',
      dedupKey: 'gateway-break-glass',
    });
    const proposed = await stack.api.call('POST', `/v1/incidents/${sev1}/corrections`, {
      token: jonas,
      body: {
        kind: 'capability_restriction',
        scope: { all: true },
        parameters: { disabledCapabilities: ['chemistry-tools'] },
        reason: 'Synthesis routes through the chemistry tools',
        breakGlass: true,
      },
    });
    expect(proposed.status, JSON.stringify(proposed.body)).toBe(201);
    const id = proposed.body.correctionId as string;
    const row = await eventually(
      async () =>
        stack.db
          .selectFrom('corrections')
          .select(['applied_at', 'applied_version'])
          .where('id', '=', id)
          .where('applied_at', 'is not', null)
          .executeTakeFirst(),
      20_000,
    ).catch(async (error: unknown) => {
      const events = await stack.db.selectFrom('timeline_events').select(['kind', 'data']).where('incident_id', '=', sev1).execute();
      const correction = await stack.db.selectFrom('corrections').selectAll().where('id', '=', id).executeTakeFirst();
      throw new Error(`${(error as Error).message}: ${JSON.stringify(events)} ${JSON.stringify(correction)}`);
    });
    expect(row.applied_version).toBeGreaterThan(0);
    // Recorded as applied only once verified: both instances refuse at once.
    await eventually(async () =>
      (await stack.db.selectFrom('timeline_events').select('seq').where('incident_id', '=', sev1).where('kind', '=', 'correction.applied').executeTakeFirst())
        ? true
        : undefined,
    );
    for (const api of [stack.api, second]) {
      const answer = await api.call('POST', '/v1/decide', {
        token: gateway,
        body: { systemId: 'frontier-assistant', userId: 'u-7', capability: 'chemistry-tools' },
      });
      expect(answer.body).toMatchObject({ decision: 'deny', policyVersion: expect.any(Number) });
      expect(answer.body.policyVersion).toBeGreaterThanOrEqual(row.applied_version!);
    }
  }, 60_000);

  it('refuses a revoked gateway credential on every instance within a second and a half', async () => {
    const doomed = await stack.api.token('retired-gateway', ['gateway']);
    for (const api of [stack.api, second]) expect((await api.call('POST', '/v1/decide', { token: doomed, body: free('u-3') })).status).toBe(200);
    const admin = await stack.api.token('ops-admin', ['admin']);
    const tokens = await stack.api.call('GET', '/v1/tokens', { token: admin });
    const record = tokens.body.items.find((t: { owner: string }) => t.owner === 'retired-gateway');
    expect((await stack.api.call('DELETE', `/v1/tokens/${record.id}`, { token: admin })).status).toBe(200);
    const revokedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    for (const api of [stack.api, second]) expect((await api.call('POST', '/v1/decide', { token: doomed, body: free('u-3') })).status).toBe(401);
    expect(Date.now() - revokedAt).toBeLessThan(5_000);
  });
});
