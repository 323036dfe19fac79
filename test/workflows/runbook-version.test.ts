import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { InvalidInput } from '../../services/errors.js';
import { findIncident } from '../../services/incident/repository.js';
import { triggerIncident, type TriggerDependencies } from '../../services/incident/trigger.js';
import { RunbookCatalogue } from '../../services/runbook/catalogue.js';
import { findRunbookVersion } from '../../services/runbook/repository.js';
import { eventually } from '../support/database.js';
import { useIncidentStack } from '../support/stack.js';

describe('an incident keeps the runbook version it started with', () => {
  const stack = useIncidentStack({ runbookFiles: ['frontier-assistant'] });
  let file: string;
  let deps: TriggerDependencies;

  beforeAll(() => {
    file = path.join(stack.runbooksDir, 'frontier-assistant.yaml');
    deps = { db: stack.db, incidents: stack.clients.incidents, runbooks: new RunbookCatalogue(stack.runbooksDir, stack.db) };
  });
  afterAll(() => deps.runbooks.close());
  /** Writes the runbook file and waits until the catalogue serves what it now holds, as a later request would. */
  const edit = async (text: string) => {
    await writeFile(file, text);
    await deps.runbooks.refresh();
  };

  const trigger = (dedupKey: string) => ({ systemId: 'frontier-assistant', title: `incident ${dedupKey}`, severity: 'SEV2', dedupKey });

  it('records the version on the incident, and later edits apply only to new incidents', async () => {
    const first = await triggerIncident(deps, trigger('first'), 'amara-okafor');
    expect(first.runbookVersion).toMatch(/^sha256:[0-9a-f]{64}$/);
    const firstRow = await eventually(() => findIncident(stack.db, first.incidentId));
    expect(firstRow.runbook_version).toBe(first.runbookVersion);

    const original = await readFile(file, 'utf8');
    const edited = original.replace('    approvalTimeout: 15m\n    escalateTo: [ceo]', '    approvalTimeout: 5m\n    escalateTo: [ceo]');
    expect(edited).not.toBe(original);
    await edit(edited);

    const second = await triggerIncident(deps, trigger('second'), 'amara-okafor');
    expect(second.runbookVersion).not.toBe(first.runbookVersion);
    expect((await eventually(() => findIncident(stack.db, second.incidentId))).runbook_version).toBe(second.runbookVersion);

    // The first incident still runs under, and can still read, the rules it started with.
    expect((await findIncident(stack.db, first.incidentId))?.runbook_version).toBe(first.runbookVersion);
    expect((await deps.incidents.state(first.workflowId)).runbookVersion).toBe(first.runbookVersion);
    expect((await findRunbookVersion(stack.db, first.runbookVersion))?.decisionAuthority.shutdown?.approvalTimeout).toBe('15m');
    expect((await findRunbookVersion(stack.db, second.runbookVersion))?.decisionAuthority.shutdown?.approvalTimeout).toBe('5m');

    // A repeat of the first trigger joins it without moving it to the new version.
    const repeat = await triggerIncident(deps, trigger('first'), 'jonas-berg');
    expect(repeat).toMatchObject({ incidentId: first.incidentId, joined: true });
    expect((await deps.incidents.state(first.workflowId)).runbookVersion).toBe(first.runbookVersion);
  });

  it('keeps serving the last recorded version while the file is broken', async () => {
    const current = await readFile(file, 'utf8');
    await edit(current.replace('severities:', 'severities: [unclosed'));
    const third = await triggerIncident(deps, trigger('third'), 'amara-okafor');
    const recorded = await stack.db.selectFrom('systems').select('runbook_version').where('id', '=', 'frontier-assistant').executeTakeFirstOrThrow();
    expect(third.runbookVersion).toBe(recorded.runbook_version);
    await edit(current);
  });

  it('keeps serving the last recorded version while the file has a YAML alias error', async () => {
    const current = await readFile(file, 'utf8');
    onTestFinished(() => edit(current));
    for (const broken of [
      `x-typo: *nowhere\n${current}`,
      `x-bomb:\n  a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n  c: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n${current}`,
    ]) {
      await edit(broken);
      const problems = (await deps.runbooks.current()).problems;
      expect(problems.map((p) => p.message)[0]).toMatch(/^YAML alias/);
      const incident = await triggerIncident(deps, trigger(`alias-${problems[0]!.line}`), 'amara-okafor');
      const recorded = await stack.db.selectFrom('systems').select('runbook_version').where('id', '=', 'frontier-assistant').executeTakeFirstOrThrow();
      expect(incident.runbookVersion).toBe(recorded.runbook_version);
    }
  });

  it('refuses systems without a runbook and severities the runbook lacks, naming the field', async () => {
    await expect(triggerIncident(deps, { ...trigger('x'), systemId: 'unknown-system' }, 'a')).rejects.toSatisfy(
      (error) => error instanceof InvalidInput && error.errors[0]?.path === 'systemId' && /known: frontier-assistant/.test(error.errors[0].message),
    );
    await expect(triggerIncident(deps, { ...trigger('x'), severity: 'SEV0' }, 'a')).rejects.toSatisfy(
      (error) => error instanceof InvalidInput && error.errors[0]?.path === 'severity' && /SEV1, SEV2, SEV3, SEV4/.test(error.errors[0].message),
    );
  });
});
