import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IncidentClient } from '../../services/incident/client.js';
import { MonitorClient } from '../../services/monitoring/client.js';
import { RunbookCatalogue } from '../../services/runbook/catalogue.js';
import { listTimeline } from '../../services/timeline/repository.js';
import { createPostgresTestDatabase, eventually, type TestDatabase } from '../support/database.js';
import { recordRunbook, shippedRunbook } from '../support/runbooks.js';
import { startTimeSkippingWorker, type RunningWorker } from '../support/temporal.js';

const MINUTE = 60_000;

describe('monitoring the monitor: heartbeats (time-skipping server)', () => {
  let database: TestDatabase;
  let worker: RunningWorker & { environment: { sleep(ms: number): Promise<void>; currentTimeMs(): Promise<number> } };
  let dir: string;
  let monitor: MonitorClient;
  let incidents: IncidentClient;

  beforeAll(async () => {
    database = await createPostgresTestDatabase();
    worker = await startTimeSkippingWorker(database.db);
    dir = await mkdtemp(path.join(os.tmpdir(), 'correx-heartbeat-'));
    const runbook = await shippedRunbook('clinical-triage');
    runbook.monitoring = { heartbeat: { interval: '5m', severity: 'SEV2' } };
    await recordRunbook(database.db, runbook);
    monitor = new MonitorClient({ db: database.db, client: worker.client, taskQueue: worker.taskQueue, runbooks: new RunbookCatalogue(dir, database.db) });
    incidents = new IncidentClient(worker.client, worker.taskQueue);
  });
  afterAll(async () => {
    await worker?.stop();
    await database?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  const heartbeat = async () => monitor.submit({ systemId: 'clinical-triage', source: 'heartbeat', at: new Date(await worker.environment.currentTimeMs()).toISOString() });
  const blind = () => database.db.selectFrom('incidents').selectAll().where('system_id', '=', 'clinical-triage').where('title', 'like', 'Monitoring blind%').execute();

  it('opens a "monitoring blind" incident when heartbeats stop, and resolves it when they resume', async () => {
    await heartbeat();
    await worker.environment.sleep(3 * MINUTE);
    await heartbeat();
    await worker.environment.sleep(3 * MINUTE);
    expect(await blind()).toHaveLength(0); // never 5 minutes without one so far

    await worker.environment.sleep(4 * MINUTE);
    const [incident] = await eventually(async () => {
      const rows = await blind();
      return rows.length === 1 ? rows : undefined;
    });
    expect(incident).toMatchObject({ severity: 'SEV2', opened_by: 'system:monitor', title: 'Monitoring blind: no heartbeat from clinical-triage for 5 minutes' });

    await worker.environment.sleep(30 * MINUTE);
    expect(await blind()).toHaveLength(1); // one blind incident, not one per interval

    await heartbeat();
    await eventually(async () => ((await incidents.state(incident!.workflow_id)).state === 'resolved' ? true : undefined));
    const resolved = (await listTimeline(database.db, incident!.id)).find((e) => e.kind === 'incident.resolved');
    expect(resolved).toMatchObject({ actor: 'system:monitor', data: { reason: 'heartbeats resumed' } });
  });
});
