import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/database.js';
import { acknowledgedIncident, rateLimitInForce, startApi } from '../support/api.js';
import { startLiteLLM, startModelUpstream, type ModelUpstream, type RunningLiteLLM } from '../support/gateways.js';
import { useIncidentStack } from '../support/stack.js';

/**
 * A real LiteLLM proxy (its Generic Guardrail API pointed at Correx) in front of a model. Played as the
 * callers of the model through LiteLLM: a blocked user, a rate limit, a lift, and Correx stopped.
 */
describe('corrections enforced at a real LiteLLM proxy', () => {
  const stack = useIncidentStack({ api: true });
  let upstream: ModelUpstream;
  let litellm: RunningLiteLLM;
  let gateway: string;
  let jonas: string;
  let sofia: string;
  let incidentId: string;
  const headers = ['x-correx-tier', 'x-correx-org', 'x-correx-use-case', 'x-correx-capability'];

  const complete = async (user: string, extra: Record<string, string> = {}, via = litellm) => {
    const response = await fetch(`${via.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${via.masterKey}`, ...extra },
      body: JSON.stringify({ model: 'gpt-mock', user, messages: [{ role: 'user', content: 'Summarise this contract' }] }),
    });
    const text = await response.text();
    return { status: response.status, text };
  };

  beforeAll(async () => {
    upstream = await startModelUpstream({ content: 'A short summary.' });
    gateway = await stack.api.token('litellm-proxy', ['gateway']);
    litellm = await startLiteLLM({
      guardrailApiBase: `${stack.api.url}/v1/gateways/litellm/frontier-assistant`,
      guardrailApiKey: gateway,
      upstream: `${upstream.url}/v1`,
      extraHeaders: headers,
    });
    jonas = await stack.api.token('jonas-berg', ['responder']);
    sofia = await stack.api.token('sofia-marquez', ['approver']);
    incidentId = await acknowledgedIncident(stack.api, jonas, {
      systemId: 'frontier-assistant',
      title: 'One customer extracting training data',
      severity: 'SEV2',
      dedupKey: 'litellm-enforced',
    });
  }, 180_000);
  afterAll(async () => {
    await litellm?.stop();
    await upstream?.stop();
  });

  it('blocks exactly the restricted user, with a message that names the restriction and not the rationale; lifting lets them back', async () => {
    expect((await complete('u-extractor')).status).toBe(200);
    const proposed = await stack.api.call('POST', `/v1/incidents/${incidentId}/corrections`, {
      token: jonas,
      body: {
        kind: 'user_restriction',
        scope: { users: ['u-extractor'] },
        parameters: { mode: 'blocklist' },
        reason: 'Membership-inference probing from u-extractor',
      },
    });
    expect(proposed.status, JSON.stringify(proposed.body)).toBe(201);
    const id = proposed.body.correctionId as string;
    expect(
      (await stack.api.call('POST', `/v1/corrections/${id}/decision`, { token: sofia, body: { decision: 'approve', rationale: 'One account' } })).status,
    ).toBe(200);
    await eventually(async () => ((await stack.api.call('GET', `/v1/corrections/${id}`, { token: sofia })).body.state === 'active' ? true : undefined));

    const blocked = await complete('u-extractor');
    expect(blocked.status).toBe(400);
    expect(blocked.text).toContain(
      `Meridian Assistant API is not available to you: its operator has restricted access while an incident is handled (correction ${id}).`,
    );
    expect(blocked.text).not.toContain('Membership-inference');
    const upstreamCalls = upstream.requests.length;
    const other = await complete('u-reader');
    expect(other.status, other.text).toBe(200);
    expect(upstream.requests.length).toBe(upstreamCalls + 1);

    const lift = await stack.api.call('POST', `/v1/corrections/${id}/lift`, {
      token: sofia,
      body: {
        rationale: 'Account closed',
        restoration: [
          { criterion: 'fix-deployed', evidence: 'rate of membership queries capped in the serving stack' },
          { criterion: 'evaluation-passed', evidence: 'privacy red-team run 12 clean' },
        ],
      },
    });
    expect(lift.status, JSON.stringify(lift.body)).toBe(200);
    await eventually(async () => ((await stack.api.call('GET', `/v1/corrections/${id}`, { token: sofia })).body.state === 'lifted' ? true : undefined));
    expect((await complete('u-extractor')).status).toBe(200);
  });

  it('lets a rate limit pass 10 a minute per user and blocks the rest, saying when', async () => {
    await rateLimitInForce(stack.api, incidentId, jonas, sofia);
    const statuses: number[] = [];
    let last = '';
    for (let i = 0; i < 12; i++) {
      const answer = await complete('u-free', { 'x-correx-tier': 'free' });
      statuses.push(answer.status);
      last = answer.text;
    }
    expect(statuses).toEqual([...Array(10).fill(200), 400, 400]);
    expect(last).toContain('at most 10 requests a minute per user');
    expect(last).toMatch(/Retry in \d+ s/);
    expect((await complete('u-paying', { 'x-correx-tier': 'pro' })).status).toBe(200);
    const point = await eventually(async () =>
      stack.db.selectFrom('enforcement_points').selectAll().where('point_id', '=', 'litellm:litellm-proxy').executeTakeFirst(),
    );
    expect(point).toMatchObject({ kind: 'litellm', owner: 'litellm-proxy' });
  });

  it('fails closed or open as LiteLLM is configured when Correx is stopped', async () => {
    const doomed = await startApi(stack.db, stack.worker);
    const base = `${doomed.url}/v1/gateways/litellm/frontier-assistant`;
    const [closed, open] = await Promise.all([
      startLiteLLM({ guardrailApiBase: base, guardrailApiKey: gateway, upstream: `${upstream.url}/v1`, unreachableFallback: 'fail_closed' }),
      startLiteLLM({ guardrailApiBase: base, guardrailApiKey: gateway, upstream: `${upstream.url}/v1`, unreachableFallback: 'fail_open' }),
    ]);
    try {
      expect((await complete('u-any', {}, closed)).status).toBe(200);
      await doomed.close();
      expect((await complete('u-any', {}, closed)).status).toBe(500);
      expect((await complete('u-any', {}, open)).status).toBe(200);
    } finally {
      await Promise.all([closed.stop(), open.stop()]);
    }
  }, 180_000);
});
