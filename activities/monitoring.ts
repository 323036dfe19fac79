import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import { MonitorClient } from '../services/monitoring/client.js';
import { callEvaluation, syncEvaluationSchedules, type EvaluationResult, type EvaluationRun } from '../services/monitoring/evaluations.js';
import type { Database } from '../services/db/schema.js';
import type { MonitorPlan } from '../services/monitoring/matching.js';
import { planMonitor } from '../services/monitoring/plan.js';
import { findIncident } from '../services/incident/repository.js';
import { linkSignals, recordAlertsJoined, recordAlertResolved, suppressSignal } from '../services/monitoring/repository.js';
import { findRunbookVersion } from '../services/runbook/repository.js';

export interface MonitoringActivityDependencies {
  db: Kysely<Database>;
  /** For what activities do to Temporal itself: schedules, handing signals to monitors. */
  client: Client;
}

export function createMonitoringActivities({ db, client }: MonitoringActivityDependencies) {
  /**
   * The monitor links signals right after starting an incident, whose first activity records the row
   * the links refer to: wait for that row (for most of the timeout) rather than fail on the foreign key
   * and be retried, which reads as a defect.
   */
  const untilIncidentRecorded = async (incidentId: string) => {
    for (let waited = 0; !(await findIncident(db, incidentId)); waited += 100) {
      if (waited >= 20_000)
        throw ApplicationFailure.retryable(`incident ${incidentId} is not recorded yet; its signals are linked once it is`, 'IncidentNotRecorded');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  return {
    /** Schedules match the runbook's evaluations (created, updated, removed). */
    async syncEvaluationSchedules(
      plan: MonitorPlan,
      previous: string[],
    ): Promise<{ scheduleIds: string[]; created: string[]; updated: string[]; deleted: string[] }> {
      return syncEvaluationSchedules(client, Context.current().info.taskQueue, plan, previous);
    },
    /** Runs one evaluation and hands its result to the monitor as an `evaluation` signal. */
    async runEvaluation(run: EvaluationRun): Promise<EvaluationResult & { signalId: string }> {
      const result = await callEvaluation(run);
      const monitor = new MonitorClient({ db, client, taskQueue: Context.current().info.taskQueue });
      const { signalId } = await monitor.deliver(
        {
          systemId: run.systemId,
          source: 'evaluation',
          status: result.passed ? 'resolved' : 'firing',
          labels: { evaluation: run.evaluation.id, result: result.passed ? 'pass' : 'fail' },
          // Named, since it titles the incident a failure opens.
          summary: `Evaluation ${run.evaluation.id} ${result.passed ? 'passed' : 'failed'}${result.detail ? `: ${result.detail}` : ''}`.slice(0, 1024),
          idempotencyKey: `${run.evaluation.id}:${Context.current().info.workflowExecution?.workflowId ?? ''}`,
        },
        run.runbookVersion,
      );
      return { ...result, signalId };
    },
    /** The monitor's rules from a runbook version (immutable, so replay-safe). */
    async prepareMonitor(runbookVersion: string): Promise<MonitorPlan> {
      const runbook = await findRunbookVersion(db, runbookVersion);
      if (!runbook) throw new Error(`runbook version ${runbookVersion} is not recorded in the database`);
      return planMonitor(runbook, runbookVersion);
    },
    /** Links signals to the incident they opened or joined (once the incident is recorded). */
    async linkSignals(signalIds: string[], incidentId: string): Promise<void> {
      await untilIncidentRecorded(incidentId);
      await linkSignals(db, signalIds, incidentId);
    },
    async recordAlertsJoined(j: { incidentId: string; signalIds: string[]; newAlerts: string[] }): Promise<void> {
      await untilIncidentRecorded(j.incidentId);
      await recordAlertsJoined(db, j);
    },
    async recordAlertResolved(r: { signalId: string; incidentId: string; alertKey: string | undefined; remaining: number; at: string }): Promise<void> {
      await untilIncidentRecorded(r.incidentId);
      await recordAlertResolved(db, r);
    },
    async suppressSignal(s: { signalId: string; silenceId: string; owner: string; reason: string; incidentId: string | undefined }): Promise<void> {
      await suppressSignal(db, s);
    },
  };
}
