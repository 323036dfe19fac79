import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { resolveTemporalBinaries } from '../../services/temporal/binaries.js';
import { eventually } from '../support/database.js';
import { useIncidentStack } from '../support/stack.js';
import { testNamespace } from '../support/temporal.js';

const run = promisify(execFile);

describe("search attributes: operators find incidents with Temporal's own CLI", () => {
  const stack = useIncidentStack({ runbooks: ['frontier-assistant'] });

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
  // An incident's escalation, corrections, clocks and review carry its system and severity too.
  const incidents = (query: string) => list(`WorkflowType='incidentWorkflow' AND ${query}`);

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

  it('lists every workflow of an incident by its id: the incident, its escalation, corrections and review', async () => {
    const at = () => new Date().toISOString();
    const started = await stack.clients.incidents.trigger(
      { systemId: 'frontier-assistant', title: 'Jailbreak spreading', severity: 'SEV2', dedupKey: 'sa-operators' },
      'amara-okafor',
      { runbookVersion: stack.runbookVersion() },
    );
    await stack.clients.incidents.acknowledge(started.workflowId, { actor: 'jonas-berg', at: at() });
    const correction = await stack.clients.incidents.propose(started.workflowId, {
      actor: 'jonas-berg',
      at: at(),
      kind: 'rate_limit',
      scope: { tiers: ['free'] },
      parameters: { requestsPerMinute: 10, per: 'user' },
      reason: 'Slow the free tier while we look',
    });
    await stack.clients.incidents.resolve(started.workflowId, { actor: 'jonas-berg', at: at(), reason: 'contained' });
    const expected = [
      started.workflowId,
      `${started.workflowId}/escalation/${started.incidentId}`,
      correction.workflowId,
      (await stack.clients.incidents.state(started.workflowId)).reviewWorkflowId!,
    ].sort();
    const query = `CorrexIncidentId='${started.incidentId}'`;
    await eventually(async () => ((await list(query)).length === expected.length ? true : undefined));
    expect(await list(query)).toEqual(expected);
    // The incident's children are found by its system and severity as well.
    expect(await list(`CorrexSystem="frontier-assistant" AND CorrexSeverity="SEV2" AND CorrexIncidentId='${started.incidentId}'`)).toEqual(expected);
  }, 60_000);
});
