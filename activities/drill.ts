import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import type { CorrectionSnapshot } from '../workflows/correction/messages.js';
import type { ReviewSnapshot } from '../workflows/review/messages.js';
import type { DrillPlan } from '../services/drill/plan.js';
import { workflowClients } from '../services/temporal/clients.js';
import type { IncidentSnapshot } from '../services/incident/schema.js';

export interface DrillActivityDependencies {
  client: Client;
}

/** One thing a drill does, as the runbook person the plan cast for it. */
export type DrillAction =
  | { action: 'trigger'; drillId: string; plan: DrillPlan; startedBy: string }
  | { action: 'incident'; workflowId: string }
  | { action: 'acknowledge' | 'resolve'; workflowId: string; actor: string }
  | { action: 'propose'; workflowId: string; actor: string; correction: DrillPlan['correction'] }
  | { action: 'approve'; correctionWorkflowId: string; actor: string }
  | { action: 'correction'; correctionWorkflowId: string }
  | { action: 'lift'; workflowId: string; correctionId: string; actor: string; restoration: DrillPlan['restoration'] }
  | { action: 'review'; reviewWorkflowId: string }
  | { action: 'submitReview'; reviewWorkflowId: string; actor: string }
  | { action: 'completeTask'; reviewWorkflowId: string; actor: string; taskId: string }
  | { action: 'signOff'; reviewWorkflowId: string; actor: string };

type DrillResult =
  { incidentId: string; workflowId: string } | IncidentSnapshot | CorrectionSnapshot | ReviewSnapshot | { correctionId: string; workflowId: string };

export function createDrillActivities({ client }: DrillActivityDependencies) {
  return {
    /** Drives the drill's incident through Correx's own client, exactly as people would through the API. */
    async drillAction(a: DrillAction): Promise<DrillResult> {
      const { incidents, corrections, reviews } = workflowClients(client, Context.current().info.taskQueue);
      const at = new Date().toISOString();
      switch (a.action) {
        case 'trigger': {
          const outcome = await incidents.trigger(
            {
              systemId: a.plan.systemId,
              title: a.plan.title,
              severity: a.plan.severity,
              dedupKey: `drill:${a.drillId}`,
              summary: `Drill ${a.drillId} started by ${a.startedBy}`,
            },
            a.startedBy,
            { runbookVersion: a.plan.runbookVersion, drill: true },
          );
          return { incidentId: outcome.incidentId, workflowId: outcome.workflowId };
        }
        case 'incident':
          return incidents.state(a.workflowId);
        case 'acknowledge':
          return incidents.acknowledge(a.workflowId, { actor: a.actor, at, reason: 'drill' });
        case 'resolve':
          return incidents.resolve(a.workflowId, { actor: a.actor, at, reason: 'drill complete' });
        case 'propose':
          return incidents.propose(a.workflowId, { actor: a.actor, at, ...a.correction, scope: a.correction.scope as never });
        case 'approve':
          return corrections.decide(a.correctionWorkflowId, { actor: a.actor, at, decision: 'approve', rationale: 'drill: approving as the runbook would' });
        case 'correction':
          return corrections.state(a.correctionWorkflowId);
        case 'lift':
          return incidents.lift(a.workflowId, {
            correctionId: a.correctionId,
            actor: a.actor,
            at,
            rationale: 'drill: lifting after rehearsed restoration',
            restoration: a.restoration,
          });
        case 'review':
          return reviews.state(a.reviewWorkflowId);
        case 'submitReview':
          return reviews.submitReview(a.reviewWorkflowId, {
            actor: a.actor,
            at,
            review: {
              summary: 'Drill: rehearsal of the runbook end to end.',
              impact: 'None: a drill touches no real enforcer, mailbox or regulator.',
              highlights: [],
              rootCause: 'Drill: no real failure.',
              contributingFactors: [],
              attribution: [{ stage: 'evaluation', actor: 'deployer', confidence: 'low', evidence: [{ description: 'drill rehearsal' }] }],
              correctiveActions: [],
              runbookChanges: [],
            },
          });
        case 'completeTask':
          return reviews.completeTask(a.reviewWorkflowId, { actor: a.actor, at, taskId: a.taskId, note: 'drill' });
        case 'signOff':
          return reviews.signOff(a.reviewWorkflowId, { actor: a.actor, at });
      }
    },
  };
}
