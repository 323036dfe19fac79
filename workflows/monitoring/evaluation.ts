import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import type { EvaluationRun } from '../../services/monitoring/evaluations.js';
import { untilDone } from '../activity-options.js';

const { runEvaluation } = proxyActivities<Activities>(untilDone);

/** One scheduled run of a post-deployment evaluation; its result goes through the monitor's triggers. */
export async function evaluationRunWorkflow(run: EvaluationRun): Promise<{ passed: boolean; detail: string }> {
  const { passed, detail } = await runEvaluation(run);
  return { passed, detail };
}
