import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import type { IncidentClient } from '../../services/incident/client.js';
import { workflowClients, type WorkflowClients } from '../../services/temporal/clients.js';
import { listTimeline } from '../../services/timeline/repository.js';
import { freePorts, startCorrex, type LongRunningCorrex } from '../support/cli.js';
import { ControlEndpoint } from '../support/control-endpoint.js';
import { testNamespace } from '../support/temporal.js';
import { createPostgresTestDatabase, eventually, type TestDatabase } from '../support/database.js';
import { recordRunbook, routeFallbacksTo, shippedRunbook } from '../support/runbooks.js';

const secret = 'crash-test-secret-0123456789';

describe('a worker killed while a correction is being applied', () => {
  let database: TestDatabase;
  let endpoint: ControlEndpoint;
  let connection: Connection;
  let incidents: IncidentClient;
  let corrections: WorkflowClients['corrections'];
  let runbookVersion: string;
  let dataDir: string;
  const taskQueue = `crash-${randomUUID()}`;
  const workers: LongRunningCorrex[] = [];

  beforeAll(async () => {
    database = await createPostgresTestDatabase();
    endpoint = await new ControlEndpoint(secret).start();
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'correx-crash-'));
    const runbook = await shippedRunbook('frontier-assistant');
    runbook.system.enforcement = { adapter: 'webhook', url: endpoint.url, secretEnv: 'CORREX_TEST_WEBHOOK_SECRET' };
    routeFallbacksTo(runbook, endpoint.url, 'CORREX_TEST_WEBHOOK_SECRET');
    runbookVersion = await recordRunbook(database.db, runbook);
    connection = await Connection.connect({ address: inject('temporalAddress') });
    ({ incidents, corrections } = workflowClients(new Client({ connection, namespace: await testNamespace() }), taskQueue));
  });
  afterAll(async () => {
    for (const w of workers) await w.stop('SIGKILL');
    await connection?.close();
    await endpoint?.stop();
    await database?.destroy();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function startWorker(): Promise<LongRunningCorrex> {
    const worker = startCorrex(['worker'], {
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: await testNamespace(),
      CORREX_WORKER_HEALTH_PORT: String((await freePorts(1))[0]),
      TEMPORAL_TASK_QUEUE: taskQueue,
      DATABASE_URL: database.location,
      CORREX_DATA_DIR: dataDir,
      CORREX_TEST_WEBHOOK_SECRET: secret,
      LOG_LEVEL: 'warn',
    });
    workers.push(worker);
    await worker.waitFor(/correx worker: polling/);
    return worker;
  }

  it('completes on a new worker, the listener applies it exactly once, and the timeline has no gap or duplicate', async () => {
    const first = await startWorker();
    const now = () => new Date().toISOString();
    const incident = await incidents.trigger({ systemId: 'frontier-assistant', title: 'Worker crash drill', severity: 'SEV2', dedupKey: 'crash' }, 'amara-okafor', { runbookVersion });
    await incidents.acknowledge(incident.workflowId, { actor: 'amara-okafor', at: now() });
    const proposal = await incidents.propose(incident.workflowId, {
      actor: 'amara-okafor',
      at: now(),
      kind: 'rate_limit',
      scope: { tiers: ['free'] },
      parameters: { requestsPerMinute: 10, per: 'user' },
      reason: 'Crash drill',
    });
    const applyArrived = endpoint.holdNextApply();
    await corrections.decide(proposal.workflowId, { actor: 'sofia-marquez', at: now(), decision: 'approve', rationale: 'Go' });

    await applyArrived;
    await first.stop('SIGKILL');
    endpoint.release();

    const second = await startWorker();
    await eventually(async () => ((await corrections.state(proposal.workflowId)).state === 'active' ? true : undefined), 90_000);

    const applyKey = `${proposal.correctionId}:apply`;
    expect(endpoint.applied.filter((key) => key === applyKey)).toHaveLength(1);
    // The activity really ran again on the new worker, with the same idempotency key.
    expect(endpoint.requests.filter((r) => r.idempotencyKey === applyKey).length).toBeGreaterThanOrEqual(2);

    const timeline = await listTimeline(database.db, incident.incidentId);
    expect(timeline.map((e) => e.seq)).toEqual(timeline.map((_, i) => i + 1));
    expect(new Set(timeline.map((e) => e.idempotency_key)).size).toBe(timeline.length);
    for (const kind of ['incident.opened', 'incident.acknowledged', 'correction.proposed', 'correction.approved', 'correction.applied', 'correction.verified']) {
      expect(timeline.filter((e) => e.kind === kind), kind).toHaveLength(1);
    }
    expect(await second.stop('SIGTERM')).toBe(0);
  });
});
