import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { eventually } from '../support/database.js';
import { projectRoot } from '../support/environment.js';
import { useIncidentStack } from '../support/stack.js';

const secret = 'test-webhook-secret-history-replay';

/**
 * Whole lives of corrections on the dev server (approved, applied, lifted, the incident closed; and a
 * break-glass one ratified and lifted), then every history they left replayed with today's code, and
 * the closed workflows queried (a query on a closed workflow replays it in the worker). Recording steps
 * as local activities once made such a replay fail (TMPRL1100): this is the guard against that.
 *
 * With CORREX_RECORD_HISTORIES=<label> it also writes the histories to test/fixtures/histories as
 * `<type>.<label>.json`, which test/workflows/replay.test.ts replays with every later change.
 */
describe('replaying the histories of whole corrections, applied and lifted', () => {
  const stack = useIncidentStack({
    controlEndpoint: { secret },
    runbooks: { 'frontier-assistant': { from: 'frontier-assistant', adjust: (runbook) => stack.routeToEndpoint(runbook, { enforcement: true }) } },
  });
  const now = () => new Date().toISOString();
  const restoration = [
    { criterion: 'fix-deployed', evidence: 'deploy 4821' },
    { criterion: 'evaluation-passed', evidence: 'red-team run 77: 0 of 400 probes succeeded' },
  ];
  const correctionState = (workflowId: string, state: string) =>
    eventually(async () => ((await stack.clients.corrections.state(workflowId)).state === state ? true : undefined), 60_000);
  const completed = async (workflowId: string) => {
    await stack.client.workflow.getHandle(workflowId).result();
    await stack.settled(workflowId);
  };

  /** The patches a history's markers record, in order. */
  const patchesOf = (history: Awaited<ReturnType<ReturnType<typeof stack.client.workflow.getHandle>['fetchHistory']>>) =>
    (history.events ?? []).flatMap((event) => {
      const data = event.markerRecordedEventAttributes?.details?.['patch-data']?.payloads?.[0]?.data;
      return data ? [(JSON.parse(Buffer.from(data).toString('utf8')) as { id: string }).id] : [];
    });

  /** Replays each workflow's history with the current bundle, and records it when asked to. */
  const replayAll = async (label: string, workflowIds: string[]) => {
    const code = await readFile(inject('workflowBundlePath'), 'utf8');
    for (const workflowId of workflowIds) {
      const handle = stack.client.workflow.getHandle(workflowId);
      const history = await handle.fetchHistory();
      await Worker.runReplayHistory({ workflowBundle: { code } }, history, workflowId);
      const type = (await handle.describe()).type;
      // A run started now records its workflow's patch generation, not each patch (two events and a
      // visibility write apiece): workflows/patches.ts; patches written after it, each where it is asked.
      const patches = {
        incidentWorkflow: ['incident-2026-12-04'],
        correctionWorkflow: ['correction-2026-12-03'],
      }[type];
      if (patches) expect(patchesOf(history), `${type} ${workflowId}`).toEqual(patches);
      const record = process.env.CORREX_RECORD_HISTORIES;
      if (record) {
        await writeFile(
          path.join(projectRoot, 'test/fixtures/histories', `${type}.${record}-${label}.json`),
          `${JSON.stringify({ workflowId, history: JSON.parse(historyToJSON(history)) })}\n`,
        );
      }
    }
  };

  it('an approved rate limit, applied, lifted with restoration, the incident closed', async () => {
    const incident = await stack.clients.incidents.trigger(
      { systemId: 'frontier-assistant', title: 'Jailbreaks (replay)', severity: 'SEV2', dedupKey: 'replay-approved' },
      'amara-okafor',
      { runbookVersion: stack.runbookVersion() },
    );
    await stack.clients.incidents.acknowledge(incident.workflowId, { actor: 'amara-okafor', at: now() });
    const proposed = await stack.clients.incidents.propose(incident.workflowId, {
      actor: 'amara-okafor',
      at: now(),
      kind: 'rate_limit',
      scope: { tiers: ['free'] },
      parameters: { requestsPerMinute: 10, per: 'user' },
      reason: 'Slow the campaign',
    });
    await stack.clients.corrections.decide(proposed.workflowId, { actor: 'sofia-marquez', at: now(), decision: 'approve', rationale: 'Contained' });
    await correctionState(proposed.workflowId, 'active');
    await stack.clients.incidents.lift(incident.workflowId, {
      correctionId: proposed.correctionId,
      actor: 'sofia-marquez',
      at: now(),
      rationale: 'Fixed',
      restoration,
    });
    await correctionState(proposed.workflowId, 'lifted');
    await eventually(async () => ((await stack.clients.incidents.state(incident.workflowId)).corrections[0]?.state === 'lifted' ? true : undefined));
    await stack.clients.incidents.resolve(incident.workflowId, { actor: 'amara-okafor', at: now() });
    await stack.clients.incidents.close(incident.workflowId, { actor: 'amara-okafor', at: now(), reason: 'done' });
    await completed(proposed.workflowId);
    await completed(incident.workflowId);

    // Queried once closed: the worker replays the whole history to answer.
    expect((await stack.clients.corrections.state(proposed.workflowId)).state).toBe('lifted');
    expect((await stack.clients.incidents.state(incident.workflowId)).state).toBe('closed');
    await replayAll('approved', [incident.workflowId, proposed.workflowId]);
  });

  it('a break-glass shutdown, ratified, lifted by two votes, the incident closed', async () => {
    const incident = await stack.clients.incidents.trigger(
      { systemId: 'frontier-assistant', title: 'Unsafe answers (replay)', severity: 'SEV2', dedupKey: 'replay-break-glass' },
      'amara-okafor',
      { runbookVersion: stack.runbookVersion() },
    );
    await stack.clients.incidents.acknowledge(incident.workflowId, { actor: 'jonas-berg', at: now() });
    const proposed = await stack.clients.incidents.propose(incident.workflowId, {
      actor: 'jonas-berg',
      at: now(),
      kind: 'shutdown',
      scope: { all: true },
      parameters: {},
      reason: 'Stop serving at once',
      breakGlass: true,
    });
    await correctionState(proposed.workflowId, 'awaiting-ratification');
    for (const actor of ['daniel-cho', 'priya-raman'])
      await stack.clients.corrections.decide(proposed.workflowId, { actor, at: now(), decision: 'approve', rationale: 'Ratified' });
    await correctionState(proposed.workflowId, 'active');
    await stack.clients.incidents.lift(incident.workflowId, {
      correctionId: proposed.correctionId,
      actor: 'daniel-cho',
      at: now(),
      rationale: 'Fixed',
      restoration,
    });
    await stack.clients.incidents.lift(incident.workflowId, { correctionId: proposed.correctionId, actor: 'priya-raman', at: now(), rationale: 'Fixed' });
    await correctionState(proposed.workflowId, 'lifted');
    await eventually(async () => ((await stack.clients.incidents.state(incident.workflowId)).corrections[0]?.state === 'lifted' ? true : undefined));
    await stack.clients.incidents.resolve(incident.workflowId, { actor: 'jonas-berg', at: now() });
    await stack.clients.incidents.close(incident.workflowId, { actor: 'jonas-berg', at: now(), reason: 'done' });
    await completed(proposed.workflowId);
    await completed(incident.workflowId);

    expect((await stack.clients.corrections.state(proposed.workflowId)).state).toBe('lifted');
    expect((await stack.clients.incidents.state(incident.workflowId)).state).toBe('closed');
    await replayAll('break-glass', [incident.workflowId, proposed.workflowId]);
  });
});
