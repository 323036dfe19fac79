import {
  ActivityFailure,
  allHandlersFinished,
  condition,
  getExternalWorkflowHandle,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
} from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { indexAsPartOf } from '../search-attributes.js';
import { patchGeneration } from '../patches.js';
import { untilDone, untilDoneHere } from '../activity-options.js';
import { workflowNow } from '../time.js';
import type { DownstreamConsumerPlan } from '../../services/incident/plan.js';
import { correctionPage, customerNotice, decisionRequest, type CallToAction } from '../../services/notification/templates.js';
import { admitVote, decidingRoles, holdersOf, isApproved, isRejected, type Person, type VotingState } from '../../services/correction/authority.js';
import { decisionProblem, inForce, shownState } from '../../services/correction/rules.js';
import {
  correctionStateQuery,
  decideCorrectionUpdate,
  incidentAppliedSignal,
  incidentClosedSignal,
  liftRequestedSignal,
  type CorrectionSnapshot,
  type DownstreamStatus,
  type CorrectionStart,
  type CorrectionState,
  type LiftRequest,
} from './messages.js';
import { correctionChangedSignal } from '../incident/messages.js';

const { recordCorrectionProposed, recordCorrectionTransition, recordVote, recordFallbackFailing, sendPage, sendNotice } =
  proxyActivities<Activities>(untilDone);
const here = proxyLocalActivities<Activities>(untilDoneHere);
/** A downstream switch that keeps failing pages the commander this many times, not on every retry for hours. */
const FALLBACK_FAILURE_PAGES = 3;
// Enforcement gives up after a few quick attempts so a failure is surfaced (timeline and page) soon;
// the workflow then keeps trying at a slower pace. Retries are safe: every call carries the idempotency key.
const enforcement = proxyActivities<Activities>({
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 4 },
});
/** One attempt at an approved apply, run in the workflow task that sees the quorum met (apply-in-decision-task). */
const enforcementHere = proxyLocalActivities<Activities>({ startToCloseTimeout: '15 seconds', retry: { maximumAttempts: 1 } });

