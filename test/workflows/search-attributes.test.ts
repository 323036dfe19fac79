import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import type { IncidentStart, TriggerArrival } from '../../services/incident/schema.js';
import { triggerArrivedSignal } from '../../workflows/incident/messages.js';
import { incidentWorkflowId, legacyIncidentWorkflowId } from '../../services/identity.js';
import { resolveTemporalBinaries } from '../../services/temporal/binaries.js';
import { eventually } from '../support/database.js';
import { useIncidentStack } from '../support/stack.js';
import { testNamespace } from '../support/temporal.js';

const run = promisify(execFile);

describe("search attributes: operators find incidents with Temporal's own CLI", () => {
  const stack = useIncidentStack({
    runbooks: ['frontier-assistant'],
    // The monitor opens an incident per alert name and region, at the first alert.
    runbookFiles: {
      'frontier-assistant': {
        from: 'frontier-assistant',
        adjust(runbook) {
          const trigger = (runbook.triggers as { id: string; threshold?: unknown; groupBy?: string[] }[]).find((t) => t.id === 'jailbreak-rate')!;
          delete trigger.threshold;
          trigger.groupBy = ['alertname', 'region'];
        },
      },
    },
    api: true,
  });

  const list = async (query: string) => {
    const { stdout } = await run(resolveTemporalBinaries().cli, [
      'workflow',
      'list',
      '--namespace',
      await testNamespace(),
      '--address',
      inject('temporalAddress'),
      '--query',
      query,
      '--output',
      'json',
    ]);
    const rows = stdout.trim() ? (JSON.parse(stdout) as { execution: { workflowId: string } }[]) : [];
    return rows.map((r) => r.execution.workflowId).sort();
  };
  // An incident's corrections, clocks and review carry its system and severity too (its escalation runs in it).
  const incidents = (query: string) => list(`WorkflowType='incidentWorkflow' AND ${query}`);

  /**
   * Acknowledges, proposes a correction and resolves an incident, then waits until searching by its id
   * lists what that started (incident, correction, review); returns those ids and the query.
   */
  const playToReview = async (workflowId: string, incidentId: string) => {
    const at = () => new Date().toISOString();
    await stack.clients.incidents.acknowledge(workflowId, { actor: 'jonas-berg', at: at() });
    const correction = await stack.clients.incidents.propose(workflowId, {
      actor: 'jonas-berg',
      at: at(),
      kind: 'rate_limit',
      scope: { tiers: ['free'] },
      parameters: { requestsPerMinute: 10, per: 'user' },
      reason: 'Slow the free tier while we look',
    });
    await stack.clients.incidents.resolve(workflowId, { actor: 'jonas-berg', at: at(), reason: 'contained' });
    const expected = [workflowId, correction.workflowId, (await stack.clients.incidents.state(workflowId)).reviewWorkflowId!].sort();
    const query = `CorrexIncidentId='${incidentId}'`;
    await eventually(async () => ((await list(query)).length === expected.length ? true : undefined));
    return { expected, query };
  };

  it('lists incidents by severity, system and state, kept current as the state changes', async () => {
    const at = () => new Date().toISOString();
    const sev1 = await stack.clients.incidents.trigger(
      { systemId: 'frontier-assistant', title: 'Weights exfiltration', severity: 'SEV1', dedupKey: 'sa-sev1' },
      'amara-okafor',
      { runbookVersion: stack.runbookVersion() },
    );
    const sev3 = await stack.clients.incidents.trigger(
      { systemId: 'frontier-assistant', title: 'Tone regression', severity: 'SEV3', dedupKey: 'sa-sev3' },
      'amara-okafor',
      { runbookVersion: stack.runbookVersion() },
    );
    await eventually(async () => ((await incidents('CorrexSeverity="SEV1"')).length === 1 ? true : undefined));
    expect(await incidents('CorrexSeverity="SEV1"')).toEqual([sev1.workflowId]);
    expect(await incidents('CorrexSystem="frontier-assistant" AND CorrexState="triggered"')).toEqual([sev1.workflowId, sev3.workflowId].sort());

    await stack.clients.incidents.acknowledge(sev3.workflowId, { actor: 'jonas-berg', at: at() });
    await eventually(async () => ((await incidents('CorrexState="acknowledged"')).length === 1 ? true : undefined));
    expect(await incidents('CorrexState="acknowledged"')).toEqual([sev3.workflowId]);
    expect(await incidents('CorrexState="triggered"')).toEqual([sev1.workflowId]);
  }, 60_000);

  it('lists every workflow of an incident by its id: the incident, its corrections and review', async () => {
    const started = await stack.clients.incidents.trigger(
      { systemId: 'frontier-assistant', title: 'Jailbreak spreading', severity: 'SEV2', dedupKey: 'sa-operators' },
      'amara-okafor',
      { runbookVersion: stack.runbookVersion() },
    );
    const { expected, query } = await playToReview(started.workflowId, started.incidentId);
    expect(await list(query)).toEqual(expected);
    // The incident's children are found by its system and severity as well.
    expect(await list(`CorrexSystem="frontier-assistant" AND CorrexSeverity="SEV2" AND CorrexIncidentId='${started.incidentId}'`)).toEqual(expected);
    // The incident starts its children with these attributes: none spends an event (and Temporal a
    // visibility write) upserting them in its first workflow task.
    for (const workflowId of expected.filter((id) => id !== started.workflowId)) {
      const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
      const upserted = history.events!.flatMap((e) => Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {}));
      // (A patch's TemporalChangeVersion is sdk-core's own upsert.)
      expect(
        upserted.filter((name) => name.startsWith('Correx')),
        workflowId,
      ).toEqual([]);
    }
  }, 60_000);
  /** Shell-special characters an id must not contain (`|` and `=` from group keys, spaces from label values). */
  const shellSpecial = /[|= ]/;

  it('gives a monitor-opened incident of a grouped trigger ids without shell-special characters, all listed by its id', async () => {
    const at = () => new Date().toISOString();
    const ingest = await stack.api.token('alertmanager', ['ingest']);
    const alert = {
      status: 'firing',
      labels: { alertname: 'JailbreakRateHigh', system: 'frontier-assistant', severity: 'critical', region: 'eu west' },
      annotations: { summary: 'jailbreak success rate above 2% in eu west' },
      startsAt: at(),
      fingerprint: 'a1b2c3d4e5f60718',
    };
    const sent = await stack.api.call('POST', '/v1/ingest/alertmanager', {
      token: ingest,
      body: {
        version: '4',
        status: 'firing',
        receiver: 'correx',
        groupKey: '{}:{alertname="JailbreakRateHigh"}',
        groupLabels: { alertname: 'JailbreakRateHigh' },
        commonLabels: alert.labels,
        commonAnnotations: alert.annotations,
        externalURL: 'http://alertmanager.test',
        alerts: [alert],
      },
    });
    expect(sent.status, JSON.stringify(sent.body)).toBe(202);
    const incident = await eventually(async () =>
      stack.db.selectFrom('incidents').selectAll().where('opened_by', '=', 'system:monitor').where('system_id', '=', 'frontier-assistant').executeTakeFirst(),
    );
    // The dedup key is the monitor's, with the group key's `|`, `=` and the label's space in it; the id has none of them.
    expect(incident.dedup_key).toBe('monitor:jailbreak-rate|alertname=JailbreakRateHigh|region=eu west:1');
    expect(incident.workflow_id).toBe(incidentWorkflowId('frontier-assistant', incident.dedup_key));
    expect(incident.workflow_id).toMatch(/^incident:frontier-assistant:monitor:jailbreak-rate-alertname-JailbreakRateHigh-region-eu-west:1\.h[0-9a-f]{16}$/);

    // A correction and the review follow the incident's id.
    const { expected, query } = await playToReview(incident.workflow_id, incident.id);
    const listed = await list(query);
    expect(listed).toEqual(expected);
    for (const id of listed) expect(id, id).not.toMatch(shellSpecial);
    expect(listed.every((id) => /^[A-Za-z0-9._:/-]+$/.test(id))).toBe(true);
  }, 60_000);

  it('keeps the id an open incident was started under before ids were made safe: a repeat trigger joins it', async () => {
    const dedupKey = 'checkout|region=eu west';
    const legacyId = legacyIncidentWorkflowId('frontier-assistant', dedupKey);
    expect(legacyId).toMatch(shellSpecial);
    // Started as the previous release did: the dedup key verbatim in the id.
    const incidentId = crypto.randomUUID();
    const openedAt = new Date().toISOString();
    await stack.client.workflow.signalWithStart<(start: IncidentStart) => Promise<void>, [TriggerArrival]>('incidentWorkflow', {
      workflowId: legacyId,
      taskQueue: stack.taskQueue,
      args: [
        {
          incidentId,
          systemId: 'frontier-assistant',
          dedupKey,
          title: 'Checkout answers leak card numbers',
          severity: 'SEV2',
          summary: undefined,
          openedBy: 'amara-okafor',
          openedAt,
          runbookVersion: stack.runbookVersion(),
        },
      ],
      signal: triggerArrivedSignal,
      signalArgs: [{ incidentId, at: openedAt, by: 'amara-okafor' }],
    });
    await eventually(() => stack.db.selectFrom('incidents').select('id').where('id', '=', incidentId).executeTakeFirst());

    const responder = await stack.api.token('amara-okafor', ['responder']);
    const again = await stack.api.call('POST', '/v1/incidents', {
      token: responder,
      body: { systemId: 'frontier-assistant', title: 'Checkout answers leak card numbers', severity: 'SEV2', dedupKey },
    });
    expect(again.status, JSON.stringify(again.body)).toBe(202);
    expect(again.body).toMatchObject({ incidentId, workflowId: legacyId, joined: true });
    expect((await stack.clients.incidents.state(legacyId)).joinedTriggers).toBe(1);
    const shown = await stack.api.call('GET', `/v1/incidents/${incidentId}`, { token: responder });
    expect(shown.body.workflowId).toBe(legacyId);

    // Once its workflow has ended (its row still reads open), the same key opens a new incident under the safe id.
    await stack.clients.incidents.acknowledge(legacyId, { actor: 'jonas-berg', at: new Date().toISOString() });
    await stack.client.workflow.getHandle(legacyId).terminate('the old incident ends');
    const fresh = await stack.api.call('POST', '/v1/incidents', {
      token: responder,
      body: { systemId: 'frontier-assistant', title: 'Checkout answers leak card numbers again', severity: 'SEV2', dedupKey },
    });
    expect(fresh.status, JSON.stringify(fresh.body)).toBe(202);
    expect(fresh.body.joined).toBe(false);
    expect(fresh.body.incidentId).not.toBe(incidentId);
    expect(fresh.body.workflowId).toBe(incidentWorkflowId('frontier-assistant', dedupKey));
    expect(fresh.body.workflowId).not.toMatch(shellSpecial);
  }, 60_000);
});
