import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { listTimeline } from '../../services/timeline/repository.js';
import { freePorts, startCorrex, type LongRunningCorrex } from '../support/cli.js';
import { eventually } from '../support/database.js';
import { useIncidentStack, webhookSecretEnv } from '../support/stack.js';
import { testNamespace } from '../support/temporal.js';

const secret = 'crash-test-secret-0123456789';

describe('a worker killed while a correction is being applied', () => {
  // The workers are `correx worker` processes of the test's own; the stack has none in this process.
  const stack = useIncidentStack({
    temporal: 'none',
    controlEndpoint: { secret },
    runbooks: { 'frontier-assistant': { from: 'frontier-assistant', adjust: (runbook) => stack.routeToEndpoint(runbook, { enforcement: true }) } },
  });
  let dataDir: string;
  const workers: LongRunningCorrex[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'correx-crash-'));
  });
  afterAll(async () => {
    for (const w of workers) await w.stop('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  async function startWorker(): Promise<LongRunningCorrex> {
    const worker = startCorrex(['worker'], {
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: await testNamespace(),
      CORREX_WORKER_HEALTH_PORT: String((await freePorts(1))[0]),
      TEMPORAL_TASK_QUEUE: stack.taskQueue,
      DATABASE_URL: stack.database.location,
      CORREX_DATA_DIR: dataDir,
      [webhookSecretEnv]: secret,
      LOG_LEVEL: 'warn',
    });
    workers.push(worker);
    await worker.waitFor(/correx worker: polling/);
    return worker;
  }

  it('completes on a new worker, the listener applies it exactly once, and the timeline has no gap or duplicate', async () => {
    const first = await startWorker();
    const now = () => new Date().toISOString();
    const incident = await stack.clients.incidents.trigger(
      { systemId: 'frontier-assistant', title: 'Worker crash drill', severity: 'SEV2', dedupKey: 'crash' },
      'amara-okafor',
      { runbookVersion: stack.runbookVersion() },
    );
    await stack.clients.incidents.acknowledge(incident.workflowId, { actor: 'amara-okafor', at: now() });
    const proposal = await stack.clients.incidents.propose(incident.workflowId, {
      actor: 'amara-okafor',
      at: now(),
      kind: 'rate_limit',
      scope: { tiers: ['free'] },
      parameters: { requestsPerMinute: 10, per: 'user' },
      reason: 'Crash drill',
    });
    const applyArrived = stack.endpoint.holdNextApply();
    await stack.clients.corrections.decide(proposal.workflowId, { actor: 'sofia-marquez', at: now(), decision: 'approve', rationale: 'Go' });

    await applyArrived;
    await first.stop('SIGKILL');
    stack.endpoint.release();

    const second = await startWorker();
    await eventually(async () => ((await stack.clients.corrections.state(proposal.workflowId)).state === 'active' ? true : undefined), 90_000);

    const applyKey = `${proposal.correctionId}:apply`;
    expect(stack.endpoint.applied.filter((key) => key === applyKey)).toHaveLength(1);
    // The activity really ran again on the new worker, with the same idempotency key.
    expect(stack.endpoint.requests.filter((r) => r.idempotencyKey === applyKey).length).toBeGreaterThanOrEqual(2);

    const timeline = await listTimeline(stack.db, incident.incidentId);
    expect(timeline.map((e) => e.seq)).toEqual(timeline.map((_, i) => i + 1));
    expect(new Set(timeline.map((e) => e.idempotency_key)).size).toBe(timeline.length);
    for (const kind of [
      'incident.opened',
      'incident.acknowledged',
      'correction.proposed',
      'correction.approved',
      'correction.applied',
      'correction.verified',
    ]) {
      expect(
        timeline.filter((e) => e.kind === kind),
        kind,
      ).toHaveLength(1);
    }
    expect(await second.stop('SIGTERM')).toBe(0);
  });
});
