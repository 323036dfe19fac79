import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/database.js';
import { acknowledgedIncident, correctionInForce, rateLimitInForce, startApi } from '../support/api.js';
import { startLiteLLM, startModelUpstream, type ModelUpstream, type RunningLiteLLM } from '../support/gateways.js';
import { useIncidentStack } from '../support/stack.js';

/**
 * A real LiteLLM proxy with Correx's own guardrail (deploy/litellm/correx_guardrail.py) in front of a model
 * that serves meridian-4 and, as its own LiteLLM models, the earlier versions of the frontier-assistant
 * runbook. Played as the callers: a rollback routes the call to the target version's model and back after
 * lift, a capability restriction's filter profile reaches the model (a client's own is dropped), refusals
 * come with 403 or 429 and the reason, and Correx stopped fails closed or open as configured.
 */
describe("corrections enforced at a real LiteLLM proxy with Correx's guardrail", () => {
  const stack = useIncidentStack({ api: true });
  let upstream: ModelUpstream;
  let litellm: RunningLiteLLM;
  let gateway: string;
  let jonas: string;
  let sofia: string;
  let daniel: string;
  let incidentId: string;
  const headers = ['x-correx-tier', 'x-correx-org', 'x-correx-use-case', 'x-correx-capability'];
  const models = ['meridian-4', 'meridian-4-2026-08-02', 'meridian-4-2026-06-11'];
  const restoration = [
    { criterion: 'fix-deployed', evidence: 'regression reverted in the serving stack' },
    { criterion: 'evaluation-passed', evidence: 'red-team run 14 clean on the fixed model' },
  ];

  const complete = async (user: string, extra: Record<string, string> = {}, body: Record<string, unknown> = {}, via = litellm) => {
    const response = await fetch(`${via.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${via.masterKey}`, ...extra },
      body: JSON.stringify({ model: 'meridian-4', user, messages: [{ role: 'user', content: 'Draft a clause' }], ...body }),
    });
    const text = await response.text();
    return { status: response.status, text, headers: response.headers };
  };
  /** What the model received for the call just made. */
  const lastAtModel = () => {
    const request = upstream.requests.at(-1)!;
    return { model: (request.body as { model?: string }).model, headers: request.headers };
  };

  const inForce = (body: Record<string, unknown>, approver: string) => correctionInForce(stack.api, incidentId, jonas, approver, body);
  const lift = async (id: string, approver: string) => {
    const lifted = await stack.api.call('POST', `/v1/corrections/${id}/lift`, { token: approver, body: { rationale: 'Fixed', restoration } });
    expect(lifted.status, JSON.stringify(lifted.body)).toBe(200);
    await eventually(async () => ((await stack.api.call('GET', `/v1/corrections/${id}`, { token: approver })).body.state === 'lifted' ? true : undefined));
  };

  beforeAll(async () => {
    upstream = await startModelUpstream({ content: 'A clause.' });
    gateway = await stack.api.token('litellm-proxy', ['gateway']);
    litellm = await startLiteLLM({
      guardrail: 'correx',
      guardrailApiBase: `${stack.api.url}/v1/gateways/litellm/frontier-assistant`,
      guardrailApiKey: gateway,
      upstream: `${upstream.url}/v1`,
      models,
      extraHeaders: headers,
      timeoutSeconds: 2,
    });
    jonas = await stack.api.token('jonas-berg', ['responder']);
    sofia = await stack.api.token('sofia-marquez', ['approver']);
    daniel = await stack.api.token('daniel-cho', ['approver']);
    incidentId = await acknowledgedIncident(stack.api, jonas, {
      systemId: 'frontier-assistant',
      title: 'Regression in contract drafting',
      severity: 'SEV2',
      dedupKey: 'litellm-routing',
    });
  }, 180_000);
  afterAll(async () => {
    await litellm?.stop();
    await upstream?.stop();
  });

  it("routes calls to the rollback's target version while it is in force, and to the requested model after lift", async () => {
    const before = await complete('u-drafter');
    expect(before.status, before.text).toBe(200);
    expect(lastAtModel().model).toBe('meridian-4');
    expect(lastAtModel().headers['x-correx-model-version']).toBeUndefined();
    expect(lastAtModel().headers['x-correx-policy-version']).toMatch(/^\d+$/);

    const id = await inForce(
      { kind: 'rollback', scope: { all: true }, parameters: { targetVersion: '2026-08-02' }, reason: 'Return to the version without the regression' },
      daniel,
    );
    const during = await complete('u-drafter');
    expect(during.status, during.text).toBe(200);
    expect(lastAtModel().model).toBe('meridian-4-2026-08-02');
    expect(lastAtModel().headers['x-correx-model-version']).toBe('2026-08-02');
    // A client cannot pick the version it is served by naming one itself.
    await complete('u-drafter', { 'x-correx-model-version': '2026-10-14' }, { extra_headers: { 'X-Correx-Model-Version': '2026-10-14' } });
    expect(lastAtModel()).toMatchObject({ model: 'meridian-4-2026-08-02', headers: { 'x-correx-model-version': '2026-08-02' } });

    await lift(id, daniel);
    const after = await complete('u-drafter');
    expect(after.status, after.text).toBe(200);
    expect(lastAtModel().model).toBe('meridian-4');
    expect(lastAtModel().headers['x-correx-model-version']).toBeUndefined();
  });

  it("sends a capability restriction's filter profile to the model, replacing a client's own, and refuses a disabled capability with 403", async () => {
    const id = await inForce(
      {
        kind: 'capability_restriction',
        scope: { all: true },
        parameters: { filterProfile: 'strict-cbrn', disabledCapabilities: ['code-execution'] },
        reason: 'Contain code execution while the jailbreak is assessed',
      },
      sofia,
    );
    // A client's own extra_headers do reach the model (x-client-note), but not its filter profile.
    const served = await complete(
      'u-drafter',
      { 'x-correx-capability': 'chat' },
      { extra_headers: { 'x-correx-filter-profile': 'none', 'x-client-note': 'kept' } },
    );
    expect(served.status, served.text).toBe(200);
    expect(lastAtModel()).toMatchObject({ model: 'meridian-4', headers: { 'x-correx-filter-profile': 'strict-cbrn', 'x-client-note': 'kept' } });

    const calls = upstream.requests.length;
    const refused = await complete('u-drafter', { 'x-correx-capability': 'code-execution' });
    expect(refused.status, refused.text).toBe(403);
    expect(JSON.parse(refused.text).error.message).toContain('Meridian Assistant API');
    expect(refused.text).not.toContain('jailbreak is assessed');
    expect(upstream.requests.length).toBe(calls);

    await lift(id, sofia);
    await complete('u-drafter');
    expect(lastAtModel().headers['x-correx-filter-profile']).toBeUndefined();
  });

  it('refuses a blocked user with 403 and the reason, and a rate limit with 429 and retry-after', async () => {
    const id = await inForce(
      { kind: 'user_restriction', scope: { users: ['u-extractor'] }, parameters: { mode: 'blocklist' }, reason: 'Membership-inference probing' },
      sofia,
    );
    const calls = upstream.requests.length;
    const blocked = await complete('u-extractor');
    expect(blocked.status, blocked.text).toBe(403);
    expect(JSON.parse(blocked.text).error).toMatchObject({ type: 'permission_error', code: '403' });
    expect(JSON.parse(blocked.text).error.message).toBe(
      `Meridian Assistant API is not available to you: its operator has restricted access while an incident is handled (correction ${id}).`,
    );
    expect(upstream.requests.length).toBe(calls);
    expect((await complete('u-reader')).status).toBe(200);

    await rateLimitInForce(stack.api, incidentId, jonas, sofia);
    const answers = [];
    for (let i = 0; i < 11; i++) answers.push(await complete('u-free', { 'x-correx-tier': 'free' }));
    expect(answers.map((a) => a.status)).toEqual([...Array(10).fill(200), 429]);
    const limited = answers.at(-1)!;
    expect(JSON.parse(limited.text).error).toMatchObject({ type: 'rate_limit_error', code: '429' });
    expect(JSON.parse(limited.text).error.message).toMatch(/at most 10 requests a minute per user.*Retry in \d+ s/);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('refuses (503) a rollback it has no model for, and fails closed (503) or open as configured when Correx cannot be reached', async () => {
    const doomed = await startApi(stack.db, stack.worker);
    const options = {
      guardrail: 'correx' as const,
      guardrailApiBase: `${doomed.url}/v1/gateways/litellm/frontier-assistant`,
      guardrailApiKey: gateway,
      upstream: `${upstream.url}/v1`,
      models,
      timeoutSeconds: 1,
    };
    const [closed, open] = await Promise.all([
      // This one names a model it does not offer for 2026-08-02 (model_versions).
      startLiteLLM({ ...options, unreachableFallback: 'fail_closed', modelVersions: { '2026-08-02': 'meridian-4-retired' } }),
      startLiteLLM({ ...options, unreachableFallback: 'fail_open' }),
    ]);
    try {
      expect((await complete('u-any', {}, {}, closed)).status).toBe(200);
      const id = await inForce({ kind: 'rollback', scope: { all: true }, parameters: { targetVersion: '2026-08-02' }, reason: 'Regression is back' }, daniel);
      // (the other Correx instance learns of the rollback from the database)
      await eventually(async () => ((await complete('u-any', {}, {}, closed)).status === 200 ? undefined : true));
      const calls = upstream.requests.length;
      const unserved = await complete('u-any', {}, {}, closed);
      expect(unserved.status, unserved.text).toBe(503);
      expect(JSON.parse(unserved.text).error.message).toContain('has no model meridian-4-retired');
      expect(upstream.requests.length).toBe(calls);
      expect((await complete('u-any', {}, {}, open)).status).toBe(200);
      expect(lastAtModel().model).toBe('meridian-4-2026-08-02');
      await lift(id, daniel);

      await doomed.close();
      const refused = await complete('u-any', {}, {}, closed);
      expect(refused.status, refused.text).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('1');
      expect((await complete('u-any', {}, {}, open)).status).toBe(200);
    } finally {
      await Promise.all([closed.stop(), open.stop()]);
    }
  }, 180_000);
});
