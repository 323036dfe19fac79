import { describe, expect, it } from 'vitest';
import { verifyStoredChain } from '../../services/timeline/repository.js';
import { acknowledgeUpdate } from '../../workflows/incident/messages.js';
import { eventually } from '../support/database.js';
import { useIncidentStack } from '../support/stack.js';

const minutes = (n: number) => n * 60_000;
const proposal = { kind: 'shutdown', scope: { all: true }, reason: 'Jailbreak answers in production', breakGlass: true };

/** The activities an incident's history scheduled, by name, in order. */
async function scheduled(stack: ReturnType<typeof useIncidentStack>, workflowId: string): Promise<string[]> {
  const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType!.name!] : []));
}

/** The signals an incident's history sent to other workflows, with the event each came after. */
async function signalsSent(stack: ReturnType<typeof useIncidentStack>, workflowId: string): Promise<{ signal: string; afterUpdates: string[] }[]> {
  const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
  const updates: string[] = [];
  const sent: { signal: string; afterUpdates: string[] }[] = [];
  for (const e of history.events ?? []) {
    const accepted = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name;
    if (accepted) updates.push(accepted);
    const signal = e.signalExternalWorkflowExecutionInitiatedEventAttributes?.signalName;
    if (signal) sent.push({ signal, afterUpdates: [...updates] });
  }
  return sent;
}

// The acknowledgement is answered once the incident has accepted it; the API writes its record (the row,
// `incident.acknowledged`, the pages marked) before answering, and the incident confirms that record
// with its next one (writing it if the API died in between) instead of writing it again beside the
// commander's next action.
describe('POST /v1/incidents/:id/acknowledge', () => {
  const stack = useIncidentStack({ api: true });

  const open = async (token: string, dedupKey: string) => {
    const triggered = await stack.api.call('POST', '/v1/incidents', {
      token,
      body: { systemId: 'frontier-assistant', title: 'Jailbreak rate above 2%', severity: 'SEV2', dedupKey },
    });
    expect(triggered.status).toBe(202);
    const incidentId = triggered.body.incidentId as string;
    const row = await stack.db.selectFrom('incidents').select('workflow_id').where('id', '=', incidentId).executeTakeFirstOrThrow();
    // The escalation's first level (Amara and Jonas) is paged and on record, for the acknowledgement to mark.
    await eventually(async () =>
      (await stack.db.selectFrom('pages').select('id').where('incident_id', '=', incidentId).execute()).length === 2 ? true : undefined,
    );
    return { incidentId, workflowId: row.workflow_id };
  };
  const timeline = async (incidentId: string) =>
    (await stack.db.selectFrom('timeline_events').select(['kind', 'actor', 'data']).where('incident_id', '=', incidentId).orderBy('seq').execute()).map(
      (e) => `${e.kind} ${e.actor}`,
    );

  it('answers with everything recorded, and the incident writes nothing of it again beside the next action', async () => {
    const jonas = await stack.api.token('jonas-berg', ['responder']);
    const { incidentId, workflowId } = await open(jonas, 'acknowledge-recorded');

    const acknowledged = await stack.api.call('POST', `/v1/incidents/${incidentId}/acknowledge`, { token: jonas, body: {} });
    expect(acknowledged.status).toBe(200);
    expect(acknowledged.body).toMatchObject({ incidentId, state: 'acknowledged', commander: 'jonas-berg' });
    expect(acknowledged.body).not.toHaveProperty('transition');
    // Read right after the answer: the incident, its timeline and its pages say so.
    const shown = await stack.api.call('GET', `/v1/incidents/${incidentId}`, { token: jonas });
    expect(shown.body).toMatchObject({ state: 'acknowledged', commander: 'jonas-berg' });
    const events = await stack.api.call('GET', `/v1/incidents/${incidentId}/timeline`, { token: jonas });
    expect((events.body.items as { kind: string; actor: string }[]).map((e) => `${e.kind} ${e.actor}`)).toContain('incident.acknowledged jonas-berg');
    const pages = await stack.db.selectFrom('pages').select('acknowledged_by').where('incident_id', '=', incidentId).execute();
    expect(pages.map((p) => p.acknowledged_by)).toEqual(pages.map(() => 'jonas-berg'));
    // The incident recorded only its opening, its notices and its first level's pages so far: no activity
    // of its own for the acknowledgement.
    expect(await scheduled(stack, workflowId)).toEqual(['openIncident', 'sendNotices', 'sendPage', 'sendPage']);
    // The escalation runs in the incident, which stopped it in the acknowledgement's own handler: no
    // escalation workflow, no signal to one.
    expect(acknowledged.body.escalation).toMatchObject({ state: 'stopped', stoppedBy: 'jonas-berg' });
    expect(acknowledged.body).not.toHaveProperty('stopEscalation');
    await expect(stack.client.workflow.getHandle(`${workflowId}/escalation/${incidentId}`).describe()).rejects.toThrow(/not found/i);

    // The next record (mitigating) confirms it; nothing is appended twice.
    expect((await stack.api.call('POST', `/v1/incidents/${incidentId}/corrections`, { token: jonas, body: proposal })).status).toBe(201);
    await eventually(async () => ((await timeline(incidentId)).includes('incident.mitigating jonas-berg') ? true : undefined));
    const kinds = await timeline(incidentId);
    expect(kinds.filter((k) => k.startsWith('incident.acknowledged'))).toEqual(['incident.acknowledged jonas-berg']);
    expect(kinds.indexOf('incident.acknowledged jonas-berg')).toBeLessThan(kinds.indexOf('incident.mitigating jonas-berg'));
    expect(kinds.some((k) => k.startsWith('incident.transition_superseded'))).toBe(false);
    expect((await scheduled(stack, workflowId)).filter((a) => a === 'confirmIncidentTransitions')).toEqual([]);
    expect((await verifyStoredChain(stack.db, incidentId)).ok).toBe(true);
    // Nothing else was told to stop paging, before the proposal or after it.
    expect((await signalsSent(stack, workflowId)).filter((s) => s.signal === 'escalationAcknowledged')).toEqual([]);
    expect((await scheduled(stack, workflowId)).filter((a) => a === 'sendPage')).toHaveLength(2);
  });

  it('loses nothing when the caller dies between the answer and its write: the next record writes it', async () => {
    const jonas = await stack.api.token('jonas-berg', ['responder']);
    const { incidentId, workflowId } = await open(jonas, 'acknowledge-caller-died');
    // An API process that sent the acknowledgement and died before writing it or stopping the escalation.
    const answer = await stack.client.workflow
      .getHandle(workflowId)
      .executeUpdate(acknowledgeUpdate, { args: [{ actor: 'jonas-berg', at: new Date().toISOString(), recordsItself: true, stopsEscalation: true }] });
    expect(answer.transition).toMatchObject({ incidentId, state: 'acknowledged', actor: 'jonas-berg', commander: 'jonas-berg' });
    // Paging stopped with the acceptance, whatever the caller does next: the escalation is the incident's own.
    expect(answer.stopEscalation).toBeUndefined();
    expect(answer.escalation).toMatchObject({ state: 'stopped', stoppedBy: 'jonas-berg' });
    expect(await timeline(incidentId)).not.toContain('incident.acknowledged jonas-berg');

    expect((await stack.api.call('POST', `/v1/incidents/${incidentId}/corrections`, { token: jonas, body: proposal })).status).toBe(201);
    await eventually(async () => ((await timeline(incidentId)).includes('incident.mitigating jonas-berg') ? true : undefined));
    const kinds = await timeline(incidentId);
    expect(kinds.indexOf('incident.acknowledged jonas-berg')).toBeGreaterThan(-1);
    expect(kinds.indexOf('incident.acknowledged jonas-berg')).toBeLessThan(kinds.indexOf('incident.mitigating jonas-berg'));
    const row = await stack.db.selectFrom('incidents').select(['state', 'commander', 'acknowledged_at']).where('id', '=', incidentId).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ state: 'mitigating', commander: 'jonas-berg' });
    expect(row.acknowledged_at).not.toBeNull();
    const pages = await stack.db.selectFrom('pages').select('acknowledged_by').where('incident_id', '=', incidentId).execute();
    expect(pages.map((p) => p.acknowledged_by)).toEqual(pages.map(() => 'jonas-berg'));
    expect((await verifyStoredChain(stack.db, incidentId)).ok).toBe(true);
    // ...and nobody was paged after the acknowledgement.
    expect((await stack.clients.incidents.state(workflowId)).escalation).toEqual({ state: 'stopped', stoppedBy: 'jonas-berg', pagesSent: 2 });
    expect(pages).toHaveLength(2);
  });
});

