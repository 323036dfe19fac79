import type { OpenAPIV3_1 } from 'openapi-types';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { apiDocument } from '../../services/http/document.js';
import { eventually } from '../support/database.js';
import { useIncidentStack } from '../support/stack.js';

const proposal = {
  kind: 'rate_limit',
  scope: { tiers: ['free'] },
  parameters: { requestsPerMinute: 10, per: 'user' },
  reason: 'jailbreak traffic from the free tier',
};

/**
 * The correction, policy, report and task operations as the document states them, checked against what
 * the running API answers: each answer is read with the schema documented for its status (not only the
 * strict serializer's zod schema, which every API test runs), and a request is valid in the document
 * exactly when the handler accepts it.
 */
describe('the documented contract of corrections, the policy, regulator reports and tasks', () => {
  // Approved reports are sent: to a mail server of the test's own.
  const stack = useIncidentStack({ api: true, mailSink: true });
  let document: OpenAPIV3_1.Document;
  let jonas: string;
  let jonasApproving: string;
  let sofia: string;
  let incidentId: string;

  beforeAll(async () => {
    document = await apiDocument();
    jonas = await stack.api.token('jonas-berg', ['responder']);
    // The incident commander also holds an approver token: the runbook, not the token, refuses his vote.
    jonasApproving = await stack.api.token('jonas-berg', ['approver']);
    sofia = await stack.api.token('sofia-marquez', ['approver']);
    const triggered = await stack.api.call('POST', '/v1/incidents', {
      token: jonas,
      body: { systemId: 'frontier-assistant', title: 'Jailbreak rate above 2%', severity: 'SEV2', dedupKey: 'correction-contract' },
    });
    expect(triggered.status).toBe(202);
    incidentId = triggered.body.incidentId;
    await eventually(async () => ((await stack.api.call('GET', `/v1/incidents/${incidentId}`, { token: jonas })).status === 200 ? true : undefined));
    expect((await stack.api.call('POST', `/v1/incidents/${incidentId}/acknowledge`, { token: jonas, body: {} })).status).toBe(200);
  });

  const operation = (operationId: string) => {
    for (const item of Object.values(document.paths ?? {}))
      for (const op of Object.values(item ?? {})) if ((op as OpenAPIV3_1.OperationObject).operationId === operationId) return op as OpenAPIV3_1.OperationObject;
    throw new Error(`no operation ${operationId}`);
  };
  /** The documented response of an operation for a status, its media type and schema (a `$ref` resolved). */
  const documented = (operationId: string, status: number) => {
    const response = operation(operationId).responses?.[status] as OpenAPIV3_1.ResponseObject | undefined;
    if (!response) throw new Error(`${operationId} documents no ${status}`);
    const [mediaType, media] = Object.entries(response.content ?? {})[0] ?? [];
    let schema = media?.schema as OpenAPIV3_1.SchemaObject | OpenAPIV3_1.ReferenceObject | undefined;
    if (schema && '$ref' in schema) schema = document.components?.schemas?.[schema.$ref.split('/').pop()!];
    return { response, mediaType, schema: schema ? z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]) : undefined };
  };
  /** Whether an answer is what its operation documents for its status, content type and body alike. */
  const expectDocumented = (operationId: string, answer: { status: number; headers: Headers; body: unknown }) => {
    const { mediaType, schema } = documented(operationId, answer.status);
    if (!mediaType) return expect(answer.body, `${operationId} ${answer.status} documents no body`).toBeUndefined();
    expect(answer.headers.get('content-type')).toMatch(new RegExp(`^${mediaType.replace('+', '\\+')}`));
    const parsed = schema!.safeParse(answer.body);
    expect(parsed.success, `${operationId} ${answer.status}: ${parsed.error?.message}`).toBe(true);
  };

  it('answers a proposal 201 with the documented body, linked to reading, deciding and lifting the correction', async () => {
    const proposed = await stack.api.call('POST', `/v1/incidents/${incidentId}/corrections`, { token: jonas, body: proposal });
    expect(proposed.status).toBe(201);
    expectDocumented('proposeCorrection', proposed);
    const links = documented('proposeCorrection', 201).response.links ?? {};
    for (const operationId of ['getCorrection', 'decideCorrection', 'liftCorrection'])
      expect(Object.values(links)).toContainEqual({ operationId, parameters: { id: '$response.body#/correctionId' } });

    // Following the link: the correction, with its workflow's live approval state.
    const read = await stack.api.call('GET', `/v1/corrections/${proposed.body.correctionId}`, { token: jonas });
    expect(read.status).toBe(200);
    expectDocumented('getCorrection', read);
    expect(read.body).toMatchObject({ kind: 'rate_limit', parameters: { requestsPerMinute: 10, per: 'user' }, live: { state: 'proposed' } });
    expectDocumented('listCorrections', await stack.api.call('GET', `/v1/incidents/${incidentId}/corrections`, { token: jonas }));
  });

  it('answers a refused vote 409 problem+json, as decideCorrection documents it, and a counted one 200', async () => {
    expect(documented('decideCorrection', 409).mediaType).toBe('application/problem+json');
    const { correctionId } = (await stack.api.call('POST', `/v1/incidents/${incidentId}/corrections`, { token: jonas, body: proposal })).body;

    // Separation of duties: who proposed a correction does not decide on it.
    const refused = await stack.api.call('POST', `/v1/corrections/${correctionId}/decision`, {
      token: jonasApproving,
      body: { decision: 'approve', rationale: 'my own proposal' },
    });
    expect(refused.status).toBe(409);
    expectDocumented('decideCorrection', refused);
    expect(refused.body).toMatchObject({ title: 'Refused', status: 409 });
    expect(refused.body.detail).toContain('separation of duties');

    const rejected = await stack.api.call('POST', `/v1/corrections/${correctionId}/decision`, {
      token: sofia,
      body: { decision: 'reject', rationale: 'the free tier is not where the traffic comes from' },
    });
    expect(rejected.status).toBe(200);
    expectDocumented('decideCorrection', rejected);
    expect(rejected.body).toMatchObject({ id: correctionId, state: 'rejected', votes: [{ actor: 'sofia-marquez', decision: 'reject' }] });

    // Lifting what was never in force is refused the same way.
    const lift = await stack.api.call('POST', `/v1/corrections/${correctionId}/lift`, { token: sofia, body: { rationale: 'not needed' } });
    expect(lift.status).toBe(409);
    expectDocumented('liftCorrection', lift);
  });

  it('documents the proposal body exactly as strictly as the handler checks it', async () => {
    const body = operation('proposeCorrection').requestBody as OpenAPIV3_1.RequestBodyObject;
    const schema = z.fromJSONSchema(body.content['application/json']!.schema as Parameters<typeof z.fromJSONSchema>[0]);
    const cases: [string, Record<string, unknown>][] = [
      ['a valid proposal', proposal],
      // Each of these the handler refused while the document accepted it.
      ['a scope naming no segment', { ...proposal, scope: {} }],
      ['a reason of only spaces', { ...proposal, reason: '   \n ' }],
      ['a capability restriction that restricts nothing', { ...proposal, kind: 'capability_restriction', parameters: {} }],
      // And this one the handler refused while the document allowed it: 2000 characters, which in UTF-16 are 4000 units.
      ['a reason of 2000 astral characters', { ...proposal, reason: '🛑'.repeat(2000) }],
      ['a reason of 2001 characters', { ...proposal, reason: 'x'.repeat(2001) }],
      ['an unknown member', { ...proposal, urgent: true }],
    ];
    const verdicts = [];
    for (const [name, candidate] of cases) {
      const answer = await stack.api.call('POST', `/v1/incidents/${incidentId}/corrections`, { token: jonas, body: candidate });
      expect([201, 400], `${name}: ${JSON.stringify(answer.body)}`).toContain(answer.status);
      expectDocumented('proposeCorrection', answer);
      verdicts.push({ name, documentAccepts: schema.safeParse(candidate).success, handlerAccepts: answer.status === 201 });
    }
    expect(verdicts.filter((v) => v.documentAccepts !== v.handlerAccepts)).toEqual([]);
    expect(verdicts.filter((v) => v.handlerAccepts).map((v) => v.name)).toEqual(['a valid proposal', 'a reason of 2000 astral characters']);
  });

  it('documents the policy with its ETag, and the 304 that answers a current If-None-Match without a body', async () => {
    const gateway = await stack.api.token('gateway-eu-1', ['gateway']);
    const policy = await stack.api.call('GET', '/v1/policy/frontier-assistant', { token: gateway });
    expect(policy.status).toBe(200);
    expectDocumented('getPolicy', policy);
    const etag = policy.headers.get('etag');
    expect(etag).toBeTruthy();
    expect(documented('getPolicy', 200).response.headers).toHaveProperty('etag');

    const unchanged = await stack.api.call('GET', '/v1/policy/frontier-assistant', { token: gateway, headers: { 'if-none-match': etag! } });
    expect(unchanged.status).toBe(304);
    expectDocumented('getPolicy', unchanged);
    expect(operation('getPolicy').parameters).toContainEqual(expect.objectContaining({ in: 'header', name: 'if-none-match' }));

    const decision = await stack.api.call('POST', '/v1/decide', { token: gateway, body: { systemId: 'frontier-assistant', tier: 'free' } });
    expect(decision.status).toBe(200);
    expectDocumented('decideRequest', decision);
  });

  it("answers a classified incident's regulator reports, their approval and its refusal as documented", async () => {
    const hannah = await stack.api.token('hannah-vogel', ['compliance']);
    const triggered = await stack.api.call('POST', '/v1/incidents', {
      token: jonas,
      body: { systemId: 'frontier-assistant', title: 'Chat logs readable across tenants', severity: 'SEV3', dedupKey: 'correction-contract-reports' },
    });
    const breach: string = triggered.body.incidentId;
    await eventually(async () => ((await stack.api.call('GET', `/v1/incidents/${breach}`, { token: jonas })).status === 200 ? true : undefined));
    expect((await stack.api.call('POST', `/v1/incidents/${breach}/acknowledge`, { token: jonas, body: {} })).status).toBe(200);
    // GDPR Art. 33: a notification within 72 h of awareness, drafted as soon as the class is known.
    expect(
      (
        await stack.api.call('POST', `/v1/incidents/${breach}/classify`, {
          token: jonas,
          body: { classes: ['personal-data-breach'], reason: 'other tenants read the logs' },
        })
      ).status,
    ).toBe(200);
    const reports = await eventually(async () => {
      const answer = await stack.api.call('GET', `/v1/incidents/${breach}/reports`, { token: hannah });
      return answer.body.items?.length > 0 && answer.body.clocks?.length > 0 ? answer : undefined;
    });
    expectDocumented('listReports', reports);
    // The documented link: approve the first report by the id at /items/0/id.
    const reportId: string = reports.body.items[0].id;
    // The report and its fields as documented; approving needs the ones Correx cannot fill.
    const report = await stack.api.call('GET', `/v1/reports/${reportId}`, { token: hannah });
    expectDocumented('getReport', report);
    const incomplete = await stack.api.call('POST', `/v1/reports/${reportId}/approve`, { token: hannah, body: {} });
    expect(incomplete.status).toBe(409);
    expectDocumented('approveReport', incomplete);
    const unknown = await stack.api.call('POST', `/v1/reports/${reportId}/fields`, { token: hannah, body: { edits: { respnse: 'x' } } });
    expect(unknown.status).toBe(400);
    expectDocumented('editReport', unknown);
    const edited = await stack.api.call('POST', `/v1/reports/${reportId}/fields`, {
      token: hannah,
      body: { edits: Object.fromEntries((report.body.missing as string[]).map((field) => [field, `${field}: stated by compliance`])) },
    });
    expect(edited.status).toBe(200);
    expectDocumented('editReport', edited);
    const approved = await stack.api.call('POST', `/v1/reports/${reportId}/approve`, { token: hannah, body: {} });
    expect(approved.status).toBe(200);
    expectDocumented('approveReport', approved);
    expect(approved.body.clocks).toContainEqual(expect.objectContaining({ clockId: reports.body.items[0].clockId, state: 'approved' }));

    const again = await stack.api.call('POST', `/v1/reports/${reportId}/approve`, { token: hannah, body: {} });
    expect(again.status).toBe(409);
    expectDocumented('approveReport', again);
    expectDocumented('listNotifications', await stack.api.call('GET', `/v1/incidents/${breach}/notifications`, { token: hannah }));

    // Resolved, the incident has its review's tasks: listed, and acted on, each answer as documented.
    expect((await stack.api.call('POST', `/v1/incidents/${breach}/resolve`, { token: jonas, body: { reason: 'tenant isolation fixed' } })).status).toBe(200);
    const tasks = await eventually(async () => {
      const answer = await stack.api.call('GET', `/v1/tasks?incidentId=${breach}`, { token: jonas });
      return answer.body.items?.length === 4 ? answer : undefined;
    });
    expectDocumented('listTasks', tasks);
    const [first, second, third] = tasks.body.items as { id: string }[];
    const reassigned = await stack.api.call('POST', `/v1/tasks/${first!.id}/reassign`, { token: jonas, body: { to: 'li-wei' } });
    expect(reassigned.status).toBe(200);
    expectDocumented('reassignTask', reassigned);
    expect(reassigned.body).toMatchObject({ id: first!.id, owner: 'li-wei', state: 'open' });
    // No body at all: the note is optional.
    const done = await stack.api.call('POST', `/v1/tasks/${second!.id}/done`, { token: jonas });
    expect(done.status).toBe(200);
    expectDocumented('markTaskDone', done);
    const dropped = await stack.api.call('POST', `/v1/tasks/${third!.id}/not-doing`, { token: jonas, body: { reason: 'covered by the isolation fix' } });
    expect(dropped.status).toBe(200);
    expectDocumented('markTaskNotDoing', dropped);
    expect(dropped.body).toMatchObject({ state: 'not-doing', note: 'covered by the isolation fix' });
    const refused = await stack.api.call('POST', `/v1/tasks/${third!.id}/done`, { token: jonas, body: { note: 'after all' } });
    expect(refused.status).toBe(409);
    expectDocumented('markTaskDone', refused);
  });

  it('links report and task lists to acting on their first item, by a JSON pointer into the body', () => {
    const links = (operationId: string) => Object.values(documented(operationId, 200).response.links ?? {}) as OpenAPIV3_1.LinkObject[];
    expect(links('listReports')).toContainEqual({ operationId: 'approveReport', parameters: { id: '$response.body#/items/0/id' } });
    for (const operationId of ['markTaskDone', 'reassignTask', 'markTaskNotDoing'])
      expect(links('listTasks')).toContainEqual({ operationId, parameters: { id: '$response.body#/items/0/id' } });
  });
});
