import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { DeterminismViolationError } from '@temporalio/workflow';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { inject, describe, expect, it } from 'vitest';
import { projectRoot } from '../support/environment.js';

const historiesDir = path.join(projectRoot, 'test/fixtures/histories');
const silent = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

async function recorded() {
  const files = (await readdir(historiesDir)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    files.map(async (file) => {
      const { workflowId, history } = JSON.parse(await readFile(path.join(historiesDir, file), 'utf8')) as { workflowId: string; history: unknown };
      // runReplayHistory reads Temporal's JSON history itself. `<type>.json`, or `<type>.<label>.json` for
      // more histories of one type (recorded by test/workflows/history-replay.test.ts before a change).
      return { type: file.split('.')[0]!, file, workflowId, history };
    }),
  );
}

describe("replay: today's workflow code against recorded histories of every workflow type", () => {
  it('replays every recorded history with the current code', async () => {
    const histories = await recorded();
    expect([...new Set(histories.map((h) => h.type))]).toEqual([
      'afterActionReviewWorkflow',
      'correctionWorkflow',
      'drillWorkflow',
      'escalationWorkflow',
      'incidentWorkflow',
      'monitorWorkflow',
      'regulatoryClockWorkflow',
    ]);
    const code = await readFile(inject('workflowBundlePath'), 'utf8');
    for (const { file, workflowId, history } of histories) {
      await Worker.runReplayHistory({ workflowBundle: { code } }, history, workflowId).catch((error: unknown) => {
        throw new Error(`${file}: ${(error as Error).message}`);
      });
    }
  }, 60_000);

  it('fails on a change to the command sequence without patched(), and passes with it', async () => {
    const incident = (await recorded()).find((h) => h.file === 'incidentWorkflow.json')!;
    const bundle = (file: string) => bundleWorkflowCode({ workflowsPath: path.join(projectRoot, 'test/fixtures/workflows', file), logger: silent });
    const [changed, guarded] = await Promise.all([bundle('changed-incident.ts'), bundle('patched-incident.ts')]);
    await expect(Worker.runReplayHistory({ workflowBundle: changed }, incident.history, incident.workflowId)).rejects.toThrow(DeterminismViolationError);
    await Worker.runReplayHistory({ workflowBundle: guarded }, incident.history, incident.workflowId);
  }, 120_000);
});
