import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/database.js';
import { useIncidentStack } from '../support/stack.js';

const proposal = {
  kind: 'rate_limit',
  scope: { tiers: ['free'] },
  parameters: { requestsPerMinute: 10, per: 'user' },
  reason: 'jailbreak traffic from the free tier',
};

// Fault-suite finding 3: a client that retried a proposal after a lost answer created a second correction.
describe('Idempotency-Key on POST /v1/incidents/:id/corrections', () => {
  const stack = useIncidentStack({ api: true });
  let jonas: string;
  let amara: string;
  let incidentId: string;

  beforeAll(async () => {
    jonas = await stack.api.token('jonas-berg', ['responder']);
    amara = await stack.api.token('amara-okafor', ['responder']);
    const triggered = await stack.api.call('POST', '/v1/incidents', {
      token: jonas,
      body: { systemId: 'frontier-assistant', title: 'Jailbreak rate above 2%', severity: 'SEV2', dedupKey: 'idempotency' },
    });
    expect(triggered.status).toBe(202);
    incidentId = triggered.body.incidentId;
    await eventually(async () => ((await stack.api.call('GET', `/v1/incidents/${incidentId}`, { token: jonas })).status === 200 ? true : undefined));
    expect((await stack.api.call('POST', `/v1/incidents/${incidentId}/acknowledge`, { token: jonas, body: {} })).status).toBe(200);
  });

  const propose = (token: string, key: string | undefined, body: unknown = proposal) =>
    stack.api.call('POST', `/v1/incidents/${incidentId}/corrections`, { token, body, ...(key ? { headers: { 'idempotency-key': key } } : {}) });
  const corrections = async () => (await stack.api.call('GET', `/v1/incidents/${incidentId}/corrections`, { token: jonas })).body.items as { id: string }[];

  it('answers a retry with the correction first proposed, and proposes nothing more', async () => {
    const before = (await corrections()).length;
    const key = randomUUID();
    const first = await propose(jonas, key);
    expect(first.status).toBe(201);
    const again = await propose(jonas, key);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotency-replayed')).toBe('true');
    expect((await corrections()).length).toBe(before + 1);
  });

  it('answers with the same correction when the first answer was lost after the proposal was made', async () => {
    const before = (await corrections()).length;
    const key = randomUUID();
    const first = await propose(jonas, key);
    expect(first.status).toBe(201);
    // As if the API had lost its answer (PostgreSQL gone, the process killed) after Temporal accepted the proposal.
    await stack.db.updateTable('idempotency_keys').set({ status: null, response: null, completed_at: null }).where('key', '=', key).execute();
    const retried = await propose(jonas, key);
    expect(retried.status).toBe(201);
    expect(retried.body.correctionId).toBe(first.body.correctionId);
    expect(retried.headers.get('idempotency-replayed')).toBeNull();
    expect((await corrections()).length).toBe(before + 1);
  });

  it('refuses the same key with a different request (422 problem+json), and keeps keys apart per token', async () => {
    const key = randomUUID();
    expect((await propose(jonas, key)).status).toBe(201);
    const different = await propose(jonas, key, { ...proposal, reason: 'something else' });
    expect(different.status).toBe(422);
    expect(different.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(different.body.detail).toMatch(new RegExp(`^Idempotency-Key ${key} was first used with a different request`));

    const before = (await corrections()).length;
    // Another token's key of the same value is its own.
    const other = await propose(amara, key);
    expect(other.status).toBe(201);
    expect((await corrections()).length).toBe(before + 1);
  });

  it('without a key, each request is an action of its own (as before)', async () => {
    const before = (await corrections()).length;
    expect((await propose(jonas, undefined)).status).toBe(201);
    expect((await propose(jonas, undefined)).status).toBe(201);
    expect((await corrections()).length).toBe(before + 2);
  });

  it('refuses a malformed key and documents the header in OpenAPI', async () => {
    expect((await propose(jonas, 'has spaces in it')).status).toBe(400);
    const document = (await stack.api.call('GET', '/openapi.json')).body;
    const parameters = document.paths['/v1/incidents/{id}/corrections'].post.parameters as {
      in: string;
      name: string;
      required?: boolean;
      description?: string;
    }[];
    expect(parameters).toContainEqual(
      expect.objectContaining({ in: 'header', name: 'idempotency-key', required: false, description: expect.stringContaining('same key') }),
    );
  });
});
