import { proxyActivities, setHandler, sleep } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import type { DrillPlan } from '../../services/drill/plan.js';
import type { IncidentSnapshot } from '../../services/incident/schema.js';
import type { CorrectionSnapshot } from '../correction/messages.js';
import { drillStateQuery, type DrillSnapshot } from './messages.js';
import type { ReviewSnapshot } from '../review/messages.js';
import { workflowNow } from '../time.js';

// A drill that cannot take a step says so soon instead of retrying for ever.
const { drillAction } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumAttempts: 3 },
});

export interface DrillStart {
  drillId: string;
  plan: DrillPlan;
  startedBy: string;
}

/**
 * A game day: one incident under the system's runbook, end to end, with the dry-run enforcer and mail
 * to the outbox, each step taken by the runbook person whose role it is, and timed.
 */
export async function drillWorkflow(start: DrillStart): Promise<DrillSnapshot> {
  const { plan } = start;
  const snapshot: DrillSnapshot = { drillId: start.drillId, systemId: plan.systemId, state: 'running', incidentId: undefined, steps: [], failure: undefined };
  setHandler(drillStateQuery, () => snapshot);

  const step = async <T>(name: string, by: string | undefined, run: () => Promise<T>, detail?: (result: T) => string): Promise<T> => {
    const startedAt = workflowNow();
    const entry = { name, by, startedAt: new Date(startedAt).toISOString(), ms: undefined as number | undefined, detail: undefined as string | undefined };
    snapshot.steps.push(entry);
    const result = await run();
    entry.ms = workflowNow() - startedAt;
    entry.detail = detail?.(result);
    return result;
  };
  /** Polls until the condition holds: what it waits for happens in other workflows. */
  const until = async <T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> => {
    for (let attempt = 0; attempt < 600; attempt++) {
      const value = await read();
      if (done(value)) return value;
      await sleep(500);
    }
    throw new Error(`gave up waiting: ${what}`);
  };

  try {
    const opened = (await step(
      'trigger',
      start.startedBy,
      () => drillAction({ action: 'trigger', drillId: start.drillId, plan, startedBy: start.startedBy }),
      () => `${plan.severity}: ${plan.title}`,
    )) as {
      incidentId: string;
      workflowId: string;
    };
    snapshot.incidentId = opened.incidentId;
    const incident = () => drillAction({ action: 'incident', workflowId: opened.workflowId }) as Promise<IncidentSnapshot>;
    await step('acknowledge', plan.commander, () => drillAction({ action: 'acknowledge', workflowId: opened.workflowId, actor: plan.commander }));
    const proposed = (await step(
      `propose ${plan.correction.kind}`,
      plan.commander,
      () => drillAction({ action: 'propose', workflowId: opened.workflowId, actor: plan.commander, correction: plan.correction }),
      () => plan.correction.reason,
    )) as { correctionId: string; workflowId: string };
    for (const approver of plan.approvers) {
      await step('approve', approver, () => drillAction({ action: 'approve', correctionWorkflowId: proposed.workflowId, actor: approver }));
    }
    await step('applied (dry-run enforcer) and verified', 'system:enforcement', () =>
      until(
        () => drillAction({ action: 'correction', correctionWorkflowId: proposed.workflowId }) as Promise<CorrectionSnapshot>,
        (c) => c.state === 'active',
        'the correction to be active',
      ),
    );
    await step('lift with restoration criteria', plan.lifter, () =>
      drillAction({ action: 'lift', workflowId: opened.workflowId, correctionId: proposed.correctionId, actor: plan.lifter, restoration: plan.restoration }),
    );
    await step('lifted', 'system:enforcement', () => until(incident, (s) => s.corrections.every((c) => c.state === 'lifted'), 'the correction to be lifted'));
    await step('resolve', plan.commander, () => drillAction({ action: 'resolve', workflowId: opened.workflowId, actor: plan.commander }));
    const reviewId = (await until(incident, (s) => s.reviewWorkflowId !== undefined, 'the after-action review to start')).reviewWorkflowId!;
    const review = await step(
      'after-action tasks created',
      'system:review',
      () =>
        until(
          () => drillAction({ action: 'review', reviewWorkflowId: reviewId }) as Promise<ReviewSnapshot>,
          (r) => r.tasks.length > 0,
          'the review tasks',
        ),
      (r) => `${r.tasks.length} tasks`,
    );
    await step('submit review', plan.commander, () => drillAction({ action: 'submitReview', reviewWorkflowId: reviewId, actor: plan.commander }));
    for (const task of review.tasks) {
      const owner = task.owner ?? plan.commander;
      await step(`task done: ${task.title}`, owner, () =>
        drillAction({ action: 'completeTask', reviewWorkflowId: reviewId, actor: owner, taskId: task.taskId }),
      );
    }
    await step('sign off', plan.signOff, () => drillAction({ action: 'signOff', reviewWorkflowId: reviewId, actor: plan.signOff }));
    await step('closed', 'system:review', () => until(incident, (s) => s.state === 'closed', 'the incident to close'));
    snapshot.state = 'completed';
  } catch (error) {
    snapshot.state = 'failed';
    const last = snapshot.steps.at(-1);
    snapshot.failure = `${last ? `${last.name}: ` : ''}${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`;
  }
  return snapshot;
}
