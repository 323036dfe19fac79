import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/database.js';
import { type RunningApi, acknowledgedIncident, correctionInForce, rateLimitInForce, startApi } from '../support/api.js';
import { startEnvoy, startModelUpstream, type ModelUpstream, type RunningEnvoy } from '../support/gateways.js';
import { useIncidentStack } from '../support/stack.js';

/**
 * A real Envoy (ext_authz) in front of a model, asking two Correx API instances round robin. Played as
 * the model's callers: before, during and after a rate limit and a capability restriction, and with
 * Correx stopped. What is asserted is what each caller gets back and what reaches the model.
 */
describe('corrections enforced at a real Envoy', () => {
  const stack = useIncidentStack({ api: true });
  let second: RunningApi;
  let upstream: ModelUpstream;
  let envoy: RunningEnvoy;
  let gateway: string;
  let jonas: string;
  let sofia: string;
  let incidentId: string;

  const ask = async (headers: Record<string, string>, via = envoy) => {
    const response = await fetch(`${via.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: 'gpt-mock', messages: [{ role: 'user', content: 'Hello' }] }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
  };
  const lastUpstream = () => upstream.requests.at(-1)!;

  beforeAll(async () => {
    second = await startApi(stack.db, stack.worker);
    upstream = await startModelUpstream();
    gateway = await stack.api.token('envoy-edge', ['gateway']);
    envoy = await startEnvoy({
      upstream: upstream.url,
      decisionServices: [stack.api.url, second.url],
      pathPrefix: '/v1/gateways/envoy/frontier-assistant',
      credential: gateway,
      allowedHeaders: ['x-correx-user', 'x-correx-org', 'x-correx-tier', 'x-correx-region', 'x-correx-use-case', 'x-correx-capability'],
    });
    jonas = await stack.api.token('jonas-berg', ['responder']);
    sofia = await stack.api.token('sofia-marquez', ['approver']);
    incidentId = await acknowledgedIncident(stack.api, jonas, {
      systemId: 'frontier-assistant',
      title: 'Jailbreak prompts sold on a forum',
      severity: 'SEV2',
      dedupKey: 'envoy-enforced',
    });
  }, 120_000);
  afterAll(async () => {
    await envoy?.stop();
    await upstream?.stop();
    await second?.close();
  });

  it('lets everyone through before any correction, telling the model the policy version', async () => {
    for (let i = 0; i < 4; i++) {
      const answer = await ask({ 'x-correx-user': 'u-1', 'x-correx-tier': 'free' });
      expect(answer.status, answer.text).toBe(200);
    }
    expect(lastUpstream().headers['x-correx-policy-version']).toBe('0');
  });

  it('counts a rate limit at the gateway across both instances: 10 a minute per user pass, the rest get 429 with Retry-After', async () => {
    await rateLimitInForce(stack.api, incidentId, jonas, sofia);
    const statuses: number[] = [];
    let refused: Awaited<ReturnType<typeof ask>> | undefined;
    for (let i = 0; i < 13; i++) {
      const answer = await ask({ 'x-correx-user': 'u-1', 'x-correx-tier': 'free' });
      statuses.push(answer.status);
      if (answer.status === 429) refused = answer;
    }
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(200));
    expect(statuses.slice(10)).toEqual([429, 429, 429]);
    expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused!.json().message).toContain('at most 10 requests a minute per user');
    // The internal rationale stays inside: "Slow the scraping while the fix ships".
    expect(refused!.text).not.toContain('scraping');
    // Both instances answered: the count is shared, not per instance.
    const points = await stack.db.selectFrom('decision_instances').select('instance_id').execute();
    expect(points.length).toBeGreaterThanOrEqual(2);
    // Another user, and a paying one, are not held back.
    expect((await ask({ 'x-correx-user': 'u-2', 'x-correx-tier': 'free' })).status).toBe(200);
    expect((await ask({ 'x-correx-user': 'u-1', 'x-correx-tier': 'pro' })).status).toBe(200);
  });

  it('refuses a disabled capability with a message naming it, and tells the model the filter profile for the rest', async () => {
    const proposed = await stack.api.call('POST', `/v1/incidents/${incidentId}/corrections`, {
      token: jonas,
      body: {
        kind: 'capability_restriction',
        scope: { all: true },
        parameters: { disabledCapabilities: ['code-execution'], filterProfile: 'strict-jailbreak' },
        reason: 'Forum prompts chain into code execution',
      },
    });
    expect(proposed.status, JSON.stringify(proposed.body)).toBe(201);
    const id = proposed.body.correctionId as string;
    expect(
      (await stack.api.call('POST', `/v1/corrections/${id}/decision`, { token: sofia, body: { decision: 'approve', rationale: 'Narrow and reversible' } }))
        .status,
    ).toBe(200);
    // Verified means every instance answering Envoy holds it: the very next request is refused.
    await eventually(async () => ((await stack.api.call('GET', `/v1/corrections/${id}`, { token: sofia })).body.state === 'active' ? true : undefined));
    const refused = await ask({ 'x-correx-user': 'u-9', 'x-correx-tier': 'pro', 'x-correx-capability': 'code-execution' });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('x-correx-correction')).toBe(id);
    expect(refused.json().message).toBe(
      `The code-execution capability of Meridian Assistant API is switched off at present while an incident is handled (correction ${id}).`,
    );
    const allowed = await ask({ 'x-correx-user': 'u-9', 'x-correx-tier': 'pro', 'x-correx-capability': 'chat' });
    expect(allowed.status).toBe(200);
    expect(lastUpstream().headers['x-correx-filter-profile']).toBe('strict-jailbreak');
    // A caller cannot choose its own filter profile: the gateway's header is Correx's.
    await ask({ 'x-correx-user': 'u-9', 'x-correx-tier': 'pro', 'x-correx-filter-profile': 'none' });
    expect(lastUpstream().headers['x-correx-filter-profile']).toBe('strict-jailbreak');

    // The console's and API's view: Envoy is an enforcement point at the current version.
    const reader = await stack.api.token('hannah-vogel', ['compliance']);
    const enforcement = await eventually(async () => {
      const shown = await stack.api.call('GET', '/v1/systems/frontier-assistant/enforcement', { token: reader });
      const point = shown.body.points.find((p: { pointId: string }) => p.pointId === 'envoy:envoy-edge');
      return point && point.version === shown.body.version ? shown.body : undefined;
    });
    expect(enforcement.points).toContainEqual(expect.objectContaining({ kind: 'envoy', owner: 'envoy-edge' }));

    // Lifted: the capability is back, and no filter profile is imposed.
    const lift = await stack.api.call('POST', `/v1/corrections/${id}/lift`, { token: sofia, body: { rationale: 'Forum prompts patched' } });
    expect(lift.status, JSON.stringify(lift.body)).toBe(200);
    await eventually(async () => ((await stack.api.call('GET', `/v1/corrections/${id}`, { token: sofia })).body.state === 'lifted' ? true : undefined));
    expect((await ask({ 'x-correx-user': 'u-9', 'x-correx-tier': 'pro', 'x-correx-capability': 'code-execution' })).status).toBe(200);
    expect(lastUpstream().headers['x-correx-filter-profile']).toBeUndefined();
  });

  it('refuses a prohibited use case, and tells the model which version to serve under a rollback', async () => {
    const daniel = await stack.api.token('daniel-cho', ['approver']);
    const inForce = (body: Record<string, unknown>, approver: string) => correctionInForce(stack.api, incidentId, jonas, approver, body);
    const useCase = await inForce(
      { kind: 'use_case_restriction', scope: { all: true }, parameters: { prohibitedUseCases: ['weapons-synthesis'] }, reason: 'Uplift found in red-teaming' },
      sofia,
    );
    const refused = await ask({ 'x-correx-user': 'u-5', 'x-correx-tier': 'pro', 'x-correx-use-case': 'weapons-synthesis' });
    expect(refused.status).toBe(403);
    expect(refused.json().message).toContain(`may not be used for weapons-synthesis at present`);
    expect((await ask({ 'x-correx-user': 'u-5', 'x-correx-tier': 'pro', 'x-correx-use-case': 'coding' })).status).toBe(200);

    await inForce({ kind: 'rollback', scope: { all: true }, parameters: { targetVersion: '2026-08-02' }, reason: 'Regression in the October weights' }, daniel);
    expect((await ask({ 'x-correx-user': 'u-5', 'x-correx-tier': 'pro' })).status).toBe(200);
    expect(lastUpstream().headers['x-correx-model-version']).toBe('2026-08-02');
    // The version the answer was made under travels with it, and is the system's current one.
    const enforcement = await stack.api.call('GET', '/v1/systems/frontier-assistant/enforcement', { token: daniel });
    expect(lastUpstream().headers['x-correx-policy-version']).toBe(String(enforcement.body.version));

    const lift = await stack.api.call('POST', `/v1/corrections/${useCase}/lift`, { token: sofia, body: { rationale: 'Classifier retrained' } });
    expect(lift.status, JSON.stringify(lift.body)).toBe(200);
    await eventually(async () => ((await stack.api.call('GET', `/v1/corrections/${useCase}`, { token: sofia })).body.state === 'lifted' ? true : undefined));
    expect((await ask({ 'x-correx-user': 'u-5', 'x-correx-tier': 'pro', 'x-correx-use-case': 'weapons-synthesis' })).status).toBe(200);
  });

  it('fails closed or open as the gateway is configured when Correx is stopped', async () => {
    const doomed = await startApi(stack.db, stack.worker);
    const closed = await startEnvoy({
      upstream: upstream.url,
      decisionServices: [doomed.url],
      pathPrefix: '/v1/gateways/envoy/frontier-assistant',
      credential: gateway,
    });
    const open = await startEnvoy({
      upstream: upstream.url,
      decisionServices: [doomed.url],
      pathPrefix: '/v1/gateways/envoy/frontier-assistant',
      credential: gateway,
      failureModeAllow: true,
    });
    try {
      expect((await ask({}, closed)).status).toBe(200);
      await doomed.close();
      expect((await ask({}, closed)).status).toBe(403);
      expect((await ask({}, open)).status).toBe(200);
    } finally {
      await closed.stop();
      await open.stop();
    }
  });
});