/** One proposed correction: approval gate (or break-glass) → apply → verify → active → lift. */
export async function correctionWorkflow(start: CorrectionStart): Promise<CorrectionSnapshot> {
  if (start.indexed) indexAsPartOf(start);
  // Where the first patch always was: a run started now takes every patch below at once (workflows/patches.ts).
  const isPatched = patchGeneration('correction-2026-12-03');
  // Each downstream consumer on its own branch, with customer-facing notices; runs from before keep the old sequence.
  const independentDownstream = isPatched('downstream-independent');
  // The decision authority is paged the moment a correction waits on it, not when its approval times out.
  const pageAuthorityAtOnce = isPatched('page-authority-at-proposal');
  // The enforcer is not kept waiting for bookkeeping: one round trip less between a decision and its effect.
  const applyWithoutWaiting = isPatched('apply-without-waiting');
  // A break-glass correction is applied beside recording its proposal, not after it: the enforcer does
  // not read the correction's row, and the timeline still has the proposal first (the application is
  // recorded once both are done). Runs from before recorded the proposal first.
  const applyBesideProposal = isPatched('apply-beside-proposal');
  // A correction that waits for a decision records its proposal as a local activity, in its first workflow
  // task, and asks for the decision in that same task: the proposal is answered (once its row exists) when
  // the workflow has nothing left in hand, so the decision that follows at once is not queued behind the
  // workflow task that used to see the record done. Runs from before record it with an activity task.
  const recordProposalHere = isPatched('record-proposal-locally');
  // An approved correction's first apply runs as a local activity in the workflow task that sees the quorum
  // met, instead of an activity task the server hands out after that task completes. Only that attempt:
  // if it fails, the activity task's retries, failure records and pages take over as before.
  const applyInDecisionTask = isPatched('apply-in-decision-task');
  const voting: VotingState = { rule: start.rule, escalated: false, proposedBy: start.proposedBy, votes: [] };
  const snapshot: CorrectionSnapshot = {
    id: start.id,
    kind: start.kind,
    state: 'proposed',
    breakGlass: start.breakGlass,
    proposedBy: start.proposedBy,
    rule: start.rule,
    escalated: false,
    votes: voting.votes,
    failures: 0,
  };
  let liftRequest: LiftRequest | undefined;
  /** Votes are written after the correction itself, which they reference. */
  let recorded = false;
  const base = { incidentId: start.incidentId, correctionId: start.id };
  const incidentRef = { incidentId: start.incidentId, systemId: start.systemId, title: start.incidentTitle, severity: start.severity };
  const target = {
    id: start.id,
    incidentId: start.incidentId,
    systemId: start.systemId,
    kind: start.kind,
    scope: start.scope,
    parameters: start.parameters,
    reason: start.reason,
  };

  const enter = async (state: CorrectionState) => {
    snapshot.state = state;
    if (state !== 'awaiting-ratification') delete snapshot.decideBy;
    await getExternalWorkflowHandle(start.incidentWorkflowId)
      .signal(correctionChangedSignal, { correctionId: start.id, state })
      .catch(() => {
        // The incident may be gone (closed); the projection and timeline still hold the truth.
      });
  };

  const incidentPage: CallToAction = { what: 'See the incident and its corrections', path: `/console/incidents/${start.incidentId}#corrections` };
  const page = async (people: Person[], reason: string, text: string, occurrence = '') => {
    for (const person of people) {
      await sendPage({
        incidentId: start.incidentId,
        idempotencyKey: `${start.id}:${reason}${occurrence ? `:${occurrence}` : ''}:${person.id}`,
        person,
        level: 0,
        attempt: 1,
        reason,
        ...correctionPage(incidentRef, person.name, { id: start.id, kind: start.kind, reason: start.reason }, text),
        ...(pageAuthorityAtOnce ? { action: incidentPage } : {}),
      });
    }
  };
  /** Sent beside the decision, never in its way: a vote is acted on even while the mail relay is down. */
  let decisionPages: Promise<unknown> = Promise.resolve();
  /** Pages everyone whose vote would count, but the proposer: what they decide, by when, and where. */
  const askForDecision = async (decideBy: string) => {
    snapshot.decideBy = decideBy;
    const deciders = holdersOf(start.people, decidingRoles(voting)).filter((p) => p.id !== start.proposedBy);
    const verb = start.breakGlass ? 'Ratify or reject' : 'Approve or reject';
    await Promise.all(
      deciders.map((person) =>
        sendPage({
          incidentId: start.incidentId,
          idempotencyKey: `${start.id}:decision-requested${voting.escalated ? ':escalated' : ''}:${person.id}`,
          person,
          level: 0,
          attempt: 1,
          reason: 'decision-requested',
          ...decisionRequest(
            incidentRef,
            person.name,
            { ...target, proposedBy: start.proposedBy },
            {
              quorum: start.rule.quorum,
              approverRoles: start.rule.approverRoles,
              decideBy,
              breakGlass: start.breakGlass,
            },
          ),
          action: {
            what: `${verb} the ${start.kind.replace(/_/g, ' ')} (${start.id})`,
            path: `/console/incidents/${start.incidentId}#decisions`,
            command: `correx correction approve ${start.id} --rationale "…"   (or: correx correction reject ${start.id} --rationale "…")`,
          },
        }),
      ),
    );
  };
  const commanderAndAuthority = () => {
    const authority = holdersOf(start.people, decidingRoles(voting));
    const commander = start.people.filter((p) => p.id === start.commander);
    return [...commander, ...authority.filter((p) => p.id !== start.commander)];
  };

  setHandler(correctionStateQuery, () => snapshot);
  setHandler(
    decideCorrectionUpdate,
    async (decision) => {
      const admitted = admitVote(voting, start.people, decision);
      if ('refused' in admitted) throw new Error(admitted.refused);
      voting.votes.push({ actor: decision.actor, role: admitted.role, decision: decision.decision, rationale: decision.rationale, at: decision.at });
      await condition(() => recorded);
      await recordVote({
        ...base,
        actor: decision.actor,
        role: admitted.role,
        decision: decision.decision,
        rationale: decision.rationale,
        at: decision.at,
        ...(decision.via ? { via: decision.via } : {}),
      });
      // The vote may have decided it: answer with where the correction is going, not where it was.
      return { ...snapshot, state: shownState(snapshot.state, voting) };
    },
    {
      validator: (decision) => {
        const problem = decisionProblem({ id: start.id, state: snapshot.state, voting, people: start.people }, decision);
        if (problem) throw new Error(problem);
      },
    },
  );
  setHandler(liftRequestedSignal, (request) => {
    if (inForce(snapshot.state)) liftRequest ??= request;
  });

  /**
   * Runs a step until it succeeds. Each failed round (the activity's own retries exhausted) is
   * surfaced on the timeline and paged, then tried again after a pause: never silently dropped.
   */
  const persist = async (label: string, step: () => Promise<void>, giveUpWhen: () => boolean = () => false): Promise<boolean> => {
    for (let failures = 0; ;) {
      try {
        await step();
        return true;
      } catch (error) {
        if (!(error instanceof ActivityFailure)) throw error;
        failures += 1;
        snapshot.failures += 1;
        const reason = error.cause?.message ?? error.message;
        // A failure is recorded against the correction's row, so after the proposal (applied beside it).
        await condition(() => recorded);
        await recordCorrectionTransition({
          ...base,
          event: `correction.${label}_failed`,
          occurrence: String(failures),
          actor: 'system:enforcement',
          data: { attempt: failures, error: reason, adapter: start.enforcement.adapter },
        });
        await page(commanderAndAuthority(), `${label}-failed`, `Enforcing (${label}) failed: ${reason}. Correx keeps retrying.`, String(failures));
        if (await condition(giveUpWhen, Math.min(failures, 15) * 60_000)) return false;
      }
    }
  };
  /** `applied`: the incident already sent this apply; the first round only reads it back. */
  const enforce = (action: 'apply' | 'lift', applied = false) => {
    let skipApply = applied;
    return persist(action, async () => {
      const sent = skipApply;
      // A round that fails sends it again: the incident's apply may not have taken.
      skipApply = false;
      if (!sent) await (action === 'apply' ? enforcement.applyCorrection : enforcement.liftCorrection)({ plan: start.enforcement, correction: target });
      await enforcement.verifyCorrection({ plan: start.enforcement, correction: target, expected: action === 'apply' ? 'applied' : 'lifted' });
    });
  };
  /** What became of the incident's own attempt at the break-glass apply (appliedByIncident). */
  let incidentApplied: { applied: boolean; error?: string } | undefined;
  setHandler(incidentAppliedSignal, (outcome) => {
    incidentApplied ??= outcome;
  });
  /** Applies at once: after the incident's attempt when it makes one (verified, or sent again if it failed). */
  const applyAtOnce = async () => {
    if (!start.appliedByIncident) return enforce('apply');
    await condition(() => incidentApplied !== undefined);
    return enforce('apply', incidentApplied!.applied);
  };
  /** Tells each affected downstream consumer and switches its fallback on (applied) or off (lifted). */
  let downstreamApplied: Promise<void> | undefined;
  const informDownstream = async (phase: 'applied' | 'lifted') => {
    for (const consumer of start.consumers) {
      await sendNotice({
        incidentId: start.incidentId,
        idempotencyKey: `${start.id}:${consumer.id}:notice-${phase}`,
        audience: 'downstream',
        recipient: { name: consumer.name, email: consumer.contact.email },
        correctionId: start.id,
        message: noticeFor(consumer, phase, new Date(workflowNow()).toISOString()),
      });
      // Activating a fallback stops being retried once the correction is being lifted: it is moot.
      await persist(
        `fallback-${phase === 'applied' ? 'activate' : 'deactivate'}-${consumer.id}`,
        () =>
          enforcement.switchFallback({
            incident: incidentRef,
            correctionId: start.id,
            consumer,
            action: phase === 'applied' ? 'activate' : 'deactivate',
            secretEnv: start.fallbackSecretEnv,
          }),
        phase === 'applied' ? () => liftRequest !== undefined : undefined,
      );
    }
  };

  /** Set when the lift is in force at the enforcer: the moment customers are told of. */
  let liftedAt: string | undefined;
  let incidentClosed = false;
  setHandler(incidentClosedSignal, () => {
    incidentClosed = true;
  });
  if (independentDownstream) snapshot.downstream = start.consumers.map((c) => ({ consumerId: c.id, name: c.name, notice: 'none', fallback: 'inactive' }));

  const noticeFor = (consumer: DownstreamConsumerPlan, phase: 'applied' | 'lifted', at: string) =>
    customerNotice(
      incidentRef,
      { name: consumer.name, fallback: consumer.fallback.description },
      { kind: start.kind, scope: start.scope, parameters: start.parameters, at, message: start.customers?.message },
      {
        systemName: start.customers?.systemName ?? start.systemId,
        contact: start.customers?.contact ?? { name: consumer.contact.name ?? consumer.name, email: consumer.contact.email },
        fallbackSwitch: consumer.fallback.activation.method === 'webhook' ? 'automatic' : 'requested',
      },
      phase,
    );
  const notify = (consumer: DownstreamConsumerPlan, phase: 'applied' | 'lifted', at: string) =>
    sendNotice({
      incidentId: start.incidentId,
      idempotencyKey: `${start.id}:${consumer.id}:notice-${phase}`,
      audience: 'downstream',
      recipient: { name: consumer.name, email: consumer.contact.email },
      correctionId: start.id,
      message: noticeFor(consumer, phase, at),
    });
  /**
   * Switches one consumer's fallback until it is confirmed, or `giveUpWhen` makes it moot. A round
   * that fails shows the consumer as failing (with the error and the next attempt) and, the first few
   * times and only while the incident is open, pages the commander.
   */
  const switchFallback = async (consumer: DownstreamConsumerPlan, status: DownstreamStatus, action: 'activate' | 'deactivate', giveUpWhen: () => boolean) => {
    status.fallback = action === 'activate' ? 'activating' : 'deactivating';
    for (let failures = 0; ;) {
      try {
        await enforcement.switchFallback({ incident: incidentRef, correctionId: start.id, consumer, action, secretEnv: start.fallbackSecretEnv });
        status.fallback = action === 'activate' ? 'active' : 'inactive';
        delete status.lastError;
        delete status.nextAttemptAt;
        return;
      } catch (error) {
        if (!(error instanceof ActivityFailure)) throw error;
        failures += 1;
        snapshot.failures += 1;
        const reason = error.cause?.message ?? error.message;
        const pauseMs = Math.min(failures, 15) * 60_000;
        const nextAttemptAt = new Date(workflowNow() + pauseMs).toISOString();
        const failure = { incidentId: start.incidentId, correctionId: start.id, consumerId: consumer.id, action, attempt: failures, error: reason };
        await recordFallbackFailing({ ...failure, nextAttemptAt });
        // Shown live once on record, so what the API shows and what the database holds agree.
        Object.assign(status, { fallback: 'failing', lastError: reason, nextAttemptAt });
        if (failures <= FALLBACK_FAILURE_PAGES && !incidentClosed) {
          const commander = start.people.filter((p) => p.id === start.commander);
          await page(
            commander.length > 0 ? commander : commanderAndAuthority(),
            `fallback-${action}-${consumer.id}-failed`,
            `Switching ${action === 'activate' ? 'on' : 'off'} the fallback of ${consumer.name} failed: ${reason}. Correx tries again at ${status.nextAttemptAt}` +
              (failures === FALLBACK_FAILURE_PAGES ? ' and keeps trying without paging you again.' : '.'),
            String(failures),
          );
        }
        if (await condition(giveUpWhen, pauseMs)) {
          if (action === 'deactivate') {
            status.nextAttemptAt = null;
            await recordFallbackFailing({ ...failure, nextAttemptAt: null });
          }
          return;
        }
      }
    }
  };
  /** One consumer, on its own: told the correction is in force, its fallback on; told of the lift, its fallback off. */
  const serveConsumer = async (consumer: DownstreamConsumerPlan, status: DownstreamStatus) => {
    await notify(consumer, 'applied', new Date(workflowNow()).toISOString());
    status.notice = 'in-force';
    // Activating is moot once the correction is being lifted.
    await switchFallback(consumer, status, 'activate', () => liftRequest !== undefined);
    await condition(() => liftedAt !== undefined);
    await notify(consumer, 'lifted', liftedAt!);
    status.notice = 'lifted';
    // Switched off even when switching on was never confirmed: a request that timed out may have taken effect.
    await switchFallback(consumer, status, 'deactivate', () => incidentClosed);
  };
  /** Told of the lift, and each fallback switched off or shown failing: the incident may close. */
  const downstreamSettled = () => (snapshot.downstream ?? []).every((d) => d.notice === 'lifted' && (d.fallback === 'inactive' || d.fallback === 'failing'));
  const serveDownstream = () => Promise.all(start.consumers.map((consumer, i) => serveConsumer(consumer, snapshot.downstream![i]!))).then(() => {});

  const recordProposal = (how: Pick<typeof here, 'recordCorrectionProposed'> = { recordCorrectionProposed }) =>
    how
      .recordCorrectionProposed({
        id: start.id,
        incidentId: start.incidentId,
        systemId: start.systemId,
        severity: start.severity,
        kind: start.kind,
        scope: start.scope,
        parameters: start.parameters,
        reason: start.reason,
        breakGlass: start.breakGlass,
        proposedBy: start.proposedBy,
        proposedAt: start.proposedAt,
      })
      .then(() => {
        recorded = true;
      });
  const appliedAtOnce = start.breakGlass && start.rule.breakGlass.allowed;
  const proposalRecorded = appliedAtOnce && applyBesideProposal ? recordProposal() : undefined;
  if (!proposalRecorded) await recordProposal(recordProposalHere && !appliedAtOnce ? here : undefined);

  if (start.breakGlass && start.rule.breakGlass.allowed) {
    if (applyWithoutWaiting) await Promise.all([proposalRecorded, enter('applying'), applyAtOnce()]);
    else {
      await enter('applying');
      await enforce('apply');
    }
    await recordCorrectionTransition({
      ...base,
      state: 'awaiting-ratification',
      event: 'correction.applied',
      actor: start.proposedBy,
      stamp: 'applied_at',
      data: { breakGlass: true },
    });
    await enter('awaiting-ratification');
    downstreamApplied ??= independentDownstream ? serveDownstream() : informDownstream('applied');
    const windowMs = start.rule.breakGlass.ratificationWindowMs;
    if (pageAuthorityAtOnce) decisionPages = askForDecision(new Date(workflowNow() + windowMs).toISOString());
    const ratified = await condition(() => isApproved(voting) || isRejected(voting) || liftRequest !== undefined, windowMs);
    if (ratified && isApproved(voting)) {
      await recordCorrectionTransition({ ...base, state: 'active', event: 'correction.ratified', actor: 'system:authority', stamp: 'approved_at' });
      await enter('active');
    } else if (!liftRequest) {
      // Not ratified in time, or rejected: the correction comes off, and the people who let it lapse hear of it.
      const rejected = isRejected(voting);
      await recordCorrectionTransition({
        ...base,
        event: rejected ? 'correction.ratification_rejected' : 'correction.ratification_missed',
        actor: 'system:authority',
        data: { windowMs },
      });
      liftRequest = {
        actor: 'system:authority',
        at: '',
        rationale: rejected ? 'break-glass correction rejected' : 'break-glass correction not ratified in time',
      };
      await page(
        commanderAndAuthority(),
        'ratification-missed',
        rejected
          ? 'The break-glass correction was rejected and is being lifted.'
          : 'The break-glass correction was not ratified within its window and is being lifted.',
      );
    }
  } else {
    if (pageAuthorityAtOnce) decisionPages = askForDecision(new Date(workflowNow() + start.rule.approvalTimeoutMs).toISOString());
    let decided = await condition(() => isApproved(voting) || isRejected(voting), start.rule.approvalTimeoutMs);
    if (!decided) {
      voting.escalated = true;
      snapshot.escalated = true;
      if (pageAuthorityAtOnce) snapshot.decideBy = new Date(workflowNow() + start.rule.approvalTimeoutMs).toISOString();
      await recordCorrectionTransition({
        ...base,
        event: 'correction.escalated',
        actor: 'system:authority',
        data: { from: start.rule.approverRoles, to: start.rule.escalateTo, afterMs: start.rule.approvalTimeoutMs },
      });
      await page(
        holdersOf(start.people, start.rule.escalateTo),
        'approval-escalated',
        `Nobody decided on this correction within ${start.rule.approvalTimeoutMs / 60_000} minutes; it is escalated to you.`,
      );
      decided = await condition(() => isApproved(voting) || isRejected(voting), start.rule.approvalTimeoutMs);
    }
    if (!decided || isRejected(voting)) {
      const rejection = voting.votes.find((v) => v.decision === 'reject');
      await recordCorrectionTransition({
        ...base,
        state: rejection ? 'rejected' : 'expired',
        event: rejection ? 'correction.rejected' : 'correction.expired',
        actor: rejection?.actor ?? 'system:authority',
        stamp: rejection ? 'rejected_at' : undefined,
        ...(rejection ? { at: rejection.at, data: { rationale: rejection.rationale } } : {}),
      });
      await enter(rejection ? 'rejected' : 'expired');
      await condition(allHandlersFinished);
      await decisionPages;
      return snapshot;
    }
    const approved = () =>
      recordCorrectionTransition({
        ...base,
        state: 'approved',
        event: 'correction.approved',
        actor: 'system:authority',
        stamp: 'approved_at',
        data: { approvers: voting.votes.filter((v) => v.decision === 'approve').map((v) => ({ actor: v.actor, role: v.role })), escalated: voting.escalated },
      });
    // The enforcer is called the moment the quorum is met: recording the approval and telling the incident
    // are not in its way (the timeline still has the approval before the application, recorded after both).
    const applyFirstHere = async () => {
      const applied = await enforcementHere.applyCorrection({ plan: start.enforcement, correction: target }).then(
        () => true,
        () => false,
      );
      await enforce('apply', applied);
    };
    if (applyInDecisionTask) await Promise.all([approved(), enter('approved').then(() => enter('applying')), applyFirstHere()]);
    else if (applyWithoutWaiting) await Promise.all([approved(), enter('approved').then(() => enter('applying')), enforce('apply')]);
    else {
      await approved();
      await enter('approved');
      await enter('applying');
      await enforce('apply');
    }
    await recordCorrectionTransition({
      ...base,
      state: 'applied',
      event: 'correction.applied',
      actor: 'system:enforcement',
      stamp: 'applied_at',
      data: { adapter: start.enforcement.adapter },
    });
  }

  if (!liftRequest) {
    await recordCorrectionTransition({ ...base, state: 'active', event: 'correction.verified', actor: 'system:enforcement', stamp: 'verified_at' });
    if (snapshot.state !== 'active') await enter('active');
    // Notices and fallbacks run beside the correction's life, so a slow consumer never holds up a lift.
    downstreamApplied ??= independentDownstream ? serveDownstream() : informDownstream('applied');
    await condition(() => liftRequest !== undefined);
  }

  const lift = liftRequest!;
  await enter('lifting');
  if (lift.actor !== 'system:authority') {
    // Who lifted it: every vote the lift rule's quorum took, not only the one that completed it.
    const votes = lift.votes?.map(({ actor, role }) => ({ actor, role }));
    await recordCorrectionTransition({
      ...base,
      event: 'correction.lift_decided',
      actor: lift.actor,
      at: lift.at,
      data: { rationale: lift.rationale, ...(votes ? { votes } : {}) },
    });
  }
  await enforce('lift');
  await recordCorrectionTransition({
    ...base,
    state: 'lifted',
    event: 'correction.lifted',
    actor: lift.actor,
    stamp: 'lifted_at',
    data: { rationale: lift.rationale },
  });
  if (!independentDownstream) {
    await enter('lifted');
    if (downstreamApplied) {
      await downstreamApplied;
      await informDownstream('lifted');
    }
    await condition(allHandlersFinished);
    await decisionPages;
    return snapshot;
  }
  // Customers hear of the lift before the incident may close: until then the incident sees it lifting.
  snapshot.state = 'lifted';
  liftedAt = new Date(workflowNow()).toISOString();
  if (downstreamApplied) await condition(downstreamSettled);
  await enter('lifted');
  await downstreamApplied;
  await condition(allHandlersFinished);
  await decisionPages;
  return snapshot;
}
