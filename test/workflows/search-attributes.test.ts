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
    await eventually(async () => ((await list('CorrexSeverity="SEV1"')).length === 1 ? true : undefined));
    expect(await list('CorrexSeverity="SEV1"')).toEqual([sev1.workflowId]);
    expect(await list('CorrexSystem="frontier-assistant" AND CorrexState="triggered"')).toEqual([sev1.workflowId, sev3.workflowId].sort());

    await stack.clients.incidents.acknowledge(sev3.workflowId, { actor: 'jonas-berg', at: at() });
    await eventually(async () => ((await list('CorrexState="acknowledged"')).length === 1 ? true : undefined));
    expect(await list('CorrexState="acknowledged"')).toEqual([sev3.workflowId]);
    expect(await list('CorrexState="triggered"')).toEqual([sev1.workflowId]);
  }, 60_000);
});
