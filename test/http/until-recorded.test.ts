import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listCorrections } from '../../services/correction/repository.js';
import { NotRecordedYet, untilRecorded } from '../../services/http/app.js';
import { findIncident, listIncidents, recordIncidentOpened } from '../../services/incident/repository.js';
import { RunbookCatalogue } from '../../services/runbook/catalogue.js';
import { recordRunbookVersion } from '../../services/runbook/repository.js';
import { startApi, type RunningApi } from '../support/api.js';
import { createPostgresTestDatabase, eventually, type TestDatabase } from '../support/database.js';
import { startDevServerWorker, type RunningWorker } from '../support/temporal.js';

const uuid = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const proposal = {
  kind: 'rate_limit',
  scope: { tiers: ['free'] },
  parameters: { requestsPerMinute: 10, per: 'user' },
  reason: 'jailbreak traffic from the free tier',
};

/** The id a 503's detail names as accepted. */
function acceptedId(detail: string, what: 'incident' | 'correction'): string {
  const match = new RegExp(`^the ${what} (${uuid}) was accepted but is not recorded yet; `).exec(detail);
  if (!match) throw new Error(`the detail does not name the accepted ${what}: ${detail}`);
  return match[1]!;
}

describe('untilRecorded', () => {
  it('returns once the probe finds the row', async () => {
    let probes = 0;
    await untilRecorded(async () => ++probes >= 3, { accepted: 'the thing', retry: 'retry' }, 1000);
    expect(probes).toBe(3);
  });

  it('throws NotRecordedYet, saying what was accepted, when the row does not appear in time', async () => {
    const started = Date.now();
    const waiting = untilRecorded(async () => undefined, { accepted: 'the incident 42', retry: 'read it shortly' }, 100);
    await expect(waiting).rejects.toBeInstanceOf(NotRecordedYet);
    await expect(waiting).rejects.toThrow('the incident 42 was accepted but is not recorded yet; read it shortly');
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
  });
});

