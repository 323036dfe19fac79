import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IncidentClient } from '../../services/incident/client.js';
import { findIncident } from '../../services/incident/repository.js';
import { listTimeline } from '../../services/timeline/repository.js';
import { createPostgresTestDatabase, eventually, type TestDatabase } from '../support/database.js';
import { startDevServerWorker, type RunningWorker } from '../support/temporal.js';

describe('incident workflow on the Temporal dev server with PostgreSQL', () => {
  let database: TestDatabase;
  let worker: RunningWorker;
  let incidents: IncidentClient;

  beforeAll(async () => {
    database = await createPostgresTestDatabase();
    worker = await startDevServerWorker(database.db);
    incidents = new IncidentClient(worker.client, worker.taskQueue);
  });
  afterAll(async () => {
    await worker?.stop();
    await database?.destroy();
  });

  it('writes the incident row and its incident.opened event through an activity', async () => {
    const outcome = await incidents.trigger(
      { systemId: 'assistant-prod', title: 'Jailbreak success rate above 2%', severity: 'SEV2', dedupKey: 'jailbreak-rate' },
      'alice',
      { runbookVersion: 'sha256:0123', now: new Date('2026-11-22T10:00:00.000Z') },
    );
    expect(outcome).toMatchObject({ workflowId: 'incident:assistant-prod:jailbreak-rate', joined: false });

    const row = await eventually(() => findIncident(database.db, outcome.incidentId));
    expect(row).toMatchObject({
      system_id: 'assistant-prod',
      severity: 'SEV2',
      state: 'triggered',
      opened_by: 'alice',
      workflow_id: outcome.workflowId,
      runbook_version: 'sha256:0123',
    });
    expect(row.opened_at.toISOString()).toBe('2026-11-22T10:00:00.000Z');

    const timeline = await listTimeline(database.db, outcome.incidentId);
    expect(timeline).toHaveLength(1);
    expect(timeline[0]).toMatchObject({ seq: 1, kind: 'incident.opened', actor: 'alice' });
    expect(timeline[0]!.data).toMatchObject({ title: 'Jailbreak success rate above 2%', dedupKey: 'jailbreak-rate' });
  });

  it('joins the open incident when the same system and dedup key trigger again', async () => {
    const trigger = { systemId: 'assistant-prod', title: 'Toxic output spike', severity: 'SEV3', dedupKey: 'toxicity' };
    const first = await incidents.trigger(trigger, 'alice');
    const again = await Promise.all([incidents.trigger(trigger, 'bob'), incidents.trigger(trigger, 'carol')]);
    expect(again.map((o) => o.incidentId)).toEqual([first.incidentId, first.incidentId]);
    expect(again.every((o) => o.joined)).toBe(true);
    expect((await incidents.state(first.workflowId)).joinedTriggers).toBe(2);

    await eventually(() => findIncident(database.db, first.incidentId));
    const rows = await database.db.selectFrom('incidents').selectAll().where('dedup_key', '=', 'toxicity').execute();
    expect(rows).toHaveLength(1);
  });

  it('closes with a timeline event naming who closed it, and the next trigger opens a new incident', async () => {
    const trigger = { systemId: 'assistant-prod', title: 'PII leak', severity: 'SEV1', dedupKey: 'pii' };
    const first = await incidents.trigger(trigger, 'alice');
    await incidents.close(first.workflowId, { actor: 'dora', at: '2026-11-22T11:00:00.000Z', reason: 'false positive' });
    const closed = await worker.client.workflow.getHandle(first.workflowId).result();
    expect(closed.state).toBe('closed');

    const timeline = await listTimeline(database.db, first.incidentId);
    expect(timeline.map((e) => [e.seq, e.kind, e.actor])).toEqual([
      [1, 'incident.opened', 'alice'],
      [2, 'incident.closed', 'dora'],
    ]);
    expect((await findIncident(database.db, first.incidentId))?.state).toBe('closed');

    const next = await incidents.trigger(trigger, 'alice');
    expect(next.joined).toBe(false);
    expect(next.incidentId).not.toBe(first.incidentId);
  });
});
