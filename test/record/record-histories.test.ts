import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { resolveTemporalBinaries } from '../../services/temporal/binaries.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type RunningApi } from '../support/api.js';
import { createPostgresTestDatabase, eventually, type TestDatabase } from '../support/database.js';
import { projectRoot } from '../support/environment.js';
import { startDevServerWorker, testNamespace, type RunningWorker } from '../support/temporal.js';
import { inject } from 'vitest';

const run = promisify(execFile);

/**
 * Not part of `npm test`: `npm run histories:record` runs this to refresh the histories the replay
 * test (test/workflows/replay.test.ts) checks every workflow change against. Refresh them when a
 * release goes out, after the change is guarded with `patched()`, never to make a replay pass.
 */
describe('recording one history of every workflow type', () => {
  let database: TestDatabase;
  let worker: RunningWorker;
  let api: RunningApi;

  beforeAll(async () => {
    database = await createPostgresTestDatabase();
    worker = await startDevServerWorker(database.db);
    api = await startApi(database.db, worker);
  });
  afterAll(async () => {
    await api?.close();
    await worker?.stop();
    await database?.destroy();
  });

  it('drives a drill, a classified incident and a monitor, and writes their histories', async () => {
    const lead = await api.token('amara-okafor', ['responder']);
    // A drill acts only as people a real incident would admit: the rate limit's approver needs a token that may decide.
    await api.token('sofia-marquez', ['approver']);
    // A drill covers the incident (its escalation runs in it), a correction, the after-action review and the drill itself.
    const drill = await api.call('POST', '/v1/drills', { token: lead, body: { systemId: 'frontier-assistant' } });
    expect(drill.status).toBe(202);
    await eventually(
      async () => ((await api.call('GET', `/v1/drills/${drill.body.drillId}`, { token: lead })).body.state === 'completed' ? true : undefined),
      120_000,
    );
    // A classified incident starts regulator clocks.
    const opened = await api.call('POST', '/v1/incidents', {
      token: lead,
      body: { systemId: 'frontier-assistant', title: 'Recorded incident', severity: 'SEV2' },
    });
    await api.call('POST', `/v1/incidents/${opened.body.incidentId}/acknowledge`, { token: lead });
    await api.call('POST', `/v1/incidents/${opened.body.incidentId}/classify`, {
      token: lead,
      body: { classes: ['serious-harm-to-health'], reason: 'recorded' },
    });
    await eventually(async () =>
      (await api.call('GET', `/v1/incidents/${opened.body.incidentId}/reports`, { token: lead })).body.clocks.length > 0 ? true : undefined,
    );
    // A monitor with signals.
    for (const n of [1, 2])
      await api.call('POST', '/v1/signals', { token: lead, body: { systemId: 'frontier-assistant', source: 'native', labels: { probe: String(n) } } });
    await new Promise((resolve) => setTimeout(resolve, 2000));

    const written: string[] = [];
    for await (const execution of worker.client.workflow.list()) {
      if (written.includes(execution.type)) continue;
      // The CLI's JSON is the form Temporal documents for replay (`historyFromJSON` reads it).
      const { stdout } = await run(
        resolveTemporalBinaries().cli,
        [
          'workflow',
          'show',
          '--workflow-id',
          execution.workflowId,
          '--run-id',
          execution.runId,
          '--namespace',
          await testNamespace(),
          '--address',
          inject('temporalAddress'),
          '--output',
          'json',
        ],
        { maxBuffer: 64 * 1024 * 1024 },
      );
      await writeFile(
        path.join(projectRoot, 'test/fixtures/histories', `${execution.type}.json`),
        `${JSON.stringify({ workflowId: execution.workflowId, history: JSON.parse(stdout) })}\n`,
      );
      written.push(execution.type);
    }
    expect(written.sort()).toEqual([
      'afterActionReviewWorkflow',
      'correctionWorkflow',
      'drillWorkflow',
      'incidentWorkflow',
      'monitorWorkflow',
      'regulatoryClockWorkflow',
    ]);
  }, 180_000);
});
