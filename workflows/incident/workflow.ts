import {
  ApplicationFailure,
  CancellationScope,
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  startChild,
  uuid4,
  workflowInfo,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { patchGeneration } from '../patches.js';
import { untilDone, untilDoneHere } from '../activity-options.js';
import { workflowNow } from '../time.js';
import { childOfIncident, indexAsPartOf, indexIncident } from '../search-attributes.js';
import { correctionWorkflowId, regulatoryClockWorkflowId, reviewWorkflowId } from '../../services/identity.js';
import type { IncidentPlan } from '../../services/incident/plan.js';
import type { IncidentTransition } from '../../services/incident/repository.js';
import * as rules from '../../services/incident/rules.js';
import type { IncidentAction, IncidentSnapshot, IncidentStart, IncidentState, TriggerArrival } from '../../services/incident/schema.js';
import type { InternalEvent } from '../../services/notification/kinds.js';
import { correctionPage, internalUpdate, type CallToAction } from '../../services/notification/templates.js';
import { upstreamNotice } from '../../services/notification/templates.js';
import { correctionInWords } from '../../services/correction/wording.js';
import { afterActionReviewWorkflow } from '../review/workflow.js';
import { correctionWorkflow } from '../correction/workflow.js';
import { escalate, escalationWorkflow } from '../escalation/workflow.js';
import { regulatoryClockWorkflow } from '../regulatory/workflow.js';
import { incidentAppliedSignal, incidentClosedSignal, liftRequestedSignal } from '../correction/messages.js';
import { escalationAcknowledgedSignal } from '../escalation/messages.js';
import {
  acknowledgeUpdate,
  classifyUpdate,
  setAwarenessUpdate,
  closeUpdate,
  correctionChangedSignal,
  incidentStateQuery,
  liftCorrectionUpdate,
  proposeCorrectionUpdate,
  resolveUpdate,
  triggerArrivedSignal,
  triggerUpdate,
} from './messages.js';
import { incidentEndedSignal, monitorAcknowledgeSignal, monitorAlertsResolvedSignal, monitorResolveSignal, reopenSignal } from '../monitoring/messages.js';
import { incidentContextSignal, type IncidentContext } from '../regulatory/messages.js';
import { reviewSignedOffSignal, signOffRolesSignal } from '../review/messages.js';
import { holdersOf, type Person } from '../../services/correction/authority.js';
import type { CorrectionLift, LiftAnswer } from './messages.js';

const {
  openIncident,
  prepareIncident,
  recordIncidentOpened,
  recordIncidentTransition,
  recordIncidentClassified,
  recordIncidentEvent,
  confirmIncidentTransitions,
  sendNotice,
  sendNotices,
  sendPage,
} = proxyActivities<Activities>(untilDone);
/** The steps a person's action waits for, recorded in the workflow task that handles it (record-locally). */
const here = proxyLocalActivities<Activities>(untilDoneHere);
/** One attempt at a break-glass apply; the correction workflow keeps trying (and says so) if it fails. */
const enforcer = proxyActivities<Activities>({ startToCloseTimeout: '15 seconds', retry: { maximumAttempts: 1 } });

/** How long a change a caller wrote waits for the incident's next record to confirm it before one of its own does. */
const CONFIRM_WRITTEN_WITHIN = '1 minute';

/** One state change with who made it. */
interface Transition {
  to: IncidentState;
  actor: string;
  at?: string;
  data?: Record<string, unknown>;
  /** The acknowledgement that makes its actor the commander. */
  commander?: string;
  /** Tells apart the resolutions of an incident that reopened. */
  occurrence?: number;
}
/** A check from services/incident/rules.ts: the reason the action is refused, or undefined. */
type Rule<A> = (incident: rules.IncidentStanding, action: A) => string | undefined;

/**
 * One incident, from trigger to close: loads its runbook version's rules, pages until acknowledged,
 * runs one child workflow per proposed correction, and records every state change with its actor.
 * Who may do what, in which state, is decided by services/incident/rules.ts.
 */
export async function incidentWorkflow(start: IncidentStart): Promise<IncidentSnapshot> {
  // First, before any command: a run started now takes every patch below at once (workflows/patches.ts).
  const isPatched = patchGeneration('incident-2026-12-04', {
    generation: 'incident-2026-12-03',
    patchesSince: ['caller-stops-escalation', 'escalation-in-incident'],
  });
  // The runbook's internal list hears of the incident's milestones; runs from before never told it.
  const tellsInternalList = isPatched('internal-notices');
  const workflowId = workflowInfo().workflowId;
  const { incidentId, systemId, dedupKey, title, severity, openedAt, openedBy, runbookVersion } = start;
  const incident = { incidentId, systemId, title, severity };
  let plan: IncidentPlan | undefined;
  /** The plan is loaded and the incident recorded: people's actions can be checked and written. */
  let ready = false;
  let escalation: ChildWorkflowHandle<typeof escalationWorkflow> | undefined;
  /** Its children carry CorrexIncidentId too (set once the plan says the namespace has it). */
  let indexed = false;
  const indexing = () => (indexed ? { indexed } : {});
  // People may act as soon as the incident is on record. What their answer does not depend on (the
  // escalation starting, the upstream notice, stopping the pages, telling the clocks) happens beside
  // the answer instead of before it. Runs from before wait for each.
  const answerAtOnce = isPatched('answer-at-once');
  // Preparing and recording the incident, and its state changes, run as local activities: each costs one
  // workflow task, not an activity task's round trip to the server and another workflow task. Runs from
  // before record with activity tasks.
  // Withdrawn for new runs (record-with-activities): under the fault suite a worker killed mid-run left
  // an incident whose history then failed to replay ("patch marker encountered for change
  // index-incident-id, but there is no corresponding change command"), the patch after the first local
  // activity. Runs that recorded locally go on doing so.
  const recordLocally = !isPatched('record-with-activities') && isPatched('record-locally');
  const recording = recordLocally ? here : { prepareIncident, recordIncidentOpened, recordIncidentTransition };
  // A break-glass correction is sent to the enforcer in the workflow task that accepts its proposal, beside
  // starting its workflow (which records it, verifies the apply and takes over if this attempt failed):
  // the server's start of a child workflow and that child's first workflow task are not in its way.
  const applyBreakGlassAtOnce = isPatched('break-glass-applied-by-incident');
  // The runbook's rules are read and the opening recorded by one activity: one round trip less before
  // the trigger is answered and people may act. Runs from before did each with an activity of its own.
  const openInOneStep = isPatched('open-in-one-step');
  /** The incident's break-glass applies, until each correction has heard how its apply went. */
  const breakGlassApplies: Promise<unknown>[] = [];
  /** The escalation once started; an acknowledgement that comes first stops it as soon as it is. */
  let escalationStarted: Promise<ChildWorkflowHandle<typeof escalationWorkflow> | undefined> = Promise.resolve(undefined);
  /** The escalation run by the incident itself (escalation-in-incident); cancelled at close. */
  const escalationScope = new CancellationScope();
  let escalationEnded: Promise<void> = Promise.resolve();
  /** Stops the escalation's pages (runs from before answer-at-once had it started before anyone could act). */
  const stopPagingBy = (actor: string): Promise<unknown> => {
    if (snapshot.escalation) {
      if (snapshot.escalation.state === 'paging') snapshot.escalation = { ...snapshot.escalation, state: 'stopped', stoppedBy: actor };
      return Promise.resolve();
    }
    return answerAtOnce ? stopEscalation(actor) : (escalation?.signal(escalationAcknowledgedSignal, { actor }).catch(() => {}) ?? Promise.resolve());
  };
  const stopEscalation = (actor: string) =>
    escalationStarted
      .then((started) => started?.signal(escalationAcknowledgedSignal, { actor }))
      .catch(() => {
        // The escalation already ended (exhausted): nothing left to stop.
      });
  let closing: IncidentAction | undefined;
  const snapshot: IncidentSnapshot = {
    incidentId,
    systemId,
    dedupKey,
    title,
    severity,
    state: 'triggered',
    openedAt,
    openedBy,
    runbookVersion,
    commander: undefined,
    joinedTriggers: 0,
    corrections: [],
    classification: [],
    regulatoryClocks: [],
    reviewWorkflowId: undefined,
    ...(start.awareness ? { awareness: start.awareness } : {}),
  };
  let classifiedAt: string | undefined;
  let resolvedAt: string | undefined;
  let contextRevision = 0;
  let monitorResolution: { reason: string; at: string } | undefined;
  let reopening: { reason: string; at: string } | undefined;
  let sourceAcknowledgement: { reason: string; at: string } | undefined;
  let resolutions = 0;
  /** What each correction does, for the internal list's notices. */
  const proposals = new Map<string, { scope: Record<string, unknown>; parameters: Record<string, unknown>; actor: string; reason: string }>();
  /** The votes to lift each correction, counted under its lift rule until they meet its quorum. */
  const lifts = new Map<string, rules.LiftVotes>();
  /** Pages about lifts, sent beside the votes so that a mail relay that is down never holds up an answer. */
  const liftPages: Promise<unknown>[] = [];

  const clocks: ChildWorkflowHandle<typeof regulatoryClockWorkflow>[] = [];
  const context = (): IncidentContext => ({
    classes: snapshot.classification,
    classifiedAt,
    commander: snapshot.commander,
    resolvedAt,
    revision: contextRevision,
    ...(snapshot.awareness ? { awareness: snapshot.awareness } : {}),
  });
  /** Every regulator clock hears of a new classification, commander or resolution. */
  const shareContext = async () => {
    contextRevision += 1;
    for (const clock of clocks) await clock.signal(incidentContextSignal, context()).catch(() => {});
  };
  /** Starts a clock for each regime the classes now bring in; existing clocks re-plan from the shared context. */
  const startApplicableClocks = async (at: string) => {
    for (const { regime, recipients, clockRecipients } of plan!.regimes) {
      if (!rules.clockDue(snapshot, regime)) continue;
      const takesEffect = rules.notYetInForce(regime, at);
      if (takesEffect && isPatched('regimes-in-force')) {
        await recordIncidentEvent({
          incidentId,
          kind: 'regulatory.not_in_force',
          actor: 'system:regulatory',
          data: { regime: regime.id, name: regime.name, inForceFrom: takesEffect, classes: snapshot.classification },
          idempotencyKey: `not-in-force:${regime.id}`,
        });
        continue;
      }
      const clockId = regulatoryClockWorkflowId(workflowId, regime.id, incidentId);
      snapshot.regulatoryClocks.push({ regimeId: regime.id, workflowId: clockId });
      const { reportApprovers: approvers, people, reminders, atRisk } = plan!;
      const args = {
        ...indexing(),
        incident,
        incidentWorkflowId: workflowId,
        runbookVersion,
        regime,
        recipients,
        ...(clockRecipients ? { clockRecipients } : {}),
        approvers,
        people,
        reminders,
        atRisk,
        awarenessAt: snapshot.awareness?.at ?? openedAt,
        applicableSince: at,
        context: context(),
      };
      // A legal deadline outlives the incident's workflow: the clock ends only when its reports are sent.
      clocks.push(
        await startChild(regulatoryClockWorkflow, {
          workflowId: clockId,
          parentClosePolicy: ParentClosePolicy.ABANDON,
          args: [args],
          ...childOfIncident(incident, indexed),
        }),
      );
    }
  };

  /** Set by the plan when the namespace has Correx's search attributes (runs from before never upsert). */
  const index = () => {
    if (plan?.searchAttributes) indexIncident({ systemId, severity: snapshot.severity, state: snapshot.state });
  };
  /** The row and timeline record of a state change. */
  const record = ({ to, actor, at, data, commander, occurrence }: Transition): IncidentTransition => ({
    incidentId,
    state: to,
    actor,
    ...(at ? { at } : {}),
    ...(data ? { data } : {}),
    ...(commander ? { commander } : {}),
    ...(occurrence ? { occurrence } : {}),
  });
  /**
   * Changes a caller writes before answering (an acknowledgement's, IncidentClient.acknowledge): the
   * incident's next record confirms them (writes them if the caller died first), or, if none comes
   * within CONFIRM_WRITTEN_WITHIN, an activity of their own does. Nothing runs beside the person's next action.
   */
  let writtenByCaller: IncidentTransition[] = [];
  const transition = async (change: Transition) => {
    snapshot.state = change.to;
    index();
    const confirming = writtenByCaller;
    writtenByCaller = [];
    await recording.recordIncidentTransition({ ...record(change), ...(confirming.length > 0 ? { writtenByCaller: confirming } : {}) });
  };
  /** Waits for a change a caller wrote to be confirmed by the next record, else confirms it alone. */
  const confirmWrittenByCaller = async (written: IncidentTransition) => {
    if (await condition(() => !writtenByCaller.includes(written), CONFIRM_WRITTEN_WITHIN)) return;
    writtenByCaller = writtenByCaller.filter((t) => t !== written);
    await confirmIncidentTransitions([written]);
  };
  /** Confirmations still waiting: the workflow ends only once each is done. */
  const recordsUnderway: Promise<unknown>[] = [];

  /** One notice per person of the internal list, recorded per recipient; each milestone once (`key`). */
  // Sent beside the incident's life, never in its way: a mail relay that is down must not hold up paging
  // or an answer to a person. The workflow ends only once they are all sent.
  const internalNotices: Promise<unknown>[] = [];
  const tellInternal = (event: InternalEvent, key: string, update: { headline: string; at: string; by: string; details?: [string, string][] }) => {
    if (!tellsInternalList || !plan?.internal?.events.includes(event)) return;
    const action: CallToAction = { what: 'Follow the incident', path: `/console/incidents/${incidentId}`, command: `correx incident show ${incidentId}` };
    const notices = plan.internal.people.map((person) => ({
      incidentId,
      idempotencyKey: `${incidentId}:internal:${key}:${person.id}`,
      audience: 'internal' as const,
      recipient: { name: person.name, email: person.email },
      message: internalUpdate(incident, person.name, update),
      action,
    }));
    if (notices.length === 0) return;
    // One activity tells everyone of a milestone: at the opening, four activities (each a workflow task
    // when it ends, and a hold of the incident's lock) ran beside the commander's acknowledgement.
    // Runs from before sent one activity per person.
    if (isPatched('internal-notices-together')) internalNotices.push(sendNotices(notices));
    else internalNotices.push(...notices.map((notice) => sendNotice(notice)));
  };

  // Validators apply the rules once the runbook plan is loaded; handlers apply them again after waiting
  // for it (an update may arrive first).
  const standing = (): rules.IncidentStanding => ({ snapshot, plan: plan!, closing: closing !== undefined, lifts });
  const validate =
    <A>(rule: Rule<A>) =>
    (action: A) => {
      if (!ready) return;
      const reason = rule(standing(), action);
      if (reason) throw new Error(reason);
    };
  const recheck = async <A>(rule: Rule<A>, action: A) => {
    await condition(() => ready);
    const reason = rule(standing(), action);
    if (reason) throw ApplicationFailure.nonRetryable(reason, 'Refused');
  };

  /** The follow-up starts with the first resolution: the runbook's tasks, owned by role, due from now. */
  const startReview = async (at: string) => {
    const reviewId = reviewWorkflowId(workflowId, incidentId);
    snapshot.reviewWorkflowId = reviewId;
    const { people, review } = plan!;
    const tasks = rules.reviewTasks(snapshot, plan!, at);
    const args = {
      ...indexing(),
      incident,
      incidentWorkflowId: workflowId,
      tasks,
      people,
      managers: review.managers,
      signOffRoles: rules.reviewSignOffRoles(snapshot, plan!),
      ...(snapshot.commander ? { commander: snapshot.commander } : {}),
      drill: start.drill === true,
    };
    // Follow-up outlives a manual close of the incident; it ends with its sign-off.
    await startChild(afterActionReviewWorkflow, {
      workflowId: reviewId,
      parentClosePolicy: ParentClosePolicy.ABANDON,
      args: [args],
      ...childOfIncident(incident, indexed),
    });
  };
  /** After resolution: the clocks hear of it, and the monitor that opened the incident frees its group. */
  const afterResolved = async (at: string) => {
    resolvedAt = at;
    await shareContext();
    if (!closing && !snapshot.reviewWorkflowId && isPatched('after-action-review')) await startReview(at);
    if (start.cause) {
      await getExternalWorkflowHandle(start.cause.monitorWorkflowId)
        .signal(incidentEndedSignal, { groupKey: start.cause.groupKey, incidentId, at })
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
  // Every alert resolved at its source, and the runbook keeps the incident open: nobody is paged about it any more.
  setHandler(monitorAlertsResolvedSignal, async ({ reason, at }) => {
    await condition(() => ready);
    if (closing || !rules.unresolved(snapshot.state)) return;
    await recordIncidentEvent({
      incidentId,
      kind: 'incident.alerts_resolved',
      actor: 'system:monitor',
      data: { reason, at, paging: 'stopped' },
      idempotencyKey: `incident.alerts_resolved:${at}`,
    });
    await stopPagingBy('system:monitor');
  });
  setHandler(reopenSignal, (request) => {
    if (closing) return;
    if (snapshot.state === 'resolved') reopening ??= request;
    // Re-fired before the pending resolution was recorded: the resolution no longer stands.
    else if (monitorResolution) monitorResolution = undefined;
  });
  const arrived = (arrival: TriggerArrival) => {
    if (arrival.incidentId !== incidentId) snapshot.joinedTriggers += 1;
  };
  setHandler(triggerArrivedSignal, arrived);
  setHandler(triggerUpdate, async (arrival) => {
    arrived(arrival);
    await condition(() => ready);
    return snapshot;
  });
  setHandler(correctionChangedSignal, async ({ correctionId, state }) => {
    const correction = snapshot.corrections.find((c) => c.id === correctionId);
    if (!correction) return;
    correction.state = state;
    if (state !== 'active' && state !== 'lifted') return;
    const proposal = proposals.get(correctionId);
    const what = proposal ? correctionInWords(correction.kind, proposal.scope, proposal.parameters, systemId) : correction.kind;
    tellInternal(state === 'active' ? 'correction-in-force' : 'correction-lifted', `${correctionId}:${state}`, {
      headline: state === 'active' ? `${correction.kind.replace(/_/g, ' ')} in force` : `${correction.kind.replace(/_/g, ' ')} lifted`,
      at: new Date(workflowNow()).toISOString(),
      by: state === 'active' ? (proposal?.actor ?? 'the decision authority') : 'the decision authority',
      details: [['Correction', `${what} (${correctionId})`]],
    });
  });
  setHandler(
    acknowledgeUpdate,
    async (action) => {
      await recheck(rules.acknowledgeProblem, action);
      snapshot.commander = action.actor;
      const acknowledged: Transition = {
        to: 'acknowledged',
        actor: action.actor,
        at: action.at,
        commander: action.actor,
        ...(action.via ? { data: { via: action.via } } : {}),
      };
      const stopPaging = () => stopPagingBy(action.actor);
      // Recording the acknowledgement, telling the clocks who leads and stopping the pages do not depend on
      // one another: the commander waits for the slowest of them, not for their sum.
      if (answerAtOnce) {
        // A caller that writes the record also stops an escalation already running, beside writing it: the
        // incident's signal (and the workflow task its delivery brings) no longer stands before the
        // person's next action. The incident signals too once its next record confirms the caller's, in
        // case the caller died first. Runs from before, and escalations still starting, are signalled here.
        const callerStops =
          action.recordsItself === true && action.stopsEscalation === true && escalation !== undefined && isPatched('caller-stops-escalation');
        if (!callerStops) void stopPagingBy(action.actor);
        void shareContext();
        // The caller writes the same record before answering the person: the answer need not wait for
        // this one's activity task and the workflow task that sees it done.
        if (action.recordsItself) {
          snapshot.state = acknowledged.to;
          index();
          const written = record(acknowledged);
          writtenByCaller.push(written);
          const confirmed = confirmWrittenByCaller(written);
          recordsUnderway.push(callerStops ? confirmed.then(() => stopPagingBy(action.actor)) : confirmed);
          return { ...snapshot, transition: written, ...(callerStops ? { stopEscalation: escalation!.workflowId } : {}) };
        }
        await transition(acknowledged);
      } else if (isPatched('acknowledge-in-parallel')) await Promise.all([transition(acknowledged), shareContext(), stopPaging()]);
      else {
        await transition(acknowledged);
        await shareContext();
        await stopPaging();
      }
      return snapshot;
    },
    { validator: validate(rules.acknowledgeProblem) },
  );
  setHandler(
    proposeCorrectionUpdate,
    async (proposal) => {
      await recheck(rules.proposalProblem, proposal);
      const rule = rules.proposalRule(standing(), proposal.kind)!;
      const correctionId = uuid4();
      const childId = correctionWorkflowId(workflowId, correctionId);
      const { kind, scope, parameters, reason } = proposal;
      const breakGlass = proposal.breakGlass === true;
      snapshot.corrections.push({ id: correctionId, workflowId: childId, kind, severity: snapshot.severity, state: 'proposed', breakGlass });
      proposals.set(correctionId, { scope, parameters, actor: proposal.actor, reason });
      lifts.set(correctionId, { proposedBy: proposal.actor, escalated: false, votes: [], restoration: [] });
      const { people, enforcement, consumers, fallbackSecretEnv } = plan!;
      const appliedHere = applyBreakGlassAtOnce && breakGlass && rule.breakGlass.allowed;
      // First among the workflow task's commands: nothing else stands between the proposal and the enforcer.
      const applying = appliedHere
        ? enforcer.applyCorrection({ plan: enforcement, correction: { id: correctionId, incidentId, systemId, kind, scope, parameters, reason } }).then(
            () => ({ applied: true }),
            (error: unknown) => ({ applied: false, error: (error as Error).message }),
          )
        : undefined;
      const args = {
        ...indexing(),
        incidentId,
        incidentWorkflowId: workflowId,
        incidentTitle: title,
        systemId,
        severity: snapshot.severity,
        id: correctionId,
        kind,
        scope,
        parameters,
        reason,
        breakGlass,
        proposedBy: proposal.actor,
        proposedAt: proposal.at,
        rule,
        people,
        enforcement,
        commander: snapshot.commander,
        consumers: consumers.filter((c) => c.affectedBy.includes(kind)),
        fallbackSecretEnv,
        // Plans prepared before customer notices had their own text have no `customers`.
        ...(plan!.customers
          ? {
              customers: {
                systemName: plan!.systemName,
                contact: plan!.customers.contact,
                message: proposal.customerMessage ?? plan!.customers.messages[kind],
              },
            }
          : {}),
        ...(appliedHere ? { appliedByIncident: true } : {}),
      };
      // A correction in force must never be dropped with its parent; it ends only by being lifted.
      const started = startChild(correctionWorkflow, {
        workflowId: childId,
        parentClosePolicy: ParentClosePolicy.ABANDON,
        args: [args],
        ...childOfIncident(args, indexed),
      });
      if (applying) {
        breakGlassApplies.push(
          Promise.all([applying, started])
            .then(([outcome, child]) => child.signal(incidentAppliedSignal, outcome))
            .catch((error: unknown) => log.error('correction not told of its break-glass apply', { incidentId, correctionId, error: String(error) })),
        );
      }
      const mitigating: Transition = { to: 'mitigating', actor: proposal.actor, at: proposal.at, data: { correctionId } };
      if (recordLocally) {
        // The start is commanded at once; the mitigating state is recorded (locally) in the workflow task
        // that sees the correction started, so its record never holds up the correction's start.
        await started;
        if (snapshot.state === 'acknowledged') await transition(mitigating);
      }
      // The correction starts while the incident records that it is mitigating: neither waits for the other.
      else if (isPatched('propose-in-parallel')) await Promise.all([started, snapshot.state === 'acknowledged' ? transition(mitigating) : undefined]);
      else {
        await started;
        if (snapshot.state === 'acknowledged') await transition(mitigating);
      }
      // Reopened after its review started: the review is signed off by the authority over this kind too.
      if (snapshot.reviewWorkflowId && isPatched('sign-off-follows-corrections')) {
        const signOffRoles = rules.reviewSignOffRoles(snapshot, plan!);
        await getExternalWorkflowHandle(snapshot.reviewWorkflowId)
          .signal(signOffRolesSignal, { signOffRoles })
          .catch(() => {});
      }
      return { correctionId, workflowId: childId };
    },
    { validator: validate(rules.proposalProblem) },
  );
  /** Pages people about a lift that waits on them, with the command that gives their vote. */
  const pageAboutLift = (correctionId: string, people: Person[], reason: 'lift-vote-requested' | 'lift-escalated', text: string) => {
    const correction = snapshot.corrections.find((c) => c.id === correctionId)!;
    const kind = correction.kind.replace(/_/g, ' ');
    liftPages.push(
      ...people.map((person) =>
        sendPage({
          incidentId,
          idempotencyKey: `${correctionId}:${reason}:${person.id}`,
          person,
          level: 0,
          attempt: 1,
          reason,
          ...correctionPage(incident, person.name, { id: correctionId, kind: correction.kind, reason: proposals.get(correctionId)?.reason ?? '' }, text),
          action: {
            what: `Vote to lift the ${kind} (${correctionId})`,
            path: `/console/incidents/${incidentId}#corrections`,
            command: `correx correction lift ${correctionId} --rationale "…"`,
          },
        }),
      ),
    );
  };
  /** Without its quorum within the lift rule's approvalTimeout, the lift escalates: any one holder of escalateTo may then lift alone. */
  const escalateLiftWhenDue = async (correctionId: string) => {
    const correction = snapshot.corrections.find((c) => c.id === correctionId)!;
    const rule = rules.liftRule(standing(), correction)!;
    if (await condition(() => !rules.liftPending(standing(), correctionId), rule.approvalTimeoutMs)) return;
    const votes = lifts.get(correctionId)!;
    votes.escalated = true;
    await recordIncidentEvent({
      incidentId,
      kind: 'correction.lift_escalated',
      actor: 'system:authority',
      data: {
        correctionId,
        from: rule.approverRoles,
        to: rule.escalateTo,
        afterMs: rule.approvalTimeoutMs,
        votes: votes.votes.map(({ actor, role }) => ({ actor, role })),
      },
      idempotencyKey: `correction.lift_escalated:${correctionId}`,
    });
    pageAboutLift(
      correctionId,
      holdersOf(plan!.people, rule.escalateTo),
      'lift-escalated',
      `${votes.votes.map((v) => `${v.actor} (${v.role})`).join(', ')} voted to lift this correction, and its quorum of ${rule.quorum} was not met within ${Math.round(rule.approvalTimeoutMs / 60_000)} minutes. It is escalated to you: your vote alone lifts it.`,
    );
  };
  /** The quorum is met: the restoration is on record (if this lift restores service) and the correction is told to come off. */
  const takeOff = async (correctionId: string, decidedBy: CorrectionLift, restoring: boolean) => {
    const votes = lifts.get(correctionId);
    if (restoring) {
      const data = { correctionId, criteria: votes?.restoration ?? decidedBy.restoration ?? [], rationale: decidedBy.rationale };
      await recordIncidentEvent({
        incidentId,
        kind: 'incident.restoration_recorded',
        actor: decidedBy.actor,
        data,
        idempotencyKey: `incident.restoration_recorded:${correctionId}`,
      });
    }
    const workflowId = snapshot.corrections.find((c) => c.id === correctionId)!.workflowId;
    await getExternalWorkflowHandle(workflowId).signal(liftRequestedSignal, {
      actor: decidedBy.actor,
      at: decidedBy.at,
      rationale: decidedBy.rationale,
      ...(votes ? { votes: votes.votes.map(({ actor, role, rationale, at }) => ({ actor, role, rationale, at })) } : {}),
    });
  };
  setHandler(
    liftCorrectionUpdate,
    async (lift): Promise<LiftAnswer> => {
      // Runs from before lifts took a quorum lifted on the first authorised request; their history replays so.
      if (!isPatched('lift-votes')) {
        await recheck(rules.liftProblemBeforeVotes, lift);
        const correction = snapshot.corrections.find((c) => c.id === lift.correctionId)!;
        const restoring = rules.restorationRequired(standing(), correction.id);
        correction.state = 'lifting';
        if (restoring) {
          const data = { correctionId: correction.id, criteria: lift.restoration ?? [], rationale: lift.rationale };
          await recordIncidentEvent({
            incidentId,
            kind: 'incident.restoration_recorded',
            actor: lift.actor,
            data,
            idempotencyKey: `incident.restoration_recorded:${correction.id}`,
          });
        }
        await getExternalWorkflowHandle(correction.workflowId).signal(liftRequestedSignal, { actor: lift.actor, at: lift.at, rationale: lift.rationale });
        return { ...snapshot, lift: rules.liftProgress(standing(), correction.id)! };
      }
      await condition(() => ready);
      // Checked and counted in one step: a vote right behind this one sees it.
      const vote = rules.liftVote(standing(), lift);
      if ('refused' in vote) throw ApplicationFailure.nonRetryable(vote.refused, 'Refused');
      const correction = snapshot.corrections.find((c) => c.id === lift.correctionId)!;
      const votes = lifts.get(correction.id)!;
      votes.votes.push({ actor: lift.actor, role: vote.role, decision: 'approve', rationale: lift.rationale, at: lift.at });
      for (const given of lift.restoration ?? []) {
        if (given.evidence.trim()) votes.restoration = [...votes.restoration.filter((r) => r.criterion !== given.criterion), { ...given, by: lift.actor }];
      }
      const restoring = rules.restorationRequired(standing(), correction.id);
      const decided = rules.liftDecided(standing(), correction.id);
      // Marked at once, so a vote or a lift right behind this one counts it as no longer in force.
      if (decided) correction.state = 'lifting';
      const progress = rules.liftProgress(standing(), correction.id)!;
      await recordIncidentEvent({
        incidentId,
        kind: 'correction.lift_vote_given',
        actor: lift.actor,
        data: {
          correctionId: correction.id,
          role: vote.role,
          rationale: lift.rationale,
          restoration: lift.restoration ?? [],
          votes: progress.votes.length,
          quorum: progress.quorum,
          decided,
        },
        idempotencyKey: `correction.lift_vote_given:${correction.id}:${lift.actor}`,
      });
      if (decided) await takeOff(correction.id, lift, restoring);
      else if (progress.votes.length === 1) {
        void escalateLiftWhenDue(correction.id);
        pageAboutLift(
          correction.id,
          plan!.people.filter((p) => progress.people.includes(p.id)),
          'lift-vote-requested',
          `${lift.actor} (${vote.role}) voted to lift this correction: ${lift.rationale}. It comes off only with ${progress.needed} more vote${progress.needed === 1 ? '' : 's'} from ${progress.roles.join(' or ')}; yours would count.`,
        );
      }
      return { ...snapshot, lift: progress };
    },
    { validator: validate(rules.liftProblem) },
  );
  setHandler(
    classifyUpdate,
    async (c) => {
      await recheck(rules.classifyProblem, c);
      const from = snapshot.classification;
      snapshot.classification = [...new Set(c.classes)].sort();
      classifiedAt = c.at;
      await recordIncidentClassified({
        incidentId,
        actor: c.actor,
        at: c.at,
        from,
        to: snapshot.classification,
        reason: c.reason,
        revision: contextRevision + 1,
      });
      await shareContext();
      await startApplicableClocks(c.at);
      return snapshot;
    },
    { validator: validate(rules.classifyProblem) },
  );
  setHandler(
    setAwarenessUpdate,
    async (a) => {
      await recheck(rules.awarenessProblem, a);
      const previous = snapshot.awareness?.at ?? openedAt;
      snapshot.awareness = { at: new Date(a.awareSince).toISOString(), by: a.actor, reason: a.reason };
      await recordIncidentEvent({
        incidentId,
        kind: 'incident.awareness_set',
        actor: a.actor,
        data: { awareSince: snapshot.awareness.at, previous, reason: a.reason, setAt: a.at },
        idempotencyKey: `awareness:${contextRevision + 1}`,
      });
      // Clocks that run from awareness move to it, and say so.
      await shareContext();
      return snapshot;
    },
    { validator: validate(rules.awarenessProblem) },
  );
  setHandler(
    resolveUpdate,
    async (action) => {
      await recheck(rules.resolveProblem, action);
      resolutions += 1;
      await transition({
        to: 'resolved',
        actor: action.actor,
        at: action.at,
        data: action.reason ? { reason: action.reason } : undefined,
        occurrence: resolutions,
      });
      if (isPatched('resolution-stops-paging')) await stopPagingBy(action.actor);
      await afterResolved(action.at);
      tellInternal('resolved', `resolved:${resolutions}`, { headline: 'incident resolved', at: action.at, by: action.actor });
      return snapshot;
    },
    { validator: validate(rules.resolveProblem) },
  );
  setHandler(
    closeUpdate,
    async (action) => {
      await recheck(rules.closeProblem, action);
      closing = action;
      return snapshot;
    },
    { validator: validate(rules.closeProblem) },
  );

  plan = openInOneStep ? await openIncident({ ...start, workflowId }) : await recording.prepareIncident(runbookVersion);
  // A drill rehearses everything but touches nothing real: no enforcer, no regulator clocks.
  if (start.drill) plan = { ...plan, enforcement: { adapter: 'dry-run' }, regimes: [] };
  index();
  // Every workflow of the incident carries its id, so `CorrexIncidentId='<id>'` lists them all (the plan
  // of a run from before did not check that the namespace has that attribute).
  if (plan.searchAttributes && isPatched('index-incident-id')) {
    indexed = true;
    indexAsPartOf({ incidentId });
  }
  if (!openInOneStep) await recording.recordIncidentOpened({ ...start, workflowId });
  tellInternal('opened', 'opened', {
    headline: `incident opened at ${severity}`,
    at: openedAt,
    by: openedBy,
    details: start.summary ? [['Summary', start.summary]] : [],
  });
  if (plan.upstream.notify) {
    const { name, email } = plan.upstream;
    const notice = sendNotice({
      incidentId,
      idempotencyKey: `${incidentId}:upstream-notice`,
      audience: 'upstream',
      recipient: { name, email },
      message: upstreamNotice(incident, name, start.summary),
    });
    if (answerAtOnce) internalNotices.push(notice);
    else await notice;
  }
  if (plan.escalation.levels.some((level) => level.people.length > 0 || (level.schedules?.length ?? 0) > 0)) {
    const { levels, repeat } = plan.escalation;
    const args = { ...indexing(), incidentId, systemId, title, severity, levels, repeat };
    // The escalation runs here, not as a child workflow: an acknowledgement stops it in its own handler,
    // and its start, its stop and its end no longer take workflow tasks on the worker that the person's
    // next action queues behind. Runs from before started it as escalationWorkflow.
    if (isPatched('escalation-in-incident')) {
      snapshot.escalation = { state: 'paging', pagesSent: 0 };
      const pagesOnCall = levels.some((level) => (level.schedules?.length ?? 0) > 0);
      escalationEnded = escalationScope
        .run(() =>
          escalate(args, {
            acknowledgedBy: () => snapshot.escalation?.stoppedBy,
            pagesOnCall,
            pagesLevelAtOnce: true,
            briefsSincePaged: () => true,
            paged: (pagesSent) => (snapshot.escalation = { ...snapshot.escalation!, pagesSent }),
          }),
        )
        .then(({ acknowledgedBy }) => {
          if (!acknowledgedBy) snapshot.escalation = { ...snapshot.escalation!, state: 'exhausted' };
        })
        .catch((error: unknown) => {
          if (!isCancellation(error)) log.error('escalation failed', { incidentId, error: String(error) });
        });
    } else {
      const starting = startChild(escalationWorkflow, {
        workflowId: `${workflowId}/escalation/${incidentId}`,
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        args: [args],
        ...childOfIncident(args, indexed),
      });
      if (answerAtOnce) {
        escalationStarted = starting.then((started) => (escalation = started));
        escalationStarted.catch((error: unknown) => log.error('escalation did not start', { incidentId, error: String(error) }));
      } else escalation = await starting;
    }
  }
  // Only now may people act (before the patch, once the escalation they stop had started).
  ready = true;

  // Mitigated once a correction is in force; resolved by the monitor when its signals say so;
  // closed when someone closes it.
  const monitorResolves = () => monitorResolution !== undefined && rules.unresolved(snapshot.state);
  const acknowledgedAtSource = () => sourceAcknowledgement !== undefined && snapshot.state === 'triggered';
  for (;;) {
    await condition(() => rules.mitigated(snapshot) || monitorResolves() || acknowledgedAtSource() || reopening !== undefined || closing !== undefined);
    if (closing) break;
    if (acknowledgedAtSource()) {
      const request = sourceAcknowledgement!;
      sourceAcknowledgement = undefined;
      await transition({ to: 'acknowledged', actor: 'system:monitor', at: request.at, data: { reason: request.reason } });
      await stopPagingBy('system:monitor');
      await shareContext();
      continue;
    }
    if (reopening) {
      const request = reopening;
      reopening = undefined;
      monitorResolution = undefined;
      resolvedAt = undefined;
      // Back to where it was before the resolution; the timeline keeps both, with the reason.
      snapshot.state = rules.reopenedState(snapshot);
      index();
      const data = { reason: request.reason, at: request.at, state: snapshot.state };
      await recordIncidentEvent({
        incidentId,
        kind: 'incident.reopened',
        actor: 'system:monitor',
        data,
        idempotencyKey: `incident.reopened:${resolutions}`,
        state: snapshot.state,
      });
      await shareContext();
      continue;
    }
    if (monitorResolves()) {
      resolutions += 1;
      const { at, reason } = monitorResolution!;
      await transition({ to: 'resolved', actor: 'system:monitor', at, data: { reason }, occurrence: resolutions });
      // Resolved before anyone acknowledged: its sender says it is over, so nobody is paged about it any more.
      if (isPatched('resolution-stops-paging')) await stopPagingBy('system:monitor');
      await afterResolved(at);
      tellInternal('resolved', `resolved:${resolutions}`, {
        headline: 'incident resolved by its monitor',
        at,
        by: 'system:monitor',
        details: [['Why', reason]],
      });
      continue;
    }
    await transition({ to: 'mitigated', actor: 'system:enforcement' });
  }
  await transition({ to: 'closed', actor: closing.actor, at: closing.at, data: closing.reason ? { reason: closing.reason } : undefined });
  // Nobody is paged or briefed about a closed incident (a child escalation is cancelled when this run ends).
  escalationScope.cancel();
  await escalationEnded;
  tellInternal('closed', 'closed', {
    headline: 'incident closed',
    at: closing.at,
    by: closing.actor,
    details: closing.reason ? [['Why', closing.reason]] : [],
  });
  // Corrections still retrying a consumer's fallback stop paging: the incident is over, the failure stays on record.
  if (isPatched('close-tells-corrections')) {
    const at = closing.at;
    await Promise.all(
      snapshot.corrections.map((c) =>
        getExternalWorkflowHandle(c.workflowId)
          .signal(incidentClosedSignal, { at })
          .catch(() => {}),
      ),
    );
  }
  // Closed without being resolved: for the clocks and the monitor, the incident ended here.
  if (!resolvedAt) await afterResolved(closing.at);
  await condition(allHandlersFinished);
  await Promise.all(internalNotices);
  await Promise.all(recordsUnderway);
  await Promise.all(liftPages);
  await Promise.all(breakGlassApplies);
  return snapshot;
}