// A worker that records into one database and an API that reads another: whatever the workflows accept,
// the API never sees recorded, as when the workers are far behind. A trigger is answered by its workflow
// once recorded, so its own lag is a task queue that no worker polls yet (`absent`), as when the workers
// are down.
describe('a write accepted by its workflow but not recorded in time', () => {
  let recorded: TestDatabase;
  let elsewhere: TestDatabase;
  let worker: RunningWorker;
  let api: RunningApi;
  let lagging: RunningApi;
  let unserved: RunningApi;
  const absent = `until-recorded-absent-${randomUUID()}`;
  let late: RunningWorker | undefined;

  beforeAll(async () => {
    [recorded, elsewhere] = await Promise.all([createPostgresTestDatabase(), createPostgresTestDatabase()]);
    worker = await startDevServerWorker(recorded.db);
    api = await startApi(recorded.db, worker);
    lagging = await startApi(elsewhere.db, worker, { recordTimeoutMs: 300 });
    unserved = await startApi(recorded.db, { ...worker, taskQueue: absent }, { recordTimeoutMs: 300 });
    // The runbook version is where the worker reads it, as after any earlier incident of the system.
    await recordRunbookVersion(recorded.db, (await new RunbookCatalogue('runbooks').find('frontier-assistant'))!);
  });
  afterAll(async () => {
    await unserved?.close();
    await lagging?.close();
    await api?.close();
    await late?.stop();
    await worker?.stop();
    await Promise.all([recorded?.destroy(), elsewhere?.destroy()]);
  });

  const trigger = (target: RunningApi, token: string, dedupKey?: string) =>
    target.call('POST', '/v1/incidents', {
      token,
      body: { systemId: 'frontier-assistant', title: 'Jailbreak rate above 2%', severity: 'SEV2', ...(dedupKey ? { dedupKey } : {}) },
    });

  it('answers a trigger 503 problem+json with Retry-After, and sending it again joins the same incident', async () => {
    const jonas = await unserved.token('jonas-berg', ['responder']);
    const dedupKey = `until-recorded-${randomUUID()}`;

    const first = await trigger(unserved, jonas, dedupKey);
    expect(first.status).toBe(503);
    expect(first.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(first.headers.get('retry-after')).toBe('5');
    expect(first.body).toMatchObject({ type: 'about:blank', title: 'Not recorded yet', status: 503 });
    expect(first.body.detail).toContain(`sending the same trigger again is safe (it joins the open incident with dedupKey ${dedupKey})`);
    const incidentId = acceptedId(first.body.detail, 'incident');

    const again = await trigger(unserved, jonas, dedupKey);
    expect(again.status).toBe(503);
    expect(acceptedId(again.body.detail, 'incident')).toBe(incidentId);

    // It was accepted: once a worker polls, the workflow records it, and the same trigger answers 202 with it.
    late = await startDevServerWorker(recorded.db, { taskQueue: absent });
    await eventually(() => findIncident(recorded.db, incidentId));
    const seen = await trigger(unserved, jonas, dedupKey);
    expect(seen.status).toBe(202);
    expect(seen.body).toMatchObject({ incidentId, joined: true });
    const incidents = await listIncidents(recorded.db, { systemId: 'frontier-assistant', limit: 200 });
    expect(incidents.filter((i) => i.dedup_key === dedupKey).map((i) => i.id)).toEqual([incidentId]);
  });

  it('tells a trigger without a dedupKey to read the incident rather than send it again', async () => {
    const elsewhereQueue = await startApi(recorded.db, { ...worker, taskQueue: `until-recorded-nobody-${randomUUID()}` }, { recordTimeoutMs: 300 });
    try {
      const response = await trigger(elsewhereQueue, await elsewhereQueue.token('jonas-berg', ['responder']));
      expect(response.status).toBe(503);
      const incidentId = acceptedId(response.body.detail, 'incident');
      expect(response.body.detail).toContain(
        `read GET /v1/incidents/${incidentId} shortly (do not send the trigger again: without a dedupKey it would open another incident)`,
      );
    } finally {
      await elsewhereQueue.close();
    }
  });

  it('answers a proposal 503, and the same Idempotency-Key proposes nothing more', async () => {
    const jonas = await api.token('jonas-berg', ['responder']);
    const triggered = await trigger(api, jonas, `until-recorded-${randomUUID()}`);
    expect(triggered.status).toBe(202);
    const incidentId: string = triggered.body.incidentId;
    expect((await api.call('POST', `/v1/incidents/${incidentId}/acknowledge`, { token: jonas, body: {} })).status).toBe(200);
    // The lagging API knows the incident (so the route reaches its workflow), but not what the workflow records next.
    const incident = (await findIncident(recorded.db, incidentId))!;
    await recordIncidentOpened(elsewhere.db, {
      incidentId,
      workflowId: incident.workflow_id,
      systemId: incident.system_id,
      dedupKey: incident.dedup_key,
      title: incident.title,
      severity: incident.severity,
      summary: undefined,
      openedBy: incident.opened_by,
      openedAt: incident.opened_at.toISOString(),
      runbookVersion: incident.runbook_version!,
    });

    const lateJonas = await lagging.token('jonas-berg', ['responder']);
    const key = randomUUID();
    const propose = (headers: Record<string, string>) =>
      lagging.call('POST', `/v1/incidents/${incidentId}/corrections`, { token: lateJonas, body: proposal, headers });

    const first = await propose({ 'idempotency-key': key });
    expect(first.status).toBe(503);
    expect(first.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(first.headers.get('retry-after')).toBe('5');
    expect(first.body.detail).toContain('retrying this request with the same Idempotency-Key is safe (it answers with this correction)');
    const correctionId = acceptedId(first.body.detail, 'correction');
    await eventually(async () => ((await listCorrections(recorded.db, incidentId)).some((c) => c.id === correctionId) ? true : undefined));

    const again = await propose({ 'idempotency-key': key });
    expect(again.status).toBe(503);
    expect(acceptedId(again.body.detail, 'correction')).toBe(correctionId);
    expect((await listCorrections(recorded.db, incidentId)).map((c) => c.id)).toEqual([correctionId]);

    const unkeyed = await propose({});
    expect(unkeyed.status).toBe(503);
    expect(unkeyed.body.detail).toMatch(/do not propose again: without an Idempotency-Key that would propose a second correction\)$/);
  });
});
