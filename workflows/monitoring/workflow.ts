import {
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  patched,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  startChild,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { incidentWorkflowId, legacyIncidentWorkflowId } from '../../services/identity.js';
import { groupKey, matches, silencedBy, withinWindow, type Silence } from '../../services/monitoring/matching.js';
import type { ReceivedSignal } from '../../services/monitoring/signal.js';
import {
  addToWindow,
  duePending,
  nextDue,
  pendingAfterFiring,
  pendingAfterResolve,
  receiptKey,
  receiptTime,
  thresholdMet,
  windowAlerts,
  windowSignalIds,
  type WindowEntry,
} from '../../services/monitoring/thresholds.js';
import { untilDone } from '../activity-options.js';
import { incidentWorkflow } from '../incident/workflow.js';
import { triggerArrivedSignal } from '../incident/messages.js';
import {
  incidentEndedSignal,
  monitorAcknowledgeSignal,
  monitorAlertsResolvedSignal,
  monitorResolveSignal,
  monitorStateQuery,
  reopenSignal,
  signalReceivedSignal,
  silenceUpdate,
  type MonitorStart,
  type MonitorState,
} from './messages.js';
import { workflowNow } from '../time.js';

const { prepareMonitor, linkSignals, recordAlertsJoined, recordAlertResolved, suppressSignal, syncEvaluationSchedules } =
  proxyActivities<Activities>(untilDone);

const HEARTBEAT_GROUP = 'heartbeat';

/**
 * One per system, for as long as it runs: every signal for the system arrives here, is matched
 * against the runbook's triggers over durable sliding windows, and opens, joins or resolves
 * incidents. Watches the heartbeat. Continues as new before its history grows large, carrying its
 * windows, open incidents and silences.
 */
export async function monitorWorkflow(start: MonitorStart): Promise<void> {
  const state: MonitorState = start.state ?? {
    systemId: start.systemId,
    runbookVersion: undefined,
    plan: undefined,
    windows: {},
    open: {},
    ended: {},
    openings: {},
    silences: [],
    suppressed: [],
    processed: 0,
    recent: [],
    schedules: [],
    lastHeartbeatAt: undefined,
    runbookHistory: [],
  };
  const workflowId = workflowInfo().workflowId;
  // Each incident knows which of its alerts still fire: a resolve ends one alert, is on the incident's
  // timeline, and only the last one resolves the incident (or, if the runbook keeps it open, stops paging).
  const alertLifecycle = patched('alert-lifecycle');
  // A PagerDuty alert (dedup_key) is an incident of its own under a trigger that does not group.
  const pagerDutyAlerts = patched('pagerduty-alerts');
  // Thresholds count what the trigger says (every receipt, repeats included, or distinct alerts), over a
  // window that slides with the latest receipt of its group, and a trigger's `for` holds the opening
  // back until the group has fired that long (a timer).
  const thresholdRules = patched('threshold-rules');
  /** Which receipt of its signal this is: 1 for the first (and for signals handed over before repeats were), n for its n-th repeat. */
  const occurrenceOf = (s: ReceivedSignal) => s.occurrence ?? 1;
  /** The sender's name for the alert a firing signal is about; without one, the signal is an alert of its own. */
  const alertOf = (s: { signalId: string; alertKey?: string }) => s.alertKey ?? s.signalId;
  const queue: ReceivedSignal[] = [...(start.carried ?? [])];
  let handledThisRun = 0;
  /** Incidents started as children in this run: each stays a pending child of the run while it is open. */
  let startedThisRun = 0;

  setHandler(monitorStateQuery, () => state);
  setHandler(signalReceivedSignal, (signal) => {
    queue.push(signal);
  });
  setHandler(incidentEndedSignal, ({ groupKey: key, incidentId, at }) => {
    const incident = state.open[key];
    if (incident?.incidentId !== incidentId) return;
    if (incident.reopenedAt && Date.parse(incident.reopenedAt) >= Date.parse(at)) return;
    delete state.open[key];
    state.ended[key] = { ...incident, at };
  });
  setHandler(
    silenceUpdate,
    (request) => {
      const silence: Silence = {
        id: uuid4(),
        matchers: request.matchers,
        trigger: request.trigger,
        owner: request.owner,
        reason: request.reason,
        endsAt: request.endsAt,
      };
      state.silences = [...state.silences.filter((s) => Date.parse(s.endsAt) > workflowNow()), silence];
      return silence;
    },
    {
      validator: (request) => {
        if (!request.owner.trim()) throw new Error('a silence needs an owner');
        if (!request.reason.trim()) throw new Error('a silence needs a reason');
        if (!(Date.parse(request.endsAt) > workflowNow())) throw new Error('endsAt must be in the future');
        if (Object.keys(request.matchers).length === 0 && !request.trigger)
          throw new Error('a silence needs label matchers or a trigger, so it cannot silence everything by accident');
      },
    },
  );

  const pendingOpens: Promise<void>[] = [];
  const open = async (key: string, o: { triggerId: string; title: string; severity: string; signalIds: string[]; at: string; firing?: string[] }) => {
    const n = (state.openings[key] ?? 0) + 1;
    state.openings[key] = n;
    const incidentId = uuid4();
    const dedupKey = `monitor:${key}:${n}`;
    // Ids without shell-special characters (the group key's `|` and `=`); incidents opened before keep theirs.
    const childId = patched('safe-workflow-ids') ? incidentWorkflowId(state.systemId, dedupKey) : legacyIncidentWorkflowId(state.systemId, dedupKey);
    state.open[key] = { workflowId: childId, incidentId, triggerId: o.triggerId, ...(o.firing ? { firing: o.firing } : {}) };
    startedThisRun += 1;
    const started = startChild(incidentWorkflow, {
      workflowId: childId,
      // The incident lives its own life; the monitor continues as new many times meanwhile.
      parentClosePolicy: ParentClosePolicy.ABANDON,
      args: [
        {
          incidentId,
          systemId: state.systemId,
          dedupKey,
          title: o.title,
          severity: o.severity,
          summary: undefined,
          openedBy: 'system:monitor',
          openedAt: o.at,
          runbookVersion: state.runbookVersion!,
          cause: { triggerId: o.triggerId, groupKey: key, signalIds: o.signalIds, monitorWorkflowId: workflowId },
        },
      ],
    }).then(() => linkSignals(o.signalIds, incidentId));
    // In a storm of new groups the incidents start together, not one round trip after another; anything
    // that signals an incident waits for the starts first (flushJoins).
    if (patched('batched-opens')) {
      // Awaited by the next flush; marked handled meanwhile so a failed start surfaces there, not as an unhandled rejection.
      started.catch(() => {});
      pendingOpens.push(started);
    } else await started;
  };
  // Joins are the bulk of an alert storm: their notices and links go out together once the queue is
  // drained, not one round trip each. Anything else that tells an incident something flushes them first,
  // so the incident hears of its signals in order.
  const pendingJoins: { workflowId: string; incidentId: string; signalId: string; at: string; newAlert?: boolean }[] = [];
  const flushJoins = async () => {
    if (pendingOpens.length > 0) await Promise.all(pendingOpens.splice(0));
    if (pendingJoins.length === 0) return;
    const batch = pendingJoins.splice(0);
    await Promise.all(
      batch.map((j) =>
        getExternalWorkflowHandle(j.workflowId)
          .signal(triggerArrivedSignal, { incidentId: j.signalId, at: j.at, by: 'system:monitor' })
          .catch(() => {}),
      ),
    );
    const byIncident = new Map<string, string[]>();
    for (const j of batch) byIncident.set(j.incidentId, [...(byIncident.get(j.incidentId) ?? []), j.signalId]);
    for (const [incidentId, signalIds] of byIncident) {
      // An alert new to the incident is on its timeline; a re-fire of one already firing is only linked.
      if (alertLifecycle) {
        const newAlerts = batch.filter((j) => j.incidentId === incidentId && j.newAlert).map((j) => j.signalId);
        await recordAlertsJoined({ incidentId, signalIds, newAlerts });
      } else await linkSignals(signalIds, incidentId);
    }
  };
  const resolve = async (key: string, reason: string, at: string) => {
    await flushJoins();
    const incident = state.open[key];
    if (!incident) return;
    delete state.open[key];
    state.ended[key] = { ...incident, at };
    await getExternalWorkflowHandle(incident.workflowId)
      .signal(monitorResolveSignal, { reason, at })
      .catch(() => {});
  };

  /**
   * A resolve from the sender: the alert leaves its group's window, or its open incident's firing
   * alerts (on that incident's timeline). Once none fire, the incident resolves, or with
   * `onResolved: record` stays open and stops paging. An incident opened before it knew its alerts
   * counts as having one.
   */
  const alertResolved = async (onResolved: 'resolve' | 'record', key: string, signal: ReceivedSignal) => {
    await flushJoins();
    const incident = state.open[key];
    if (!incident) {
      // Not firing any more, so it no longer counts towards opening one.
      if (signal.alertKey && state.windows[key]) state.windows[key] = state.windows[key].filter((s) => s.alertKey !== signal.alertKey);
      // A resolve without a key ends every alert of its group.
      else if (thresholdRules && !signal.alertKey) delete state.windows[key];
      // A group waiting out its trigger's `for` opens nothing once none of its alerts fires.
      const pending = thresholdRules ? state.pending?.[key] : undefined;
      if (pending) {
        const after = pendingAfterResolve(pending, signal.alertKey);
        if (after) state.pending![key] = after;
        else delete state.pending![key];
      }
      return;
    }
    incident.firing = signal.alertKey && incident.firing ? incident.firing.filter((k) => k !== signal.alertKey) : [];
    await recordAlertResolved({
      signalId: signal.signalId,
      incidentId: incident.incidentId,
      alertKey: signal.alertKey,
      remaining: incident.firing.length,
      at: signal.at,
    });
    if (incident.firing.length > 0) return;
    const reason = `every alert resolved at its source (last: resolved signal ${signal.signalId})`;
    if (onResolved === 'resolve') return resolve(key, reason, signal.at);
    await getExternalWorkflowHandle(incident.workflowId)
      .signal(monitorAlertsResolvedSignal, { reason, at: signal.at })
      .catch(() => {});
  };

  const handle = async (signal: ReceivedSignal) => {
    if (signal.runbookVersion !== state.runbookVersion) {
      // A new runbook version applies from this signal on; windows and open incidents carry over.
      state.plan = await prepareMonitor(signal.runbookVersion);
      state.runbookVersion = signal.runbookVersion;
      state.runbookHistory.push({ version: signal.runbookVersion, at: signal.at });
      if (state.plan.evaluations.length > 0 || state.schedules.length > 0) {
        state.schedules = (await syncEvaluationSchedules(state.plan, state.schedules)).scheduleIds;
      }
    }
    const plan = state.plan!;
    // A repeat (the same signal received again) counts toward thresholds, and does nothing else: a
    // repeat of a resolve or an acknowledgement, or of a heartbeat, says nothing new.
    const repeat = thresholdRules && occurrenceOf(signal) > 1;
    if (repeat && (signal.source === 'heartbeat' || signal.status !== 'firing')) return;
    if (signal.source === 'heartbeat') {
      state.lastHeartbeatAt = signal.at;
      await resolve(HEARTBEAT_GROUP, 'heartbeats resumed', signal.at);
      return;
    }
    for (const trigger of plan.triggers) {
      if (!matches(trigger, signal)) continue;
      const key = groupKey(trigger, signal, { pagerDutyAlerts });
      const silence = silencedBy(state.silences, trigger.id, signal);
      // The signal was held back (or counted) at its first receipt; its repeats are not recorded again.
      if (silence && repeat) continue;
      if (silence) {
        state.suppressed.push({ signalId: signal.signalId, silenceId: silence.id, at: signal.at });
        if (state.suppressed.length > 200) state.suppressed.splice(0, state.suppressed.length - 200);
        await suppressSignal({
          signalId: signal.signalId,
          silenceId: silence.id,
          owner: silence.owner,
          reason: silence.reason,
          incidentId: state.open[key]?.incidentId,
        });
        continue;
      }
      if (signal.status === 'acknowledged') {
        await flushJoins();
        const incident = state.open[key];
        if (incident) {
          await getExternalWorkflowHandle(incident.workflowId)
            .signal(monitorAcknowledgeSignal, { reason: `acknowledged at the source (signal ${signal.signalId})`, at: signal.at })
            .catch(() => {});
          await linkSignals([signal.signalId], incident.incidentId);
        }
        continue;
      }
      if (signal.status === 'resolved') {
        if (alertLifecycle) await alertResolved(trigger.onResolved, key, signal);
        else if (trigger.onResolved === 'resolve') await resolve(key, `resolved signal ${signal.signalId}`, signal.at);
        continue;
      }
      const incident = state.open[key];
      // Already linked to the open incident at its first receipt.
      if (incident && repeat) continue;
      if (incident) {
        const newAlert = alertLifecycle && incident.firing !== undefined && !incident.firing.includes(alertOf(signal));
        if (newAlert) incident.firing!.push(alertOf(signal));
        if (patched('batched-joins')) {
          pendingJoins.push({ workflowId: incident.workflowId, incidentId: incident.incidentId, signalId: signal.signalId, at: signal.at, newAlert });
        } else {
          await getExternalWorkflowHandle(incident.workflowId)
            .signal(triggerArrivedSignal, { incidentId: signal.signalId, at: signal.at, by: 'system:monitor' })
            .catch(() => {});
          await linkSignals([signal.signalId], incident.incidentId);
        }
        continue;
      }
      // A group waiting out its trigger's `for` gathers its firing signals until it opens.
      const waiting = thresholdRules ? state.pending?.[key] : undefined;
      if (waiting) {
        state.pending![key] = pendingAfterFiring(waiting, signal);
        continue;
      }
      // Opening a new group's incident tells no other incident anything, so it need not wait for them.
      const opensTogether = patched('batched-opens');
      if (!opensTogether) await flushJoins();
      const ended = state.ended[key];
      // A repeat of an alert is not the problem firing again: it re-opens nothing.
      if (ended && repeat && Date.parse(signal.at) - Date.parse(ended.at) <= plan.flapWindowMs) continue;
      if (ended && Date.parse(signal.at) - Date.parse(ended.at) <= plan.flapWindowMs) {
        if (opensTogether) await flushJoins();
        // Flapping: the same problem again soon after it was resolved is the same incident.
        delete state.ended[key];
        state.open[key] = {
          workflowId: ended.workflowId,
          incidentId: ended.incidentId,
          triggerId: ended.triggerId,
          reopenedAt: signal.at,
          ...(alertLifecycle ? { firing: [alertOf(signal)] } : {}),
        };
        await getExternalWorkflowHandle(ended.workflowId)
          .signal(reopenSignal, { reason: `re-fired within the flap window (signal ${signal.signalId})`, at: signal.at })
          .catch(() => {});
        await linkSignals([signal.signalId], ended.incidentId);
        continue;
      }
      if (ended) delete state.ended[key];
      const title =
        `${signal.summary?.trim().slice(0, 300) || trigger.description}${key.includes('|') ? ` (${key.split('|').slice(1).join(', ')})` : ''}`.slice(0, 500);
      if (thresholdRules) {
        const receipt: WindowEntry = {
          signalId: signal.signalId,
          at: receiptTime(signal, workflowNow()),
          ...(signal.alertKey ? { alertKey: signal.alertKey } : {}),
          ...(repeat ? { occurrence: occurrenceOf(signal) } : {}),
        };
        const window = addToWindow(state.windows[key] ?? [], receipt, trigger);
        if (!thresholdMet(window, trigger)) {
          state.windows[key] = window;
          continue;
        }
        delete state.windows[key];
        const met = { triggerId: trigger.id, title, severity: trigger.severity, signalIds: windowSignalIds(window), firing: windowAlerts(window) };
        if (trigger.forMs) {
          // Held back until the group has fired for `for`, on the monitor's own clock (a timer, see watchPending).
          const now = workflowNow();
          state.pending = { ...state.pending, [key]: { ...met, metAt: new Date(now).toISOString(), dueAt: new Date(now + trigger.forMs).toISOString() } };
          continue;
        }
        await open(key, { ...met, at: receipt.at });
        continue;
      }
      const arrival = { signalId: signal.signalId, at: signal.at, ...(alertLifecycle && signal.alertKey ? { alertKey: signal.alertKey } : {}) };
      const window = withinWindow([...(state.windows[key] ?? []), arrival], trigger.windowMs, Date.parse(signal.at));
      if (window.length >= trigger.count) {
        delete state.windows[key];
        await open(key, {
          triggerId: trigger.id,
          // In the sender's words when it gave them (the alert's summary), else the trigger's.
          title,
          severity: trigger.severity,
          signalIds: window.map((s) => s.signalId),
          at: signal.at,
          ...(alertLifecycle ? { firing: [...new Set(window.map(alertOf))] } : {}),
        });
      } else {
        state.windows[key] = window;
      }
    }
  };

  const process = async (signal: ReceivedSignal) => {
    // A receipt is (signalId, occurrence): a repeat is another receipt, a hand-over retried the same one.
    const receipt = thresholdRules ? receiptKey({ signalId: signal.signalId, occurrence: occurrenceOf(signal) }) : signal.signalId;
    if (state.recent.includes(receipt)) return;
    state.recent.push(receipt);
    if (state.recent.length > 500) state.recent.splice(0, state.recent.length - 500);
    await handle(signal);
    state.processed += 1;
    handledThisRun += 1;
  };

  /** No heartbeat within the interval: the system is unwatched, which is an incident of its own. */
  const watchHeartbeat = async () => {
    for (;;) {
      await condition(() => state.plan?.heartbeat !== undefined);
      const seen = state.lastHeartbeatAt;
      const interval = state.plan!.heartbeat!.intervalMs;
      const since = seen ? Date.parse(seen) : workflowNow();
      const arrived = await condition(() => state.lastHeartbeatAt !== seen, Math.max(0, since + interval - workflowNow()));
      if (arrived || state.open[HEARTBEAT_GROUP]) {
        if (!arrived) await condition(() => state.lastHeartbeatAt !== seen);
        continue;
      }
      await open(HEARTBEAT_GROUP, {
        triggerId: 'heartbeat',
        title: `Monitoring blind: no heartbeat from ${state.systemId} for ${Math.round(interval / 60_000)} minutes`,
        severity: state.plan!.heartbeat!.severity,
        signalIds: [],
        at: new Date(workflowNow()).toISOString(),
      });
    }
  };
  void watchHeartbeat();

  /**
   * Groups waiting out their trigger's `for`: each opens its incident when due, unless every alert of it
   * resolved meanwhile (which took it out of `pending`). One timer, for the soonest; it is set again
   * whenever the soonest changes, and carried across continue-as-new as the groups' due times.
   */
  const watchPending = async () => {
    for (;;) {
      await condition(() => nextDue(state.pending ?? {}) !== undefined);
      const due = nextDue(state.pending ?? {})!;
      if (due > workflowNow()) {
        await condition(() => nextDue(state.pending ?? {}) !== due, due - workflowNow());
        continue;
      }
      for (const key of duePending(state.pending ?? {}, workflowNow())) {
        const group = state.pending?.[key];
        if (!group) continue;
        delete state.pending![key];
        // Its trigger left the runbook meanwhile, or (never expected) the group has an incident already.
        if (state.open[key] || !state.plan?.triggers.some((t) => t.id === group.triggerId)) continue;
        await open(key, {
          triggerId: group.triggerId,
          title: group.title,
          severity: group.severity,
          signalIds: group.signalIds,
          at: new Date(workflowNow()).toISOString(),
          firing: group.firing,
        });
      }
    }
  };
  if (thresholdRules) void watchPending();

  const limit = start.continueAsNewAfter ?? 1000;
  // Temporal refuses a run more than 2000 pending children, and an incident stays one while it is open:
  // a storm of new groups continues as new after 1000 starts. Under an unending storm the queue never
  // empties, so the next run takes the signals not yet handled with it instead of this run draining them.
  const carryQueue = patched('carry-queue-on-continue');
  const childBudget = 1000;
  for (;;) {
    await condition(
      () => queue.length > 0 || handledThisRun >= limit || workflowInfo().continueAsNewSuggested || (carryQueue && startedThisRun >= childBudget),
    );
    if (carryQueue && (handledThisRun >= limit || workflowInfo().continueAsNewSuggested || startedThisRun >= childBudget)) {
      await flushJoins();
      await condition(allHandlersFinished);
      await continueAsNew<typeof monitorWorkflow>({
        systemId: state.systemId,
        state,
        continueAsNewAfter: start.continueAsNewAfter,
        carried: queue.splice(0),
      });
    }
    if (queue.length === 0 || handledThisRun >= limit || workflowInfo().continueAsNewSuggested) {
      // Drain first: signals already delivered belong to this run's history.
      while (queue.length > 0) await process(queue.shift()!);
      await flushJoins();
      await condition(allHandlersFinished);
      if (queue.length === 0) await continueAsNew<typeof monitorWorkflow>({ systemId: state.systemId, state, continueAsNewAfter: start.continueAsNewAfter });
      continue;
    }
    await process(queue.shift()!);
    if (queue.length === 0) await flushJoins();
  }
}
