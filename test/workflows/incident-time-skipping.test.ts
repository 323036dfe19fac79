import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IncidentClient } from '../../services/incident/client.js';
import { findIncident } from '../../services/incident/repository.js';
import { listTimeline } from '../../services/timeline/repository.js';
import { createPostgresTestDatabase, eventually, type TestDatabase } from '../support/database.js';
import { recordRunbook, shippedRunbook } from '../support/runbooks.js';
import { startTimeSkippingWorker, type RunningWorker } from '../support/temporal.js';

describe('incident workflow on the time-skipping test server', () => {
  let database: TestDatabase;
  let worker: RunningWorker & { environment: { sleep(ms: number): Promise<void>; currentTimeMs(): Promise<number> } };

  beforeAll(async () => {
    database = await createPostgresTestDatabase();
    worker = await startTimeSkippingWorker(database.db);
  });
  afterAll(async () => {
    await worker?.stop();
    await database?.destroy();
  });

  it('writes the incident row and its incident.opened event, and survives skipped days', async () => {
    const runbookVersion = await recordRunbook(database.db, await shippedRunbook('clinical-triage'));
    const incidents = new IncidentClient(worker.client, worker.taskQueue);
    const outcome = await incidents.trigger({ systemId: 'clinical-triage', title: 'Under-triage of chest pain', severity: 'SEV1', dedupKey: 'under-triage' }, 'system:test', { runbookVersion });

    const row = await eventually(() => findIncident(database.db, outcome.incidentId));
    expect(row).toMatchObject({ system_id: 'clinical-triage', severity: 'SEV1', state: 'triggered', runbook_version: runbookVersion });
    expect((await listTimeline(database.db, outcome.incidentId))[0]?.kind).toBe('incident.opened');

    const before = await worker.environment.currentTimeMs();
    await worker.environment.sleep(3 * 24 * 3600 * 1000);
    expect((await worker.environment.currentTimeMs()) - before).toBeGreaterThanOrEqual(3 * 24 * 3600 * 1000);
    expect((await incidents.state(outcome.workflowId)).state).toBe('triggered');
    // Nobody acknowledged for three days: the escalation went through every level and round, then gave up, on the record.
    const kinds = (await listTimeline(database.db, outcome.incidentId)).map((e) => e.kind);
    expect(kinds).toContain('escalation.exhausted');
    expect(kinds.filter((k) => k === 'page.sent').length).toBeGreaterThan(1);
  });
});
