import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/database.js';
import { shippedRunbook } from '../support/runbooks.js';
import { useIncidentStack } from '../support/stack.js';

type Step = { name: string; by?: string; detail?: string; outcome?: string; reason?: string };
type Drill = { state: string; failure?: string; incidentId?: string; steps: Step[]; touched?: string };

const consumerSecret = 'kiosk-fallback-secret-0123456789';
const unsetSecretEnv = 'CORREX_TEST_FALLBACK_SECRET_NEVER_SET';

/**
 * A consumer's own fallback endpoint that agreed to take drills: it checks the signature with its copy
 * of the secret, as the consumer would, and keeps what it was sent; or it refuses everything.
 */
class ConsumerEndpoint {
  readonly requests: { method: string; url: string; drill: string | undefined; body: Record<string, unknown> | undefined }[] = [];
  refusing = false;
  private readonly active = new Map<string, boolean>();
  private readonly server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const json = (status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      const signature = String(req.headers['correx-signature'] ?? '').match(/^t=(\d+),v1=([0-9a-f]{64})$/);
      const expected = signature && createHmac('sha256', consumerSecret).update(`${signature[1]}.${body}`).digest();
      if (this.refusing || !signature || !timingSafeEqual(expected!, Buffer.from(signature[2]!, 'hex')))
        return void json(401, { error: 'the signature does not verify with our secret' });
      const drill = req.headers['correx-drill'] as string | undefined;
      if (req.method === 'GET') {
        this.requests.push({ method: 'GET', url: req.url!, drill, body: undefined });
        return void json(200, { active: this.active.get(req.url!.split('/').pop()!) === true });
      }
      const message = JSON.parse(body) as { action: string; correctionId: string };
      this.requests.push({ method: 'POST', url: req.url!, drill, body: message });
      this.active.set(message.correctionId, message.action === 'activate');
      json(200, { ok: true });
    });
  });

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/api/v2/mode/reception-only`;
  }
  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const kiosks = await new ConsumerEndpoint().start();
afterAll(() => kiosks.stop());

describe('drills: notices and fallbacks through the real code to drill targets, each step by someone the real incident admits', () => {
  const stack = useIncidentStack({
    drillOutbox: true,
    secrets: { CORREX_TEST_KIOSK_SECRET: consumerSecret },
    runbookFiles: {
      // The fallback webhook's secret is named, but the worker does not have it.
      'frontier-assistant': {
        from: 'frontier-assistant',
        adjust(runbook) {
          runbook.system.fallbackSecretEnv = unsetSecretEnv;
        },
      },
      // The kiosks agreed to take drills at their real endpoint.
      'clinical-triage': {
        from: 'clinical-triage',
        adjust(runbook) {
          runbook.system.fallbackSecretEnv = 'CORREX_TEST_KIOSK_SECRET';
          const kioskConsumer = (runbook.system.consumers as { id: string; fallback: { activation: unknown } }[]).find((c) => c.id === 'check-in-kiosks')!;
          kioskConsumer.fallback.activation = { method: 'webhook', url: kiosks.url, drill: 'real-endpoint' };
        },
      },
    },
    api: true,
  });
  let lead: string;

  beforeAll(async () => {
    lead = await stack.api.token('drill-lead', ['responder']);
    // Everyone can act, except that the CTO's only token is a responder's: the door to a decision is shut to her.
    for (const systemId of ['frontier-assistant', 'clinical-triage'])
      for (const person of (await shippedRunbook(systemId)).people as { id: string }[])
        await stack.api.token(person.id, person.id === 'priya-raman' ? ['responder'] : ['responder', 'approver']);
  });

  const drill = async (systemId: string, scenario: Record<string, unknown> = {}): Promise<Drill> => {
    const started = await stack.api.call('POST', '/v1/drills', { token: lead, body: { systemId, scenario } });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    return eventually(async () => {
      const state = await stack.api.call('GET', `/v1/drills/${started.body.drillId as string}`, { token: lead });
      return state.status === 200 && state.body.state !== 'running' ? (state.body as Drill) : undefined;
    }, 170_000);
  };
  const shutdownAtSev1 = { severity: 'SEV1', correction: { kind: 'shutdown', scope: { all: true }, reason: 'Drill: rehearse a full shutdown' } };
  const step = (d: Drill, name: string) => d.steps.find((s) => s.name === name);

  it('fails the steps whose person the real incident would refuse, saying who lacks what, and touches nothing', async () => {
    const incidentsBefore = await stack.db.selectFrom('incidents').select('id').execute();
    const refused = await drill('frontier-assistant', shutdownAtSev1);
    expect(refused.state).toBe('failed');
    expect(refused.incidentId).toBeUndefined();
    expect(refused.steps.map((s) => [s.name, s.outcome])).toEqual([
      ['approve', 'failed'],
      ['lift', 'failed'],
    ]);
    expect(step(refused, 'approve')!.reason).toBe(
      '2 approvals from different people holding different roles of head-of-safety, cto are needed for shutdown at SEV1; their holders are daniel-cho (head-of-safety) and priya-raman (cto; no token for approve: approver or admin): the quorum cannot be met',
    );
    expect(refused.failure).toBe(`approve: ${step(refused, 'approve')!.reason} (and 1 more failed step)`);
    expect(await stack.db.selectFrom('incidents').select('id').execute()).toEqual(incidentsBefore);
  }, 60_000);

  it('fails a fallback whose secret is unset with the error the incident would hit, and goes on to close', async () => {
    await stack.api.token('priya-raman', ['approver']);
    const failed = await drill('frontier-assistant', shutdownAtSev1);

    // The shutdown was decided by the authority over shutdowns, each vote at a door that admits it.
    expect(failed.steps.filter((s) => s.name === 'approve').map((s) => [s.by, s.detail])).toEqual(
      expect.arrayContaining([
        ['daniel-cho', 'as head-of-safety (token: approver)'],
        ['priya-raman', 'as cto (token: approver)'],
      ]),
    );
    expect(failed.steps.filter((s) => s.name === 'lift with restoration criteria')).toHaveLength(2);
    expect(step(failed, 'sign off')).toMatchObject({ by: 'daniel-cho', detail: 'as head-of-safety (token: approver)', outcome: 'ok' });

    const reason = `no secret to sign the fallback webhook of lexicon-legal: ${unsetSecretEnv} (system.fallbackSecretEnv, or the enforcer's secretEnv when unset) is not set where the worker runs`;
    expect(step(failed, 'fallback on: Lexicon Legal (contract drafting)')).toMatchObject({ by: 'system:fallback', outcome: 'failed', reason });
    expect(step(failed, 'fallback off: Lexicon Legal (contract drafting)')).toMatchObject({ outcome: 'failed', reason });
    expect(step(failed, 'fallback on: Northwind customer support chatbot')).toMatchObject({
      outcome: 'ok',
      detail: expect.stringMatching(new RegExp(`^email: the request written to the drill outbox ${stack.drillOutbox} as .+\\.eml, not sent$`)),
    });
    expect(step(failed, 'notice in force: Lexicon Legal (contract drafting)')).toMatchObject({
      outcome: 'ok',
      detail: expect.stringMatching(new RegExp(`^to cto@lexicon-legal\\.example: written to the drill outbox ${stack.drillOutbox} as .+\\.eml, not sent$`)),
    });
    // A broken fallback does not stop the incident, so it does not stop the drill; the drill still fails.
    expect(step(failed, 'closed')).toMatchObject({ outcome: 'ok' });
    expect(failed.state).toBe('failed');
    expect(failed.failure).toBe(`fallback on: Lexicon Legal (contract drafting): ${reason} (and 1 more failed step)`);
    const timeline = await stack.db.selectFrom('timeline_events').select(['kind', 'data']).where('incident_id', '=', failed.incidentId!).execute();
    expect(timeline.filter((e) => e.kind === 'fallback.failed').map((e) => e.data.error)).toContain(reason);
  }, 180_000);

  it("switches a consumer's fallback at its real endpoint, marked as a drill, where the runbook says it agreed", async () => {
    const done = await drill('clinical-triage');
    expect(done.failure).toBeUndefined();
    expect(done.state).toBe('completed');
    expect(step(done, 'fallback on: ED self check-in kiosks (pre-triage questionnaire)')).toMatchObject({
      outcome: 'ok',
      detail: `webhook: signed request to ${kiosks.url} (marked as a drill), read back on`,
    });
    expect(step(done, 'fallback off: ED self check-in kiosks (pre-triage questionnaire)')!.detail).toBe(
      `webhook: signed request to ${kiosks.url} (marked as a drill), read back off`,
    );
    const posts = kiosks.requests.filter((r) => r.method === 'POST');
    expect(posts.map((r) => [r.body!.action, r.body!.drill, r.drill])).toEqual([
      ['activate', true, 'true'],
      ['deactivate', true, 'true'],
    ]);
    expect(kiosks.requests.filter((r) => r.method === 'GET').every((r) => r.drill === 'true')).toBe(true);
    expect(done.touched).toBe(
      `no enforcer (the dry-run enforcer stood in); fallbacks switched at their drill targets, as each fallback step says; mail written to the drill outbox ${stack.drillOutbox}, not sent; no regulator clock started`,
    );
  }, 180_000);

  it('fails the fallback step when the real endpoint refuses, with what it answered', async () => {
    kiosks.refusing = true;
    const refused = await drill('clinical-triage');
    kiosks.refusing = false;
    expect(refused.state).toBe('failed');
    expect(step(refused, 'fallback on: ED self check-in kiosks (pre-triage questionnaire)')).toMatchObject({
      outcome: 'failed',
      reason: `fallback activate for check-in-kiosks: ${kiosks.url} (marked as a drill) answered 401: the signature does not verify with our secret`,
    });
  }, 180_000);
});
