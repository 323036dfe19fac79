import createClient from 'openapi-fetch';
import { describe, expect, it } from 'vitest';
import type { paths } from '../support/openapi.js';
import { useIncidentStack } from '../support/stack.js';

/**
 * A client generated from the published document (openapi-typescript types, openapi-fetch calls), as
 * an integrator would build one: `npm run typecheck` checks these calls against the contract, and the
 * assertions check the server answers as the contract says. A route whose documented body or status
 * drifted from what it answers fails here or in type checking.
 */
describe('a client generated from the OpenAPI document', () => {
  const stack = useIncidentStack({ api: true });

  const client = async (owner: string, roles: Parameters<typeof stack.api.token>[1]) =>
    createClient<paths>({ baseUrl: stack.api.url, headers: { authorization: `Bearer ${await stack.api.token(owner, roles)}` } });

  it('triggers, reads, acknowledges and lists an incident with typed bodies', async () => {
    const api = await client('jonas-berg', ['responder']);
    const triggered = await api.POST('/v1/incidents', {
      body: { systemId: 'frontier-assistant', title: 'Jailbreak prompts leak the system prompt', severity: 'SEV2', dedupKey: 'generated-client-1' },
    });
    expect(triggered.response.status).toBe(202);
    const incidentId = triggered.data!.incidentId;
    expect(triggered.data!.joined).toBe(false);

    const read = await api.GET('/v1/incidents/{id}', { params: { path: { id: incidentId } } });
    expect(read.data?.title).toBe('Jailbreak prompts leak the system prompt');
    expect(read.data?.state).toBe('triggered');

    const acknowledged = await api.POST('/v1/incidents/{id}/acknowledge', { params: { path: { id: incidentId } }, body: { reason: 'on it' } });
    expect(acknowledged.data?.commander).toBe('jonas-berg');
    expect(acknowledged.data?.state).toBe('acknowledged');

    const listed = await api.GET('/v1/incidents', { params: { query: { systemId: 'frontier-assistant', state: ['acknowledged'] } } });
    expect(listed.data?.items.map((incident) => incident.id)).toContain(incidentId);
  });

  it('reads a refusal as the documented problem', async () => {
    const api = await client('jonas-berg', ['responder']);
    const refused = await api.POST('/v1/incidents', { body: { systemId: 'Not A System', title: '', severity: 'SEV2' } });
    expect(refused.response.status).toBe(400);
    expect(refused.response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    // Typed from components.schemas.Problem: the field paths an integrator shows next to the inputs.
    expect(refused.error?.errors?.map((error) => error.path).sort()).toEqual(['body.systemId', 'body.title']);

    const forbidden = await (
      await client('hannah-vogel', ['compliance'])
    ).POST('/v1/incidents/{id}/acknowledge', {
      params: { path: { id: '00000000-0000-4000-8000-000000000000' } },
    });
    expect(forbidden.response.status).toBe(403);
    expect(forbidden.error?.title).toBe('Forbidden');
  });
});
