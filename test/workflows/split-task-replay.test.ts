import path from 'node:path';
import { readFile } from 'node:fs/promises';
import type { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { eventually } from '../support/database.js';
import { projectRoot } from '../support/environment.js';
import { useIncidentStack } from '../support/stack.js';

const secret = 'test-webhook-secret-split-task';

/** The workflow task completion that recorded each local activity, by activity type, in the order recorded. */
function localActivityTasks(history: temporal.api.history.v1.IHistory): { type: string; task: number }[] {
  let task = 0;
  const recorded: { type: string; task: number }[] = [];
  for (const event of history.events ?? []) {
    if (event.workflowTaskCompletedEventAttributes) task = Number(event.eventId);
    const marker = event.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_local_activity') continue;
    const data = marker.details?.data?.payloads?.[0]?.data;
    const type = data ? (JSON.parse(Buffer.from(data).toString('utf8')) as { activity_type: string }).activity_type : '?';
    recorded.push({ type, task });
  }
  return recorded;
}

/**
 * A query answered after a local activity finished, but before the workflow saw its result, makes
 * sdk-core complete the workflow task with the activity's record and ask for another, in which the
 * workflow goes on; replay hands the result over in the first task. Code after the activity then runs
 * one task early on replay: a patched() there disagreed with its history, and so did an Update's
 * completion against a signal sent in the same task (TMPRL1100). That is why the incident records its
 * steps with activity tasks (record-with-activities); the correction still runs two local activities
 * (its proposal's record, its first apply). Here every query is slowed down (test/support/
 * slow-queries.ts), the first task and a decision's task each wait for a worker with a query beside
 * them, and queries run throughout: every history must replay, and the closed workflows answer queries.
 */
describe('incidents and corrections whose workflow tasks queries split, replayed', () => {
  const stack = useIncidentStack({
    controlEndpoint: { secret },
    workflowInterceptorModules: [path.join(projectRoot, 'test/support/slow-queries.ts')],
    runbooks: { 'frontier-assistant': { from: 'frontier-assistant', adjust: (runbook) => stack.routeToEndpoint(runbook, { enforcement: true }) } },
  });
  const now = () => new Date().toISOString();

  it('a break-glass shutdown applied, ratified, lifted, the incident closed: every history replays', async () => {
    // No worker when the trigger starts the incident: its first workflow task waits, and the trigger's
    // query comes with it, answered (slowly) while the incident prepares.
    await stack.stopWorker();
    const triggering = stack.clients.incidents.trigger(
      { systemId: 'frontier-assistant', title: 'Unsafe answers (split tasks)', severity: 'SEV2', dedupKey: 'split-task' },
      'jonas-berg',
      { runbookVersion: stack.runbookVersion() },
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await stack.startWorker();
    const incident = await triggering;
    // Queries all along, as the console and the API's reads send them.
    let querying = true;
    const queries = (async () => {
      while (querying) await stack.clients.incidents.state(incident.workflowId).catch(() => undefined);
    })();
    try {
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
      const correctionState = (state: string) =>
        eventually(async () => ((await stack.clients.corrections.state(proposed.workflowId)).state === state ? true : undefined), 60_000);
      await correctionState('awaiting-ratification');
      for (const actor of ['daniel-cho', 'priya-raman'])
        await stack.clients.corrections.decide(proposed.workflowId, { actor, at: now(), decision: 'approve', rationale: 'Ratified' });
      await correctionState('active');
      const restoration = [
        { criterion: 'fix-deployed', evidence: 'deploy 4821' },
        { criterion: 'evaluation-passed', evidence: 'red-team run 77: 0 of 400 probes succeeded' },
      ];
      await stack.clients.incidents.lift(incident.workflowId, {
        correctionId: proposed.correctionId,
        actor: 'daniel-cho',
        at: now(),
        rationale: 'Fixed',
        restoration,
      });
      await stack.clients.incidents.lift(incident.workflowId, { correctionId: proposed.correctionId, actor: 'priya-raman', at: now(), rationale: 'Fixed' });
      await correctionState('lifted');
      await eventually(async () => ((await stack.clients.incidents.state(incident.workflowId)).corrections[0]?.state === 'lifted' ? true : undefined));
      await stack.clients.incidents.resolve(incident.workflowId, { actor: 'jonas-berg', at: now() });
      await stack.clients.incidents.close(incident.workflowId, { actor: 'jonas-berg', at: now(), reason: 'done' });
      for (const workflowId of [proposed.workflowId, incident.workflowId]) await stack.client.workflow.getHandle(workflowId).result();
      querying = false;
      await queries;

      const code = await readFile(inject('workflowBundlePath'), 'utf8');
      const failures: string[] = [];
      for (const workflowId of [incident.workflowId, proposed.workflowId]) {
        const replayed = await stack.client.workflow.getHandle(workflowId).fetchHistory();
        await Worker.runReplayHistory({ workflowBundle: { code } }, replayed, workflowId).catch((error: unknown) =>
          failures.push(`${workflowId}: ${(error as Error).message.slice(0, 300)}`),
        );
      }
      expect(failures).toEqual([]);
      // Queried once closed: the worker replays the whole history to answer.
      expect((await stack.clients.incidents.state(incident.workflowId)).state).toBe('closed');
      expect((await stack.clients.corrections.state(proposed.workflowId)).state).toBe('lifted');
    } finally {
      querying = false;
      await queries;
    }
  });

  it('a rate limit approved with a query waiting beside the decision: every history replays', async () => {
    const incident = await stack.clients.incidents.trigger(
      { systemId: 'frontier-assistant', title: 'Jailbreaks (split tasks)', severity: 'SEV2', dedupKey: 'split-task-decision' },
      'jonas-berg',
      { runbookVersion: stack.runbookVersion() },
    );
    await stack.clients.incidents.acknowledge(incident.workflowId, { actor: 'jonas-berg', at: now() });
    const proposed = await stack.clients.incidents.propose(incident.workflowId, {
      actor: 'jonas-berg',
      at: now(),
      kind: 'rate_limit',
      scope: { tiers: ['free'] },
      parameters: { requestsPerMinute: 10, per: 'user' },
      reason: 'Slow the campaign',
    });
    const correctionState = (state: string) =>
      eventually(async () => ((await stack.clients.corrections.state(proposed.workflowId)).state === state ? true : undefined), 60_000);
    await correctionState('proposed');
    await stack.settled(proposed.workflowId);
    // The decision and a query wait together for a worker: the quorum is met, and the first apply runs
    // as a local activity, in the workflow task that answers the query.
    await stack.stopWorker();
    const deciding = stack.clients.corrections.decide(proposed.workflowId, { actor: 'sofia-marquez', at: now(), decision: 'approve', rationale: 'Contained' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const asked = stack.clients.corrections.state(proposed.workflowId);
    await new Promise((resolve) => setTimeout(resolve, 700));
    await stack.startWorker();
    await Promise.all([deciding, asked]);
    await correctionState('active');
    const restoration = [
      { criterion: 'fix-deployed', evidence: 'deploy 4822' },
      { criterion: 'evaluation-passed', evidence: 'red-team run 78: 0 of 400 probes succeeded' },
    ];
    await stack.clients.incidents.lift(incident.workflowId, {
      correctionId: proposed.correctionId,
      actor: 'sofia-marquez',
      at: now(),
      rationale: 'Fixed',
      restoration,
    });
    await correctionState('lifted');
    await eventually(async () => ((await stack.clients.incidents.state(incident.workflowId)).corrections[0]?.state === 'lifted' ? true : undefined));
    await stack.clients.incidents.resolve(incident.workflowId, { actor: 'jonas-berg', at: now() });
    await stack.clients.incidents.close(incident.workflowId, { actor: 'jonas-berg', at: now(), reason: 'done' });
    for (const workflowId of [proposed.workflowId, incident.workflowId]) await stack.client.workflow.getHandle(workflowId).result();

    // The premise: the correction recorded its proposal and its first apply as local activities.
    const recorded = localActivityTasks(await stack.client.workflow.getHandle(proposed.workflowId).fetchHistory()).map((r) => r.type);
    expect(recorded).toEqual(expect.arrayContaining(['recordCorrectionProposed', 'applyCorrection']));
    const code = await readFile(inject('workflowBundlePath'), 'utf8');
    const failures: string[] = [];
    for (const workflowId of [incident.workflowId, proposed.workflowId]) {
      const replayed = await stack.client.workflow.getHandle(workflowId).fetchHistory();
      await Worker.runReplayHistory({ workflowBundle: { code } }, replayed, workflowId).catch((error: unknown) =>
        failures.push(`${workflowId}: ${(error as Error).message.slice(0, 300)}`),
      );
    }
    expect(failures).toEqual([]);
  });
});
