import { ScheduleAlreadyRunning, ScheduleNotFoundError, type Client } from '@temporalio/client';
import type { MonitorPlan } from './matching.js';

export interface EvaluationRun {
  systemId: string;
  runbookVersion: string;
  evaluation: { id: string; url: string };
}

export interface EvaluationResult {
  passed: boolean;
  detail: string;
}

const prefix = (systemId: string) => `evaluation:${systemId}:`;

/**
 * Makes the system's Temporal Schedules match its runbook's evaluations: one per evaluation, at its
 * cadence, starting `evaluationRunWorkflow`; the schedules `previous` lists that the runbook no
 * longer wants are deleted. Returns the schedule ids now in place.
 */
export async function syncEvaluationSchedules(
  client: Client,
  taskQueue: string,
  plan: MonitorPlan,
  previous: string[],
): Promise<{ scheduleIds: string[]; created: string[]; updated: string[]; deleted: string[] }> {
  const wanted = new Map(plan.evaluations.map((e) => [`${prefix(plan.systemId)}${e.id}`, e]));
  const outcome = { scheduleIds: [...wanted.keys()], created: [] as string[], updated: [] as string[], deleted: [] as string[] };
  for (const scheduleId of previous.filter((id) => !wanted.has(id))) {
    await client.schedule
      .getHandle(scheduleId)
      .delete()
      .catch((error: unknown) => {
        if (!(error instanceof ScheduleNotFoundError)) throw error;
      });
    outcome.deleted.push(scheduleId);
  }
  for (const [scheduleId, evaluation] of wanted) {
    const run: EvaluationRun = { systemId: plan.systemId, runbookVersion: plan.runbookVersion, evaluation: { id: evaluation.id, url: evaluation.url } };
    const options = {
      spec: { intervals: [{ every: evaluation.everyMs }] },
      action: { type: 'startWorkflow' as const, workflowType: 'evaluationRunWorkflow', args: [run], taskQueue, workflowId: scheduleId },
    };
    try {
      await client.schedule.create({ scheduleId, ...options });
      outcome.created.push(scheduleId);
    } catch (error) {
      if (!(error instanceof ScheduleAlreadyRunning)) throw error;
      await client.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, ...options }));
      outcome.updated.push(scheduleId);
    }
  }
  return outcome;
}

/** Calls an evaluation endpoint: `POST <url>` with `{ systemId, evaluationId }`, answering `{ "passed": boolean, "detail"?: string }`. */
export async function callEvaluation(run: EvaluationRun): Promise<EvaluationResult> {
  try {
    const response = await fetch(run.evaluation.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ systemId: run.systemId, evaluationId: run.evaluation.id }),
      signal: AbortSignal.timeout(30_000),
    });
    if (!response.ok) return { passed: false, detail: `${run.evaluation.url} answered ${response.status}` };
    const body = (await response.json()) as { passed?: unknown; detail?: unknown };
    return { passed: body.passed === true, detail: typeof body.detail === 'string' ? body.detail.toWellFormed().replaceAll('\u0000', '') : '' };
  } catch (error) {
    return { passed: false, detail: `${run.evaluation.url} unreachable: ${(error as Error).message}` };
  }
}