describe('an acknowledgement whose caller died, with nothing after it (time-skipping server)', () => {
  const stack = useIncidentStack({ temporal: 'time-skipping', runbooks: ['frontier-assistant'] });

  it('is written by the incident itself within a minute', async () => {
    const incident = await stack.clients.incidents.trigger(
      { systemId: 'frontier-assistant', title: 'Jailbreak rate above 2%', severity: 'SEV2', dedupKey: 'acknowledge-quiet' },
      'amara-okafor',
      { runbookVersion: stack.runbookVersion() },
    );
    await stack.client.workflow
      .getHandle(incident.workflowId)
      .executeUpdate(acknowledgeUpdate, { args: [{ actor: 'jonas-berg', at: new Date().toISOString(), recordsItself: true }] });
    const acknowledgedEvents = async () =>
      (
        await stack.db
          .selectFrom('timeline_events')
          .select('actor')
          .where('incident_id', '=', incident.incidentId)
          .where('kind', '=', 'incident.acknowledged')
          .execute()
      ).map((e) => e.actor);
    expect(await acknowledgedEvents()).toEqual([]);
    await stack.environment.sleep(minutes(2));
    await eventually(async () => ((await acknowledgedEvents()).length > 0 ? true : undefined));
    expect(await acknowledgedEvents()).toEqual(['jonas-berg']);
    const row = await stack.db.selectFrom('incidents').select(['state', 'commander']).where('id', '=', incident.incidentId).executeTakeFirstOrThrow();
    expect(row).toEqual({ state: 'acknowledged', commander: 'jonas-berg' });
  });
});
