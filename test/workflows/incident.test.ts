import { describe, expect, it } from 'vitest';
import { ActionRefused } from '../../services/errors.js';
import { findIncident } from '../../services/incident/repository.js';
import { listTimeline } from '../../services/timeline/repository.js';
import { eventually } from '../support/database.js';
import { useIncidentStack } from '../support/stack.js';

describe('incident workflow on the Temporal dev server with PostgreSQL', () => {
  const stack = useIncidentStack({ runbooks: ['frontier-assistant'] });

  const at = () => new Date().toISOString();

  it('writes the incident row and its incident.opened event through an activity', async () => {
    const outcome = await stack.clients.incidents.trigger(
      { systemId: 'frontier-assistant', title: 'Jailbreak success rate above 2%', severity: 'SEV2', dedupKey: 'jailbreak-rate' },
      'amara-okafor',
      { runbookVersion: stack.runbookVersion(), now: new Date('2026-11-22T10:00:00.000Z') },
    );
    expect(outcome).toMatchObject({ workflowId: 'incident:frontier-assistant:jailbreak-rate', joined: false });

    const row = await eventually(() => findIncident(stack.db, outcome.incidentId));
    expect(row).toMatchObject({
      system_id: 'frontier-assistant',
      severity: 'SEV2',
      state: 'triggered',
      opened_by: 'amara-okafor',
      workflow_id: outcome.workflowId,
      runbook_version: stack.runbookVersion(),
    });
    expect(row.opened_at.toISOString()).toBe('2026-11-22T10:00:00.000Z');

    const timeline = await eventually(async () => {
      const events = await listTimeline(stack.db, outcome.incidentId);
      return events.length >= 1 ? events : undefined;
    });
    expect(timeline[0]).toMatchObject({ seq: 1, kind: 'incident.opened', actor: 'amara-okafor' });
    expect(timeline[0]!.data).toMatchObject({ title: 'Jailbreak success rate above 2%', dedupKey: 'jailbreak-rate' });
  });

  it('joins the open incident when the same system and dedup key trigger again, also 50 at once', async () => {
    const trigger = { systemId: 'frontier-assistant', title: 'Toxic output spike', severity: 'SEV3', dedupKey: 'toxicity' };
    const first = await stack.clients.incidents.trigger(trigger, 'amara-okafor', { runbookVersion: stack.runbookVersion() });
    const again = await Promise.all(
      Array.from({ length: 50 }, () => stack.clients.incidents.trigger(trigger, 'jonas-berg', { runbookVersion: stack.runbookVersion() })),
    );
    expect(new Set(again.map((o) => o.incidentId))).toEqual(new Set([first.incidentId]));
    expect(again.every((o) => o.joined)).toBe(true);
    expect((await stack.clients.incidents.state(first.workflowId)).joinedTriggers).toBe(50);

    await eventually(() => findIncident(stack.db, first.incidentId));
    const rows = await stack.db.selectFrom('incidents').selectAll().where('dedup_key', '=', 'toxicity').execute();
    expect(rows).toHaveLength(1);
  });

  it('moves through its states with who and when on the timeline, and the next trigger opens a new incident', async () => {
    const trigger = { systemId: 'frontier-assistant', title: 'PII in outputs', severity: 'SEV2', dedupKey: 'pii' };
    const first = await stack.clients.incidents.trigger(trigger, 'amara-okafor', { runbookVersion: stack.runbookVersion() });
    await expect(stack.clients.incidents.resolve(first.workflowId, { actor: 'jonas-berg', at: at() })).rejects.toThrow(
      /acknowledge the incident before resolving it/,
    );
    await expect(stack.clients.incidents.acknowledge(first.workflowId, { actor: 'mallory', at: at() })).rejects.toThrow(ActionRefused);
    const acknowledged = await stack.clients.incidents.acknowledge(first.workflowId, { actor: 'jonas-berg', at: at() });
    expect(acknowledged).toMatchObject({ state: 'acknowledged', commander: 'jonas-berg' });
    await expect(stack.clients.incidents.acknowledge(first.workflowId, { actor: 'amara-okafor', at: at() })).rejects.toThrow(
      'incident is already acknowledged (commander: jonas-berg)',
    );
    await stack.clients.incidents.resolve(first.workflowId, { actor: 'jonas-berg', at: at(), reason: 'false positive' });
    await stack.clients.incidents.close(first.workflowId, { actor: 'jonas-berg', at: at(), reason: 'reviewed' });
    const closed = await stack.client.workflow.getHandle(first.workflowId).result();
    expect(closed.state).toBe('closed');

    const kinds = (await listTimeline(stack.db, first.incidentId)).filter((e) => e.kind.startsWith('incident.')).map((e) => [e.kind, e.actor]);
    expect(kinds).toEqual([
      ['incident.opened', 'amara-okafor'],
      ['incident.acknowledged', 'jonas-berg'],
      ['incident.resolved', 'jonas-berg'],
      ['incident.closed', 'jonas-berg'],
    ]);
    const row = await findIncident(stack.db, first.incidentId);
    expect(row).toMatchObject({ state: 'closed', commander: 'jonas-berg' });
    expect(row?.acknowledged_at).toBeInstanceOf(Date);

    const next = await stack.clients.incidents.trigger(trigger, 'amara-okafor', { runbookVersion: stack.runbookVersion() });
    expect(next.joined).toBe(false);
    expect(next.incidentId).not.toBe(first.incidentId);
  });
});
