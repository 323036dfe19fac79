import { patched, proxyActivities, setHandler, sleep } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import type { DeliveryReport } from '../../activities/drill.js';
import type { DrillPlan } from '../../services/drill/plan.js';
import type { IncidentSnapshot } from '../../services/incident/schema.js';
import type { CorrectionSnapshot } from '../correction/messages.js';
import { drillStateQuery, type DrillSnapshot } from './messages.js';
import type { ReviewSnapshot } from '../review/messages.js';
import { workflowNow } from '../time.js';

// A drill that cannot take a step says so soon instead of retrying for ever.
const { drillAction, drillDelivery, drillGatewayProbe } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumAttempts: 3 },
});

export interface DrillStart {
  drillId: string;
  plan: DrillPlan;
  startedBy: string;
}

type Step = DrillSnapshot['steps'][number];

/**
 * A game day: one incident under the system's runbook, end to end, with the dry-run enforcer, each step
 * taken by a runbook person the real incident would let take it, each notice and fallback switch sent the
 * real way to a drill target, and timed.
 */
export async function drillWorkflow(start: DrillStart): Promise<DrillSnapshot> {
  const snapshot: DrillSnapshot = {
    drillId: start.drillId,
    systemId: start.plan.systemId,
    state: 'running',
    incidentId: undefined,
    steps: [],
    failure: undefined,
  };
  setHandler(drillStateQuery, () => snapshot);
  // Notices and fallbacks as steps, people cast by the real rules and tokens; drills from before keep their sequence.
  if (!patched('drill-real-paths')) return drillAsBefore(start, snapshot);

  const { plan } = start;
  const fail = (entry: Step, reason: string) => Object.assign(entry, { outcome: 'failed', reason });
  /** Runs a step; a step that throws stops the drill. `judge` fails a step that ran without stopping it. */
  const step = async <T>(
    name: string,
    by: string | undefined,
    run: () => Promise<T>,
    detail?: (result: T) => string,
    judge?: (result: T) => string | undefined,
  ): Promise<T> => {
    const startedAt = workflowNow();
    const entry: Step = { name, by, startedAt: new Date(startedAt).toISOString() };
    snapshot.steps.push(entry);
    try {
      const result = await run();
      entry.detail = detail?.(result) || undefined;
      const failure = judge?.(result);
      if (failure) fail(entry, failure);
      else entry.outcome = 'ok';
      return result;
    } catch (error) {
      const cause = (error as Error).cause instanceof Error ? ((error as Error).cause as Error) : (error as Error);
      fail(entry, cause.message);
      throw new DrillStopped();
    } finally {
      entry.ms = workflowNow() - startedAt;
    }
  };
  const until = pollUntil;
  const castAs = (step: string, person: string) => {
    const cast = plan.cast?.find((c) => c.step === step && c.person === person);
    return cast ? `${cast.role ? `as ${cast.role} ` : ''}(token: ${cast.token})` : undefined;
  };
  const asPlanned = (step: string, person: string) => () => castAs(step, person) ?? '';
  /** Notices reported as steps of their own, left out of the count of the others. */
  const reported: string[] = [];

  try {
    if (plan.problems?.length) {
      // Nobody may take these steps in a real incident: failing them now touches nothing.
      const at = new Date(workflowNow()).toISOString();
      for (const problem of plan.problems) snapshot.steps.push({ name: problem.step, startedAt: at, ms: 0, outcome: 'failed', reason: problem.reason });
      throw new DrillStopped();
    }
    const commander = plan.commander!;
    const opened = (await step(
      'trigger',
      start.startedBy,
      () => drillAction({ action: 'trigger', drillId: start.drillId, plan, startedBy: start.startedBy }),
      () => `${plan.severity}: ${plan.title}`,
    )) as { incidentId: string; workflowId: string };
    snapshot.incidentId = opened.incidentId;
    const incident = () => drillAction({ action: 'incident', workflowId: opened.workflowId }) as Promise<IncidentSnapshot>;
    await step(
      'acknowledge',
      commander,
      () => drillAction({ action: 'acknowledge', workflowId: opened.workflowId, actor: commander }),
      asPlanned('acknowledge', commander),
    );
    const proposed = (await step(
      `propose ${plan.correction.kind}`,
      commander,
      () => drillAction({ action: 'propose', workflowId: opened.workflowId, actor: commander, correction: plan.correction }),
      () => [plan.correction.reason, castAs('propose', commander)].filter(Boolean).join(' '),
    )) as { correctionId: string; workflowId: string };
    for (const approver of plan.approvers) {
      await step(
        'approve',
        approver,
        () => drillAction({ action: 'approve', correctionWorkflowId: proposed.workflowId, actor: approver }),
        asPlanned('approve', approver),
      );
    }
    const correction = () => drillAction({ action: 'correction', correctionWorkflowId: proposed.workflowId }) as Promise<CorrectionSnapshot>;
    const applied = await step('applied (dry-run enforcer) and verified', 'system:enforcement', () =>
      until(correction, (c) => c.state === 'active', 'the correction to be active'),
    );
    // The correction at the system's real gateway, with requests only the drill's corrections meet.
    if (plan.gatewayProbe && patched('drill-probes-gateway')) {
      const probe = plan.gatewayProbe;
      await step(
        'enforced at the gateway (drill traffic)',
        'system:enforcement',
        () => drillGatewayProbe({ incidentId: opened.incidentId, systemId: plan.systemId, correction: plan.correction, probe }),
        (report) => report.detail,
        (report) => report.failure,
      );
    }

    // Each consumer the correction reaches: its notice and its fallback switch, as the correction sends them.
    const consumers = applied.downstream ?? [];
    const downstream = async (phase: 'applied' | 'lifted') => {
      for (const { consumerId, name } of consumers) {
        // The keys the correction sends them under, so each is found again however many consumers share a contact.
        const noticeKey = `${proposed.correctionId}:${consumerId}:notice-${phase}`;
        const action = phase === 'applied' ? 'activate' : 'deactivate';
        reported.push(noticeKey);
        await step(
          `notice ${phase === 'applied' ? 'in force' : 'lifted'}: ${name}`,
          'system:notifications',
          async () => {
            await until(
              correction,
              (c) => c.downstream?.find((d) => d.consumerId === consumerId)?.notice === (phase === 'applied' ? 'in-force' : 'lifted'),
              `the notice to ${name}`,
            );
            return drillDelivery({ what: 'notice', incidentId: opened.incidentId, idempotencyKey: noticeKey });
          },
          (r: DeliveryReport) => r.detail,
          (r) => r.failure,
        );
        await step(
          `fallback ${phase === 'applied' ? 'on' : 'off'}: ${name}`,
          'system:fallback',
          async (): Promise<DeliveryReport> => {
            const settled = (await until(
              correction,
              (c) =>
                [action === 'activate' ? 'active' : 'inactive', 'failing'].includes(c.downstream?.find((d) => d.consumerId === consumerId)?.fallback ?? ''),
              `the fallback of ${name}`,
            ))!.downstream!.find((d) => d.consumerId === consumerId)!;
            if (settled.fallback === 'failing') return { detail: '', failure: settled.lastError ?? 'failing' };
            return drillDelivery({ what: 'fallback', incidentId: opened.incidentId, correctionId: proposed.correctionId, consumerId, action });
          },
          (r) => r.detail,
          (r) => r.failure,
        );
      }
    };
    await downstream('applied');

    for (const lifter of plan.lifters ?? [plan.lifter!]) {
      await step(
        'lift with restoration criteria',
        lifter,
        () => drillAction({ action: 'lift', workflowId: opened.workflowId, correctionId: proposed.correctionId, actor: lifter, restoration: plan.restoration }),
        asPlanned('lift', lifter),
      );
    }
    // The fallback comes off once customers are told of the lift, before the incident counts it lifted.
    await downstream('lifted');
    await step('lifted', 'system:enforcement', () => until(incident, (s) => s.corrections.every((c) => c.state === 'lifted'), 'the correction to be lifted'));
    await step(
      'resolve',
      commander,
      () => drillAction({ action: 'resolve', workflowId: opened.workflowId, actor: commander }),
      asPlanned('resolve', commander),
    );
    const reviewId = (
      await step('after-action review started', 'system:review', () =>
        until(incident, (s) => s.reviewWorkflowId !== undefined, 'the after-action review to start'),
      )
    ).reviewWorkflowId!;
    const review = () => drillAction({ action: 'review', reviewWorkflowId: reviewId }) as Promise<ReviewSnapshot>;
    await step(
      'after-action tasks created',
      'system:review',
      () => until(review, (r) => r.tasks.length > 0, 'the review tasks'),
      (r) => `${r.tasks.length} tasks`,
    );
    await step(
      'submit review',
      commander,
      () => drillAction({ action: 'submitReview', reviewWorkflowId: reviewId, actor: commander }),
      asPlanned('submit review', commander),
    );
    // Read again: submitting the record may have settled tasks of its own.
    for (const task of (await review()).tasks.filter((t) => t.state === 'open')) {
      const owner = task.owner && plan.markTasksDone?.includes(task.owner) ? task.owner : commander;
      await step(
        `task done: ${task.title}`,
        owner,
        () => drillAction({ action: 'completeTask', reviewWorkflowId: reviewId, actor: owner, taskId: task.taskId }),
        () =>
          !task.owner
            ? `nobody holds ${task.ownerRole}: the commander marks it`
            : owner === task.owner
              ? ''
              : `for ${task.owner}, who holds no token that may mark it done`,
      );
    }
    await step(
      'sign off',
      plan.signOff,
      () => drillAction({ action: 'signOff', reviewWorkflowId: reviewId, actor: plan.signOff! }),
      asPlanned('sign off', plan.signOff!),
    );
    await step('closed', 'system:review', () => until(incident, (s) => s.state === 'closed', 'the incident to close'));
  } catch (error) {
    if (!(error instanceof DrillStopped)) {
      snapshot.steps.push({ name: 'drill', startedAt: new Date(workflowNow()).toISOString(), ms: 0, outcome: 'failed', reason: (error as Error).message });
    }
  }
  // Where the mail went, however far the drill got: never a claim that no mailbox was touched.
  if (snapshot.incidentId) {
    const mail = await step(
      'other notices and pages',
      'system:notifications',
      async () => {
        // Notices of the closing are still on their way when the incident closes: a while to arrive.
        let report = await drillDelivery({ what: 'mail', incidentId: snapshot.incidentId!, reported });
        for (let attempt = 0; report.failure && attempt < 60; attempt++) {
          await sleep(500);
          report = await drillDelivery({ what: 'mail', incidentId: snapshot.incidentId!, reported });
        }
        return report;
      },
      (r) => r.detail,
      (r) => r.failure,
    ).catch(() => undefined);
    if (mail?.where)
      snapshot.touched = `no enforcer (the dry-run enforcer stood in)${
        plan.gatewayProbe ? `; the gateway at ${plan.gatewayProbe.url} was sent probe requests marked as the drill's, which no real traffic meets` : ''
      }; fallbacks switched at their drill targets, as each fallback step says; mail ${mail.where}; no regulator clock started`;
  }
  const failed = snapshot.steps.filter((s) => s.outcome === 'failed');
  snapshot.state = failed.length ? 'failed' : 'completed';
  if (failed.length)
    snapshot.failure = `${failed[0]!.name}: ${failed[0]!.reason}${failed.length > 1 ? ` (and ${failed.length - 1} more failed step${failed.length > 2 ? 's' : ''})` : ''}`;
  return snapshot;
}

/** A step failed in a way the drill cannot go on from; the step says why. */
class DrillStopped extends Error {}

/** Polls until the condition holds: what it waits for happens in other workflows. */
async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> {
  for (let attempt = 0; attempt < 600; attempt++) {
    const value = await read();
    if (done(value)) return value;
    await sleep(500);
  }
  throw new Error(`gave up waiting: ${what}`);
}

/** The drill as it ran before notices, fallbacks and the cast were checked; replayed by drills started then. */
async function drillAsBefore(start: DrillStart, snapshot: DrillSnapshot): Promise<DrillSnapshot> {
  const plan = start.plan as DrillPlan & { commander: string; lifter: string; signOff: string };
  const step = async <T>(name: string, by: string | undefined, run: () => Promise<T>, detail?: (result: T) => string): Promise<T> => {
    const startedAt = workflowNow();
    const entry = { name, by, startedAt: new Date(startedAt).toISOString(), ms: undefined as number | undefined, detail: undefined as string | undefined };
    snapshot.steps.push(entry);
    const result = await run();
    entry.ms = workflowNow() - startedAt;
    entry.detail = detail?.(result);
    return result;
  };
  const until = pollUntil;

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
