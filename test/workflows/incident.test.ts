import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActionRefused } from '../../services/errors.js';
import type { IncidentClient } from '../../services/incident/client.js';
import { workflowClients } from '../../services/temporal/clients.js';
import { findIncident } from '../../services/incident/repository.js';
import { listTimeline } from '../../services/timeline/repository.js';
import { createPostgresTestDatabase, eventually, type TestDatabase } from '../support/database.js';
import { recordRunbook, shippedRunbook } from '../support/runbooks.js';
import { startDevServerWorker, type RunningWorker } from '../support/temporal.js';

describe('incident workflow on the Temporal dev server with PostgreSQL', () => {
  let database: TestDatabase;
  let worker: RunningWorker;
  let incidents: IncidentClient;
  let runbookVersion: string;

  beforeAll(async () => {
    database = await createPostgresTestDatabase();
    worker = await startDevServerWorker(database.db);
    ({ incidents } = workflowClients(worker.client, worker.taskQueue));
    runbookVersion = await recordRunbook(database.db, await shippedRunbook('frontier-assistant'));
  });
  afterAll(async () => {
    await worker?.stop();
    await database?.destroy();
  });

  const at = () => new Date().toISOString();

  it('writes the incident row and its incident.opened event through an activity', async () => {
    const outcome = await incidents.trigger(
      { systemId: 'frontier-assistant', title: 'Jailbreak success rate above 2%', severity: 'SEV2', dedupKey: 'jailbreak-rate' },
      'amara-okafor',
      { runbookVersion, now: new Date('2026-11-22T10:00:00.000Z') },
    );
    expect(outcome).toMatchObject({ workflowId: 'incident:frontier-assistant:jailbreak-rate', joined: false });

    const row = await eventually(() => findIncident(database.db, outcome.incidentId));
    expect(row).toMatchObject({
      system_id: 'frontier-assistant',
      severity: 'SEV2',
      state: 'triggered',
      opened_by: 'amara-okafor',
      workflow_id: outcome.workflowId,
      runbook_version: runbookVersion,
    });
    expect(row.opened_at.toISOString()).toBe('2026-11-22T10:00:00.000Z');

    const timeline = await eventually(async () => {
      const events = await listTimeline(database.db, outcome.incidentId);
      return events.length >= 1 ? events : undefined;
    });
    expect(timeline[0]).toMatchObject({ seq: 1, kind: 'incident.opened', actor: 'amara-okafor' });
    expect(timeline[0]!.data).toMatchObject({ title: 'Jailbreak success rate above 2%', dedupKey: 'jailbreak-rate' });
  });

  it('joins the open incident when the same system and dedup key trigger again, also 50 at once', async () => {
    const trigger = { systemId: 'frontier-assistant', title: 'Toxic output spike', severity: 'SEV3', dedupKey: 'toxicity' };
    const first = await incidents.trigger(trigger, 'amara-okafor', { runbookVersion });
    const again = await Promise.all(Array.from({ length: 50 }, () => incidents.trigger(trigger, 'jonas-berg', { runbookVersion })));
    expect(new Set(again.map((o) => o.incidentId))).toEqual(new Set([first.incidentId]));
    expect(again.every((o) => o.joined)).toBe(true);
    expect((await incidents.state(first.workflowId)).joinedTriggers).toBe(50);

    await eventually(() => findIncident(database.db, first.incidentId));
    const rows = await database.db.selectFrom('incidents').selectAll().where('dedup_key', '=', 'toxicity').execute();
    expect(rows).toHaveLength(1);
  });

  it('moves through its states with who and when on the timeline, and the next trigger opens a new incident', async () => {
    const trigger = { systemId: 'frontier-assistant', title: 'PII in outputs', severity: 'SEV2', dedupKey: 'pii' };
    const first = await incidents.trigger(trigger, 'amara-okafor', { runbookVersion });
    await expect(incidents.resolve(first.workflowId, { actor: 'jonas-berg', at: at() })).rejects.toThrow(/acknowledge the incident before resolving it/);
    await expect(incidents.acknowledge(first.workflowId, { actor: 'mallory', at: at() })).rejects.toThrow(ActionRefused);
    const acknowledged = await incidents.acknowledge(first.workflowId, { actor: 'jonas-berg', at: at() });
    expect(acknowledged).toMatchObject({ state: 'acknowledged', commander: 'jonas-berg' });
    await expect(incidents.acknowledge(first.workflowId, { actor: 'amara-okafor', at: at() })).rejects.toThrow('incident is already acknowledged (commander: jonas-berg)');
    await incidents.resolve(first.workflowId, { actor: 'jonas-berg', at: at(), reason: 'false positive' });
    await incidents.close(first.workflowId, { actor: 'jonas-berg', at: at(), reason: 'reviewed' });
    const closed = await worker.client.workflow.getHandle(first.workflowId).result();
    expect(closed.state).toBe('closed');

    const kinds = (await listTimeline(database.db, first.incidentId)).filter((e) => e.kind.startsWith('incident.')).map((e) => [e.kind, e.actor]);
    expect(kinds).toEqual([
      ['incident.opened', 'amara-okafor'],
      ['incident.acknowledged', 'jonas-berg'],
      ['incident.resolved', 'jonas-berg'],
      ['incident.closed', 'jonas-berg'],
    ]);
    const row = await findIncident(database.db, first.incidentId);
    expect(row).toMatchObject({ state: 'closed', commander: 'jonas-berg' });
    expect(row?.acknowledged_at).toBeInstanceOf(Date);

    const next = await incidents.trigger(trigger, 'amara-okafor', { runbookVersion });
    expect(next.joined).toBe(false);
    expect(next.incidentId).not.toBe(first.incidentId);
  });
});
