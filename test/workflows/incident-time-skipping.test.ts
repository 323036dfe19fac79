import { describe, expect, it } from 'vitest';
import { findIncident } from '../../services/incident/repository.js';
import { listTimeline } from '../../services/timeline/repository.js';
import { eventually } from '../support/database.js';
import { recordRunbook, shippedRunbook } from '../support/runbooks.js';
import { useIncidentStack } from '../support/stack.js';

describe('incident workflow on the time-skipping test server', () => {
  const stack = useIncidentStack({ temporal: 'time-skipping' });

  it('writes the incident row and its incident.opened event, and survives skipped days', async () => {
    const runbookVersion = await recordRunbook(stack.db, await shippedRunbook('clinical-triage'));
    const { incidents } = stack.clients;
    const outcome = await incidents.trigger(
      { systemId: 'clinical-triage', title: 'Under-triage of chest pain', severity: 'SEV1', dedupKey: 'under-triage' },
      'system:test',
      { runbookVersion },
    );

    const row = await eventually(() => findIncident(stack.db, outcome.incidentId));
    expect(row).toMatchObject({ system_id: 'clinical-triage', severity: 'SEV1', state: 'triggered', runbook_version: runbookVersion });
    expect((await listTimeline(stack.db, outcome.incidentId))[0]?.kind).toBe('incident.opened');

    const before = await stack.environment.currentTimeMs();
    await stack.environment.sleep(3 * 24 * 3600 * 1000);
    expect((await stack.environment.currentTimeMs()) - before).toBeGreaterThanOrEqual(3 * 24 * 3600 * 1000);
    expect((await incidents.state(outcome.workflowId)).state).toBe('triggered');
    // Nobody acknowledged for three days: the escalation went through every level and round, then gave up, on the record.
    const kinds = (await listTimeline(stack.db, outcome.incidentId)).map((e) => e.kind);
    expect(kinds).toContain('escalation.exhausted');
    expect(kinds.filter((k) => k === 'page.sent').length).toBeGreaterThan(1);
    // Whoever reads the incident is told the same: nobody is being paged any more.
    expect((await incidents.state(outcome.workflowId)).escalation).toEqual({ state: 'exhausted', pagesSent: kinds.filter((k) => k === 'page.sent').length });
  });
});
