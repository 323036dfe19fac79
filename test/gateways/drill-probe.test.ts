import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/database.js';
import { shippedRunbook } from '../support/runbooks.js';
import { startEnvoy, startModelUpstream, type ModelUpstream, type RunningEnvoy } from '../support/gateways.js';
import { useIncidentStack } from '../support/stack.js';

type Step = { name: string; by?: string; detail?: string; outcome?: string; reason?: string };
type Drill = { state: string; failure?: string; incidentId?: string; steps: Step[]; touched?: string };

/**
 * A drill of a rate limit on a system whose gateway is a real Envoy asking Correx: the drill sends probe
 * requests through Envoy marked as the drill's, and reports the limit counted there, while real traffic
 * through the same Envoy meets no drill correction.
 */
describe('a drill shows its correction enforced at the real gateway, and touches no real traffic', () => {
  const stack = useIncidentStack({ api: true, drillOutbox: true, runbookFiles: ['frontier-assistant'] });
  let upstream: ModelUpstream;
  let envoy: RunningEnvoy;
  let lead: string;

  beforeAll(async () => {
    upstream = await startModelUpstream();
    const gateway = await stack.api.token('envoy-edge', ['gateway']);
    envoy = await startEnvoy({
      upstream: upstream.url,
      decisionServices: [stack.api.url],
      pathPrefix: '/v1/gateways/envoy/frontier-assistant',
      credential: gateway,
      allowedHeaders: ['x-correx-user', 'x-correx-tier', 'x-correx-capability', 'x-correx-drill'],
    });
    // The runbook names the gateway drills probe (known once Envoy listens).
    const runbook = await shippedRunbook('frontier-assistant');
    runbook.system.enforcement = { adapter: 'policy', drillProbe: { url: `${envoy.url}/v1/chat/completions` } };
    await writeFile(path.join(stack.runbooksDir, 'frontier-assistant.yaml'), stringify(runbook));
    await stack.api.runbooks.refresh();
    lead = await stack.api.token('drill-lead', ['responder']);
    for (const person of (await shippedRunbook('frontier-assistant')).people as { id: string }[]) await stack.api.token(person.id, ['responder', 'approver']);
  }, 60_000);
  afterAll(async () => {
    await envoy?.stop();
    await upstream?.stop();
  });

  it('counts a drilled rate limit at Envoy: 3 pass, the rest get 429; real free-tier traffic passes meanwhile', async () => {
    const started = await stack.api.call('POST', '/v1/drills', {
      token: lead,
      body: {
        systemId: 'frontier-assistant',
        scenario: {
          severity: 'SEV2',
          correction: {
            kind: 'rate_limit',
            scope: { tiers: ['free'] },
            parameters: { requestsPerMinute: 3, per: 'user' },
            reason: 'Drill: slow the free tier',
          },
        },
      },
    });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    expect(started.body.plan.gatewayProbe).toMatchObject({ url: `${envoy.url}/v1/chat/completions` });

    // While the drill runs, a real free-tier user keeps calling through the same Envoy: never refused.
    const real: number[] = [];
    let drill: Drill | undefined;
    while (!drill) {
      const answer = await fetch(`${envoy.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-correx-user': 'real-user', 'x-correx-tier': 'free' },
        body: JSON.stringify({ model: 'gpt-mock', messages: [{ role: 'user', content: 'hi' }] }),
      });
      real.push(answer.status);
      const state = await stack.api.call('GET', `/v1/drills/${started.body.drillId as string}`, { token: lead });
      if (state.body.state !== 'running') drill = state.body as Drill;
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(drill.failure).toBeUndefined();
    expect(drill.state).toBe('completed');
    const probe = drill.steps.find((s) => s.name === 'enforced at the gateway (drill traffic)');
    expect(probe).toMatchObject({ by: 'system:enforcement', outcome: 'ok' });
    expect(probe!.detail).toMatch(
      new RegExp(
        `^3 of 5 requests passed, 2 refused with 429 \\(Retry-After \\d+ s\\) at ${envoy.url}/v1/chat/completions as user correx-drill-probe, tier free: the limit of 3 a minute is counted at the gateway$`,
      ),
    );
    expect(drill.steps.map((s) => s.name).indexOf('enforced at the gateway (drill traffic)')).toBe(
      drill.steps.map((s) => s.name).indexOf('applied (dry-run enforcer) and verified') + 1,
    );
    expect(drill.touched).toContain(`the gateway at ${envoy.url}/v1/chat/completions was sent probe requests marked as the drill's`);
    expect(real.length).toBeGreaterThan(3);
    expect(real.every((status) => status === 200)).toBe(true);
    // The probes reached the model through Envoy; the refused ones did not.
    const probes = upstream.requests.filter((r) => r.headers['x-correx-drill'] === drill!.incidentId);
    expect(probes).toHaveLength(3);
    // The drill never changed the system's policy.
    expect(await stack.db.selectFrom('policy_versions').selectAll().where('system_id', '=', 'frontier-assistant').executeTakeFirst()).toBeUndefined();
    await eventually(async () => (upstream.requests.length > 0 ? true : undefined));
  }, 200_000);
});
