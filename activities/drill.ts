import { Context } from '@temporalio/activity';
import type { Kysely } from 'kysely';
import type { Client } from '@temporalio/client';
import type { CorrectionSnapshot } from '../workflows/correction/messages.js';
import type { ReviewSnapshot } from '../workflows/review/messages.js';
import type { DrillPlan } from '../services/drill/plan.js';
import { probeGateway, type GatewayProbe, type ProbeReport } from '../services/drill/gateway-probe.js';
import { workflowClients } from '../services/temporal/clients.js';
import type { IncidentSnapshot } from '../services/incident/schema.js';
import type { Database } from '../services/db/schema.js';
import { outboxFileName, type Mailer } from '../services/notification/mailer.js';
import { listFallbacks, listNotifications } from '../services/notification/repository.js';
import { listTimeline } from '../services/timeline/repository.js';

export interface DrillActivityDependencies {
  client: Client;
  db: Kysely<Database>;
  /** Where a drill's mail goes: the drill outbox. */
  drillMailer: Mailer;
  secret: (name: string) => string | undefined;
}

/** What a drill reads back of what its incident sent, to report where it went. */
export type DrillDelivery =
  | { what: 'notice'; incidentId: string; idempotencyKey: string }
  | { what: 'fallback'; incidentId: string; correctionId: string; consumerId: string; action: 'activate' | 'deactivate' }
  /** Every other notice and every page of the incident: those not among `reported`. */
  | { what: 'mail'; incidentId: string; reported: string[] };

/** A delivery as a drill step reports it: what happened, or why it did not. */
export interface DeliveryReport {
  detail: string;
  failure?: string;
  /** Where the mail went, for the drill's summary. */
  where?: string;
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

export function createDrillActivities({ client, db, drillMailer, secret }: DrillActivityDependencies) {
  /** Where the mail with this key went: the drill mailer writes it to its outbox and sends nothing. */
  const whereMail = (key: string) =>
    drillMailer.outboxDir ? `written to the drill outbox ${drillMailer.outboxDir} as ${outboxFileName(key)}, not sent` : `sent through ${drillMailer.describe}`;
  return {
    /** The drill's correction at the system's real gateway, with requests marked as the drill's. */
    async drillGatewayProbe(request: { incidentId: string; systemId: string; correction: DrillPlan['correction']; probe: GatewayProbe }): Promise<ProbeReport> {
      const { probe, ...drill } = request;
      const authorization = probe.authorizationEnv ? secret(probe.authorizationEnv) : undefined;
      if (probe.authorizationEnv && !authorization)
        return { detail: '', failure: `the environment variable ${probe.authorizationEnv} (the probe's Authorization) is not set` };
      return probeGateway(db, { ...probe, ...(authorization ? { authorization } : {}) }, drill);
    },
    /** Reads back what the drill's incident sent, through the repositories, as a step of the drill reports it. */
    async drillDelivery(d: DrillDelivery): Promise<DeliveryReport> {
      switch (d.what) {
        case 'notice': {
          const row = (await listNotifications(db, d.incidentId)).find((n) => n.idempotency_key === d.idempotencyKey);
          if (!row) return { detail: '', failure: 'no notice was drafted' };
          if (!row.sent_at) return { detail: `to ${row.recipient}`, failure: `drafted to ${row.recipient} but never written: the drill mailer keeps failing` };
          return { detail: `to ${row.recipient}: ${whereMail(d.idempotencyKey)}` };
        }
        case 'fallback': {
          const row = (await listFallbacks(db, d.incidentId)).find((f) => f.correction_id === d.correctionId && f.consumer_id === d.consumerId);
          const kind = d.action === 'activate' ? 'fallback.activated' : 'fallback.deactivated';
          const event = (await listTimeline(db, d.incidentId)).find(
            (e) => e.kind === kind && e.data.consumer === d.consumerId && e.data.correctionId === d.correctionId,
          );
          if (!row || !event) return { detail: '', failure: row?.last_error ?? 'not switched' };
          if (row.method !== 'webhook') return { detail: `${row.method}: the request ${whereMail(`${d.correctionId}:${d.consumerId}:fallback-${d.action}`)}` };
          return { detail: `webhook: signed request to ${String(event.data.target)}, read back ${d.action === 'activate' ? 'on' : 'off'}` };
        }
        case 'mail': {
          const reported = new Set(d.reported);
          const notices = (await listNotifications(db, d.incidentId)).filter((n) => !reported.has(n.idempotency_key));
          const pages = (await listTimeline(db, d.incidentId)).filter((e) => e.kind === 'page.sent').length;
          const unsent = notices.filter((n) => !n.sent_at);
          const where = drillMailer.outboxDir ? `written to the drill outbox ${drillMailer.outboxDir}, not sent` : `sent through ${drillMailer.describe}`;
          const detail = `${notices.length - unsent.length} notice${notices.length - unsent.length === 1 ? '' : 's'} and ${pages} page${pages === 1 ? '' : 's'} ${where}`;
          if (unsent.length === 0) return { detail, where };
          return {
            detail,
            where,
            failure: `${unsent.length} never written (the drill mailer keeps failing): ${unsent.map((n) => `${n.subject} to ${n.recipient}`).join('; ')}`,
          };
        }
      }
    },
    /** Drives the drill's incident through Correx's own client, exactly as people would through the API. */
    async drillAction(a: DrillAction): Promise<DrillResult> {
      const { incidents, corrections, reviews } = workflowClients(client, Context.current().info.taskQueue, db);
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
