import { describe, expect, it } from 'vitest';
import { verifyStoredChain } from '../../services/timeline/repository.js';
import { eventually } from '../support/database.js';
import { useIncidentStack } from '../support/stack.js';

// The acknowledgement is answered once the incident has accepted it, and the API writes the record the
// incident scheduled (the row, `incident.acknowledged`) before answering; the incident's own activity
// writes the same record once. Its activity is held here behind a lock on the incident's pages (which it
// marks acknowledged after the record): before, the commander's answer waited for all of it.
describe('POST /v1/incidents/:id/acknowledge', () => {
  const stack = useIncidentStack({ api: true });

  it("answers the commander without waiting for the incident's own record, which lands once", async () => {
    const jonas = await stack.api.token('jonas-berg', ['responder']);
    const triggered = await stack.api.call('POST', '/v1/incidents', {
      token: jonas,
      body: { systemId: 'frontier-assistant', title: 'Jailbreak rate above 2%', severity: 'SEV2', dedupKey: 'acknowledge-recorded' },
    });
    expect(triggered.status).toBe(202);
    const incidentId = triggered.body.incidentId as string;
    // The escalation's first page is on record: the incident's activity will mark it acknowledged.
    await eventually(async () => (await stack.db.selectFrom('pages').select('id').where('incident_id', '=', incidentId).executeTakeFirst()) ?? undefined);

    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holding = stack.db.transaction().execute(async (trx) => {
      await trx.selectFrom('pages').select('id').where('incident_id', '=', incidentId).forUpdate().execute();
      locked();
      await released;
    });
    await isLocked;
    try {
      const sentAt = Date.now();
      const acknowledged = await stack.api.call('POST', `/v1/incidents/${incidentId}/acknowledge`, { token: jonas, body: {} });
      const tookMs = Date.now() - sentAt;
      expect(acknowledged.status).toBe(200);
      expect(acknowledged.body).toMatchObject({ incidentId, state: 'acknowledged', commander: 'jonas-berg' });
      expect(acknowledged.body).not.toHaveProperty('transition');
      expect(tookMs).toBeLessThan(5_000);

      // Read right after the answer, the incident and its timeline say so.
      const shown = await stack.api.call('GET', `/v1/incidents/${incidentId}`, { token: jonas });
      expect(shown.body).toMatchObject({ state: 'acknowledged', commander: 'jonas-berg' });
      const timeline = await stack.api.call('GET', `/v1/incidents/${incidentId}/timeline`, { token: jonas });
      const kinds = (timeline.body.items as { kind: string; actor: string }[]).map((e) => `${e.kind} ${e.actor}`);
      expect(kinds).toContain('incident.acknowledged jonas-berg');
      // The incident's own record is still held back.
      const page = await stack.db.selectFrom('pages').select('acknowledged_by').where('incident_id', '=', incidentId).executeTakeFirstOrThrow();
      expect(page.acknowledged_by).toBeNull();
    } finally {
      release();
      await holding;
    }

    // Once through, the incident's activity has marked the pages and appended nothing twice.
    await eventually(async () => {
      const pages = await stack.db.selectFrom('pages').select('acknowledged_by').where('incident_id', '=', incidentId).execute();
      return pages.every((p) => p.acknowledged_by === 'jonas-berg') ? true : undefined;
    });
    const events = await stack.db.selectFrom('timeline_events').select(['kind', 'data']).where('incident_id', '=', incidentId).orderBy('seq').execute();
    expect(events.filter((e) => e.kind === 'incident.acknowledged')).toEqual([{ kind: 'incident.acknowledged', data: { commander: 'jonas-berg' } }]);
    expect(events.map((e) => e.kind)).not.toContain('incident.transition_superseded');
    const row = await stack.db.selectFrom('incidents').select(['state', 'commander', 'acknowledged_at']).where('id', '=', incidentId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ state: 'acknowledged', commander: 'jonas-berg' });
    expect(row.acknowledged_at).not.toBeNull();
    expect((await verifyStoredChain(stack.db, incidentId)).ok).toBe(true);
  });
});
