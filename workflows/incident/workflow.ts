import {
  ApplicationFailure,
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  uuid4,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { untilDone } from '../activity-options.js';
import { indexIncident } from '../search-attributes.js';
import { findRule } from '../../services/correction/authority.js';
import type { CorrectionKind } from '../../services/correction/schema.js';
import { correctionWorkflowId, regulatoryClockWorkflowId, reviewWorkflowId } from '../../services/identity.js';
import type { IncidentPlan } from '../../services/incident/plan.js';
import type { IncidentAction, IncidentClassification, IncidentSnapshot, IncidentStart, IncidentState } from '../../services/incident/schema.js';
import { upstreamNotice } from '../../services/notification/templates.js';
import { afterActionReviewWorkflow } from '../review/workflow.js';
import { correctionWorkflow } from '../correction/workflow.js';
import { escalationWorkflow } from '../escalation/workflow.js';
import { regulatoryClockWorkflow } from '../regulatory/workflow.js';
import { liftRequestedSignal, openCorrectionStates, type CorrectionState } from '../correction/messages.js';
import { escalationAcknowledgedSignal } from '../escalation/messages.js';
import { acknowledgeUpdate, classifyUpdate, closeUpdate, correctionChangedSignal, incidentStateQuery, liftCorrectionUpdate, proposeCorrectionUpdate, resolveUpdate, triggerArrivedSignal, type CorrectionLift, type CorrectionProposal } from './messages.js';
import { incidentEndedSignal, monitorAcknowledgeSignal, monitorResolveSignal, reopenSignal } from '../monitoring/messages.js';
import { incidentContextSignal, type IncidentContext } from '../regulatory/messages.js';
import { reviewSignedOffSignal } from '../review/messages.js';

const { prepareIncident, recordIncidentOpened, recordIncidentTransition, recordIncidentClassified, recordIncidentEvent, sendNotice } = proxyActivities<Activities>(untilDone);

const order: IncidentState[] = ['triggered', 'acknowledged', 'mitigating', 'mitigated', 'resolved', 'closed'];
const before = (a: IncidentState, b: IncidentState) => order.indexOf(a) < order.indexOf(b);

/**
 * One incident, from trigger to close: loads its runbook version's rules, pages until acknowledged,
 * runs one child workflow per proposed correction, and records every state change with its actor.
 */
export async function incidentWorkflow(start: IncidentStart): Promise<IncidentSnapshot> {
  const workflowId = workflowInfo().workflowId;
  let plan: IncidentPlan | undefined;
  /** The plan is loaded and the incident recorded: people's actions can be checked and written. */
  let ready = false;
  let escalation: ChildWorkflowHandle<typeof escalationWorkflow> | undefined;
  let closing: IncidentAction | undefined;
  const snapshot: IncidentSnapshot = {
    incidentId: start.incidentId,
    systemId: start.systemId,
    dedupKey: start.dedupKey,
    title: start.title,
    severity: start.severity,
    state: 'triggered',
    openedAt: start.openedAt,
    openedBy: start.openedBy,
    runbookVersion: start.runbookVersion,
    commander: undefined,
    joinedTriggers: 0,
    corrections: [],
    classification: [],
    regulatoryClocks: [],
    reviewWorkflowId: undefined,
  };
  let classifiedAt: string | undefined;
  let resolvedAt: string | undefined;
  let contextRevision = 0;
  const clocks: ChildWorkflowHandle<typeof regulatoryClockWorkflow>[] = [];
  const context = (): IncidentContext => ({ classes: snapshot.classification, classifiedAt, commander: snapshot.commander, resolvedAt, revision: contextRevision });
  /** Every regulator clock hears of a new classification, commander or resolution. */
  const shareContext = async () => {
    contextRevision += 1;
    for (const clock of clocks) await clock.signal(incidentContextSignal, context()).catch(() => {});
  };
  /** Starts a clock for each regime the classes now bring in; existing clocks re-plan from the shared context. */
  const startApplicableClocks = async (at: string) => {
    for (const { regime, recipients } of plan!.regimes) {
      if (snapshot.regulatoryClocks.some((c) => c.regimeId === regime.id)) continue;
      if (!regime.triggerClasses.some((c) => snapshot.classification.includes(c))) continue;
      const clockId = regulatoryClockWorkflowId(workflowId, regime.id, start.incidentId);
      snapshot.regulatoryClocks.push({ regimeId: regime.id, workflowId: clockId });
      clocks.push(
        await startChild(regulatoryClockWorkflow, {
          workflowId: clockId,
          // A legal deadline outlives the incident's workflow: the clock ends only when its reports are sent.
          parentClosePolicy: ParentClosePolicy.ABANDON,
          args: [
            {
              incident: { incidentId: start.incidentId, systemId: start.systemId, title: start.title, severity: snapshot.severity },
              incidentWorkflowId: workflowId,
              runbookVersion: start.runbookVersion,
              regime,
              recipients,
              approvers: plan!.reportApprovers,
              people: plan!.people,
              reminders: plan!.reminders,
              atRisk: plan!.atRisk,
              awarenessAt: start.openedAt,
              applicableSince: at,
              context: context(),
            },
          ],
        }),
      );
    }
  };

  /** Set by the plan when the namespace has Correx's search attributes (runs from before never upsert). */
  const index = () => {
    if (plan?.searchAttributes) indexIncident({ systemId: start.systemId, severity: snapshot.severity, state: snapshot.state });
  };
  const transition = async (state: IncidentState, actor: string, at?: string, data?: Record<string, unknown>, commander?: string, occurrence?: number) => {
    snapshot.state = state;
    index();
    await recordIncidentTransition({
      incidentId: start.incidentId,
      state,
      actor,
      ...(at ? { at } : {}),
      ...(data ? { data } : {}),
      ...(commander ? { commander } : {}),
      ...(occurrence ? { occurrence } : {}),
    });
  };
  const isPerson = (actor: string) => plan!.people.some((p) => p.id === actor);

  // Each check returns the reason an action is refused, or undefined. Validators run them when the
  // runbook plan is loaded; handlers run them again after waiting for it (an update may arrive first).
  const acknowledgeProblem = (action: IncidentAction) => {
    if (!isPerson(action.actor)) return `${action.actor} is not one of the runbook's people`;
    if (snapshot.state !== 'triggered') return `incident is already ${snapshot.state}${snapshot.commander ? ` (commander: ${snapshot.commander})` : ''}`;
    return undefined;
  };
  const proposalProblem = (p: CorrectionProposal) => {
    if (!isPerson(p.actor)) return `${p.actor} is not one of the runbook's people`;
    if (snapshot.state === 'triggered') return 'acknowledge the incident before proposing corrections';
    if (!before(snapshot.state, 'resolved')) return `incident is ${snapshot.state}; corrections can no longer be proposed`;
    const rule = findRule(plan!.authority, p.kind, snapshot.severity);
    if (!rule) return `the runbook gives no decision authority for ${p.kind} at ${snapshot.severity}`;
    if (p.breakGlass) {
      if (!rule.breakGlass.allowed) return `break-glass is not allowed for ${p.kind} at ${snapshot.severity}`;
      if (p.actor !== snapshot.commander) return `only the incident commander (${snapshot.commander}) may use break-glass`;
    }
    return undefined;
  };
  const resolveProblem = (action: IncidentAction) => {
    if (!isPerson(action.actor)) return `${action.actor} is not one of the runbook's people`;
    if (snapshot.state === 'triggered') return 'acknowledge the incident before resolving it';
    if (!before(snapshot.state, 'resolved')) return `incident is already ${snapshot.state}`;
    return undefined;
  };
  const inForce = (state: string) => state === 'active' || state === 'awaiting-ratification';
  /** No other correction is in force or about to be: lifting this one restores service. */
  const lastInForce = (id: string) => !snapshot.corrections.some((c) => c.id !== id && (inForce(c.state) || c.state === 'applying' || c.state === 'approved'));
  const liftProblem = (lift: CorrectionLift) => {
    const correction = snapshot.corrections.find((c) => c.id === lift.correctionId);
    if (!correction) return `incident ${start.incidentId} has no correction ${lift.correctionId}`;
    if (!inForce(correction.state)) return `correction ${correction.id} is not in force (it is ${correction.state})`;
    const rule = findRule(plan!.authority, correction.kind as CorrectionKind, correction.severity);
    const roles = rule ? [...new Set([...rule.approverRoles, ...rule.escalateTo])] : [];
    const person = plan!.people.find((p) => p.id === lift.actor);
    if (!person || !person.roles.some((r) => roles.includes(r))) return `${lift.actor} may not lift a ${correction.kind} correction: that needs one of ${roles.join(', ')}`;
    if (!lift.rationale.trim()) return 'a rationale is required';
    if (lastInForce(correction.id) && plan!.restoration.requiredFor.includes(snapshot.severity)) {
      const met = new Set((lift.restoration ?? []).filter((r) => r.evidence.trim()).map((r) => r.criterion));
      const missing = plan!.restoration.criteria.filter((c) => !met.has(c.id));
      if (missing.length > 0) {
        return `lifting the last correction of a ${snapshot.severity} incident restores service: record the restoration criteria as met first (missing: ${missing.map((c) => `${c.id}: ${c.description}`).join('; ')})`;
      }
    }
    return undefined;
  };
  const classifyProblem = (c: IncidentClassification) => {
    if (!isPerson(c.actor)) return `${c.actor} is not one of the runbook's people`;
    if (snapshot.state === 'closed' || closing) return 'incident is closed';
    if (!c.reason.trim()) return 'a reason is required: it is recorded with the classification';
    return undefined;
  };
  const closeProblem = (action: IncidentAction) => {
    if (!isPerson(action.actor)) return `${action.actor} is not one of the runbook's people`;
    if (snapshot.state === 'closed' || closing) return 'incident is already closed';
    const open = snapshot.corrections.filter((c) => openCorrectionStates.includes(c.state as CorrectionState));
    if (open.length > 0) return `${open.length} correction(s) still pending or in force (${open.map((c) => `${c.kind} ${c.id}: ${c.state}`).join(', ')}); lift or reject them first`;
    return undefined;
  };
  const validate = <A>(problem: (a: A) => string | undefined) => (a: A) => {
    if (!ready) return;
    const reason = problem(a);
    if (reason) throw new Error(reason);
  };
  const recheck = async <A>(problem: (a: A) => string | undefined, a: A) => {
    await condition(() => ready);
    const reason = problem(a);
    if (reason) throw ApplicationFailure.nonRetryable(reason, 'Refused');
  };

  let monitorResolution: { reason: string; at: string } | undefined;
  let reopening: { reason: string; at: string } | undefined;
  let sourceAcknowledgement: { reason: string; at: string } | undefined;
  let resolutions = 0;
  /** After resolution: the clocks hear of it, and the monitor that opened the incident frees its group. */
  /** The follow-up starts with the first resolution: the runbook's tasks, owned by role, due from now. */
  const startReview = async (at: string) => {
    const reviewId = reviewWorkflowId(workflowId, start.incidentId);
    snapshot.reviewWorkflowId = reviewId;
    const holder = (role: string) =>
      snapshot.commander && plan!.people.find((p) => p.id === snapshot.commander)?.roles.includes(role) ? snapshot.commander : plan!.people.find((p) => p.roles.includes(role))?.id;
    const rules = plan!.authority.filter((r) => r.severity === snapshot.severity);
    await startChild(afterActionReviewWorkflow, {
      workflowId: reviewId,
      // Follow-up outlives a manual close of the incident; it ends with its sign-off.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      args: [
        {
          incident: { incidentId: start.incidentId, systemId: start.systemId, title: start.title, severity: snapshot.severity },
          incidentWorkflowId: workflowId,
          tasks: plan!.review.tasks.map((t) => ({
            key: t.templateId,
            title: t.title,
            ownerRole: t.ownerRole,
            owner: holder(t.ownerRole),
            dueAt: new Date(Date.parse(at) + t.dueAfterMs).toISOString(),
            origin: 'template' as const,
          })),
          people: plan!.people,
          managers: plan!.review.managers,
          signOffRoles: [...new Set(rules.flatMap((r) => [...r.approverRoles, ...r.escalateTo]))],
          drill: start.drill === true,
        },
      ],
    });
  };
  const afterResolved = async (at: string) => {
    resolvedAt = at;
    await shareContext();
    if (!closing && !snapshot.reviewWorkflowId && patched('after-action-review')) await startReview(at);
    if (start.cause) {
      await getExternalWorkflowHandle(start.cause.monitorWorkflowId)
        .signal(incidentEndedSignal, { groupKey: start.cause.groupKey, incidentId: start.incidentId, at })
        .catch(() => {});
    }
  };

  setHandler(incidentStateQuery, () => snapshot);
  setHandler(reviewSignedOffSignal, ({ actor, at }) => {
    closing ??= { actor, at, reason: 'after-action review signed off' };
  });
  setHandler(monitorResolveSignal, (resolution) => {
    monitorResolution ??= resolution;
  });
  setHandler(monitorAcknowledgeSignal, (request) => {
    sourceAcknowledgement ??= request;
  });
  setHandler(reopenSignal, (request) => {
    if (closing) return;
    if (snapshot.state === 'resolved') reopening ??= request;
    // Re-fired before the pending resolution was recorded: the resolution no longer stands.
    else if (monitorResolution) monitorResolution = undefined;
  });
  setHandler(triggerArrivedSignal, (arrival) => {
    if (arrival.incidentId !== start.incidentId) snapshot.joinedTriggers += 1;
  });
  setHandler(correctionChangedSignal, ({ correctionId, state }) => {
    const correction = snapshot.corrections.find((c) => c.id === correctionId);
    if (correction) correction.state = state;
  });
  setHandler(
    acknowledgeUpdate,
    async (action) => {
      await recheck(acknowledgeProblem, action);
      snapshot.commander = action.actor;
      // The escalation already ended (exhausted) when the signal fails: nothing left to stop.
      const stopPaging = () => escalation?.signal(escalationAcknowledgedSignal, { actor: action.actor }).catch(() => {});
      if (patched('acknowledge-in-parallel')) {
        // Recording the acknowledgement, telling the clocks who leads and stopping the pages do not depend on
        // one another: the commander waits for the slowest of them, not for their sum.
        await Promise.all([transition('acknowledged', action.actor, action.at, undefined, action.actor), shareContext(), stopPaging()]);
        return snapshot;
      }
      await transition('acknowledged', action.actor, action.at, undefined, action.actor);
      await shareContext();
      await stopPaging();
      return snapshot;
    },
    { validator: validate(acknowledgeProblem) },
  );
  setHandler(
    proposeCorrectionUpdate,
    async (proposal) => {
      await recheck(proposalProblem, proposal);
      const rule = findRule(plan!.authority, proposal.kind, snapshot.severity)!;
      const correctionId = uuid4();
      const childId = correctionWorkflowId(workflowId, correctionId);
      snapshot.corrections.push({ id: correctionId, workflowId: childId, kind: proposal.kind, severity: snapshot.severity, state: 'proposed', breakGlass: proposal.breakGlass === true });
      const started = startChild(correctionWorkflow, {
        workflowId: childId,
        // A correction in force must never be dropped with its parent; it ends only by being lifted.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        args: [
          {
            incidentId: start.incidentId,
            incidentWorkflowId: workflowId,
            incidentTitle: start.title,
            systemId: start.systemId,
            severity: snapshot.severity,
            id: correctionId,
            kind: proposal.kind,
            scope: proposal.scope,
            parameters: proposal.parameters,
            reason: proposal.reason,
            breakGlass: proposal.breakGlass === true,
            proposedBy: proposal.actor,
            proposedAt: proposal.at,
            rule,
            people: plan!.people,
            enforcement: plan!.enforcement,
            commander: snapshot.commander,
            consumers: plan!.consumers.filter((c) => c.affectedBy.includes(proposal.kind)),
            fallbackSecretEnv: plan!.fallbackSecretEnv,
          },
        ],
      });
      if (patched('propose-in-parallel')) {
        // The correction starts while the incident records that it is mitigating: neither waits for the other.
        await Promise.all([started, snapshot.state === 'acknowledged' ? transition('mitigating', proposal.actor, proposal.at, { correctionId }) : undefined]);
        return { correctionId, workflowId: childId };
      }
      await started;
      if (snapshot.state === 'acknowledged') await transition('mitigating', proposal.actor, proposal.at, { correctionId });
      return { correctionId, workflowId: childId };
    },
    { validator: validate(proposalProblem) },
  );
  setHandler(
    liftCorrectionUpdate,
    async (lift) => {
      await recheck(liftProblem, lift);
      const correction = snapshot.corrections.find((c) => c.id === lift.correctionId)!;
      const last = lastInForce(correction.id);
      // Marked at once, so a second lift right behind this one counts it as no longer in force.
      correction.state = 'lifting';
      if (last && plan!.restoration.requiredFor.includes(snapshot.severity)) {
        await recordIncidentEvent({
          incidentId: start.incidentId,
          kind: 'incident.restoration_recorded',
          actor: lift.actor,
          data: { correctionId: correction.id, criteria: lift.restoration ?? [], rationale: lift.rationale },
          idempotencyKey: `incident.restoration_recorded:${correction.id}`,
        });
      }
      await getExternalWorkflowHandle(correction.workflowId).signal(liftRequestedSignal, { actor: lift.actor, at: lift.at, rationale: lift.rationale });
      return snapshot;
    },
    { validator: validate(liftProblem) },
  );
  setHandler(
    classifyUpdate,
    async (c) => {
      await recheck(classifyProblem, c);
      const from = snapshot.classification;
      snapshot.classification = [...new Set(c.classes)].sort();
      classifiedAt = c.at;
      await recordIncidentClassified({ incidentId: start.incidentId, actor: c.actor, at: c.at, from, to: snapshot.classification, reason: c.reason, revision: contextRevision + 1 });
      await shareContext();
      await startApplicableClocks(c.at);
      return snapshot;
    },
    { validator: validate(classifyProblem) },
  );
  setHandler(
    resolveUpdate,
    async (action) => {
      await recheck(resolveProblem, action);
      resolutions += 1;
      await transition('resolved', action.actor, action.at, action.reason ? { reason: action.reason } : undefined, undefined, resolutions);
      await afterResolved(action.at);
      return snapshot;
    },
    { validator: validate(resolveProblem) },
  );
  setHandler(
    closeUpdate,
    async (action) => {
      await recheck(closeProblem, action);
      closing = action;
      return snapshot;
    },
    { validator: validate(closeProblem) },
  );

  plan = await prepareIncident(start.runbookVersion);
  // A drill rehearses everything but touches nothing real: no enforcer, no regulator clocks.
  if (start.drill) plan = { ...plan, enforcement: { adapter: 'dry-run' }, regimes: [] };
  index();
  await recordIncidentOpened({ ...start, workflowId });
  if (plan.upstream.notify) {
    const ref = { incidentId: start.incidentId, systemId: start.systemId, title: start.title, severity: start.severity };
    await sendNotice({
      incidentId: start.incidentId,
      idempotencyKey: `${start.incidentId}:upstream-notice`,
      audience: 'upstream',
      recipient: { name: plan.upstream.name, email: plan.upstream.email },
      message: upstreamNotice(ref, plan.upstream.name, start.summary),
    });
  }
  if (plan.escalation.levels.some((level) => level.people.length > 0)) {
    escalation = await startChild(escalationWorkflow, {
      workflowId: `${workflowId}/escalation/${start.incidentId}`,
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      args: [{ incidentId: start.incidentId, systemId: start.systemId, title: start.title, severity: start.severity, levels: plan.escalation.levels, repeat: plan.escalation.repeat }],
    });
  }
  // Only now may people act: an acknowledgement must find the escalation it stops.
  ready = true;

  // Mitigated once a correction is in force; resolved by the monitor when its signals say so;
  // closed when someone closes it.
  for (;;) {
    const inForce = () => snapshot.state === 'mitigating' && snapshot.corrections.some((c) => c.state === 'active' || c.state === 'awaiting-ratification');
    const monitorResolves = () => monitorResolution !== undefined && before(snapshot.state, 'resolved');
    const acknowledgedAtSource = () => sourceAcknowledgement !== undefined && snapshot.state === 'triggered';
    await condition(() => inForce() || monitorResolves() || acknowledgedAtSource() || reopening !== undefined || closing !== undefined);
    if (closing) break;
    if (acknowledgedAtSource()) {
      const request = sourceAcknowledgement!;
      sourceAcknowledgement = undefined;
      await transition('acknowledged', 'system:monitor', request.at, { reason: request.reason });
      await escalation?.signal(escalationAcknowledgedSignal, { actor: 'system:monitor' }).catch(() => {});
      await shareContext();
      continue;
    }
    if (reopening) {
      const request = reopening;
      reopening = undefined;
      monitorResolution = undefined;
      resolvedAt = undefined;
      // Back to where it was before the resolution; the timeline keeps both, with the reason.
      snapshot.state = snapshot.commander ? 'acknowledged' : 'triggered';
      index();
      await recordIncidentEvent({
        incidentId: start.incidentId,
        kind: 'incident.reopened',
        actor: 'system:monitor',
        data: { reason: request.reason, at: request.at, state: snapshot.state },
        idempotencyKey: `incident.reopened:${resolutions}`,
        state: snapshot.state,
      });
      await shareContext();
      continue;
    }
    if (monitorResolves()) {
      resolutions += 1;
      await transition('resolved', 'system:monitor', monitorResolution!.at, { reason: monitorResolution!.reason }, undefined, resolutions);
      await afterResolved(monitorResolution!.at);
      continue;
    }
    await transition('mitigated', 'system:enforcement');
  }
  await transition('closed', closing.actor, closing.at, closing.reason ? { reason: closing.reason } : undefined);
  if (!resolvedAt) {
    // Closed without being resolved: for the clocks and the monitor, the incident ended here.
    await afterResolved(closing.at);
  }
  await condition(allHandlersFinished);
  return snapshot;
}
