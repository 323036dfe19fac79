import { condition, patched, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { indexAsPartOf } from '../search-attributes.js';
import { untilDone } from '../activity-options.js';
import type { Person } from '../../services/correction/authority.js';
import { reportAtRisk, reportDeadlineMissed, reportDrafted, reportReminder, type CallToAction, type ReportRef } from '../../services/notification/templates.js';
import { clockDeadline } from '../../services/regulatory/deadline.js';
import type { RegulatoryClock } from '../../services/regulatory/regime.js';
import {
  approveReportUpdate,
  declareSubmissionUpdate,
  incidentContextSignal,
  regulatoryClockQuery,
  type ClockSnapshot,
  type IncidentContext,
  type RegulatoryClockSnapshot,
  type RegulatoryClockStart,
  type SubmissionDeclaration,
} from './messages.js';
import { workflowNow } from '../time.js';

// A report must not be dropped: sending it is retried until the mail server is back.
const activities = proxyActivities<Activities>(untilDone);

const intersects = (a: readonly string[], b: readonly string[]) => a.some((x) => b.includes(x));

/**
 * One regulator regime on one incident: each of its clocks starts from its recorded moment, drafts
 * the report, reminds the approvers, escalates when at risk, records a missed deadline, and sends the
 * approved report (late, with the reason, if it must). Later reports start from earlier submissions.
 */
export async function regulatoryClockWorkflow(start: RegulatoryClockStart): Promise<RegulatoryClockSnapshot> {
  if (start.indexed) indexAsPartOf(start.incident);
  // Deadlines as the law counts them (each clock's own start moment, chained reports that outlive the
  // incident, a fixed cadence, lateness judged on delivery). Asked once, before any command: a run
  // begun before keeps the earlier counting on replay.
  const asTheLawCounts = patched('clock-semantics');
  const { regime, incident } = start;
  let context: IncidentContext = start.context;
  let withdrawn = false;
  const submissions = new Map<string, string>(); // clock id -> latest submission time
  const declared = new Map<string, SubmissionDeclaration>();
  /** When each class was first seen: a clock only for some classes runs from the moment one was added. */
  const classSince = new Map<string, string>(start.context.classes.map((c) => [c, start.applicableSince]));
  const approvals = new Map<string, { edits: Record<string, string>; lateReason: string | undefined; actor: string; at: string }>();
  const snapshot: RegulatoryClockSnapshot = {
    regimeId: regime.id,
    regimeName: regime.name,
    withdrawn: false,
    clocks: regime.clocks.map((clock) => ({
      clockId: clock.id,
      report: clock.report,
      occurrence: 1,
      startAt: undefined,
      dueAt: undefined,
      state: 'waiting',
      submittedAt: undefined,
      late: false,
    })),
  };
  const draftedPages: Promise<void>[] = [];
  const stateOf = (clockId: string) => snapshot.clocks.find((c) => c.clockId === clockId)!;
  const identity = (c: ClockSnapshot) => ({ incidentId: incident.incidentId, regimeId: regime.id, clockId: c.clockId, occurrence: c.occurrence });

  const awarenessAt = () => (asTheLawCounts && context.awareness ? context.awareness.at : start.awarenessAt);
  const moment = (name: string, clock?: RegulatoryClock): string | undefined => {
    if (name === 'awareness') return awarenessAt();
    if (name === 'determination' || name === 'classification') {
      if (!asTheLawCounts || !clock?.onlyFor) return start.applicableSince;
      const since = clock.onlyFor.flatMap((c) => classSince.get(c) ?? []).sort((a, b) => Date.parse(a) - Date.parse(b))[0];
      return since === undefined || Date.parse(since) < Date.parse(start.applicableSince) ? start.applicableSince : since;
    }
    if (name === 'resolution') return context.resolvedAt;
    if (name.startsWith('submitted:')) return submissions.get(name.slice('submitted:'.length));
    return undefined;
  };
  /** The deadline of an occurrence: the shortest that applies to the current classes, and the `latest` bound. */
  const dueFor = (clock: RegulatoryClock, startAt: string, occurrence: number): number | undefined => {
    // The regime's calendar: business days in its time zone, without its public holidays, to the end of its business day.
    const calendar = asTheLawCounts ? regime.calendar : undefined;
    const latestStartAt = clock.latest && occurrence === 1 ? moment(clock.latest.start, clock) : undefined;
    return clockDeadline({ calendar }, clock, { startAt, occurrence, classes: context.classes, latestStartAt });
  };
  const startFrom = (clock: RegulatoryClock, occurrence: number): string => {
    if (occurrence > 1) return `the schedule of the first ${clock.report} report, every ${clock.repeatEvery}`;
    const name = clock.start;
    if (name === 'awareness') {
      const set = asTheLawCounts ? context.awareness : undefined;
      return set ? `awareness, set by ${set.by}: ${set.reason}` : 'awareness: the incident was opened';
    }
    if (name === 'determination' || name === 'classification') {
      const classes = context.classes.filter((c) => (clock.onlyFor ?? regime.triggerClasses).some((k) => k === c));
      return `the determination of ${classes.join(', ') || 'a class this regime covers'}`;
    }
    if (name === 'resolution') return 'the resolution of the incident';
    const source = name.slice('submitted:'.length);
    const elsewhere = declared.get(source);
    return `the submission of the ${stateOf(source)?.report ?? source} report (${source})${elsewhere ? `, made outside Correx, declared by ${elsewhere.actor}` : ''}`;
  };
  /** A chained report is due even after the incident is resolved; only a periodic one ends with it. */
  const neverStarts = (clock: RegulatoryClock): boolean => {
    if (!asTheLawCounts) return context.resolvedAt !== undefined && !clock.start.startsWith('resolution');
    if (clock.start.startsWith('submitted:')) {
      const source = snapshot.clocks.find((c) => c.clockId === clock.start.slice('submitted:'.length));
      return source?.state === 'withdrawn' || (clock.repeatEvery !== undefined && context.resolvedAt !== undefined);
    }
    return context.resolvedAt !== undefined && !clock.start.startsWith('resolution');
  };
  /** A periodic report ("at least every 4 weeks until resolved") drafted but not sent is no longer due once resolved. */
  const noLongerDue = (clock: RegulatoryClock) => asTheLawCounts && clock.repeatEvery !== undefined && context.resolvedAt !== undefined;
  /** SB 53's imminent-risk notice goes to a public safety agency, not to the office that takes the 15-day report. */
  const recipientsOf = (clock: RegulatoryClock) => start.clockRecipients?.[clock.id] ?? start.recipients;
  const applies = (clock: RegulatoryClock) => !clock.onlyFor || intersects(clock.onlyFor, context.classes);
  const commanderAnd = (people: Person[]) => {
    const commander = start.people.filter((p) => p.id === context.commander);
    return [...people, ...commander.filter((c) => !people.some((p) => p.id === c.id))];
  };
  const page = async (
    to: Person[],
    reason: string,
    key: string,
    build: (name: string) => { subject: string; text: string; html: string },
    action?: CallToAction,
  ) => {
    for (const person of to) {
      await activities.sendPage({
        incidentId: incident.incidentId,
        idempotencyKey: `${key}:${person.id}`,
        person,
        level: 0,
        attempt: 1,
        reason,
        ...build(person.name),
        ...(action ? { action } : {}),
      });
    }
  };

  setHandler(regulatoryClockQuery, () => snapshot);
  setHandler(incidentContextSignal, (next) => {
    if (next.revision < context.revision) return;
    for (const c of next.classes) if (!classSince.has(c)) classSince.set(c, next.classifiedAt ?? new Date(workflowNow()).toISOString());
    context = next;
  });
  setHandler(
    declareSubmissionUpdate,
    async (declaration) => {
      const clock = stateOf(declaration.clockId);
      await activities.declareReportSubmitted({ ...identity(clock), ...declaration, regimeName: regime.name, report: clock.report, dueAt: clock.dueAt });
      declared.set(declaration.clockId, declaration);
      return snapshot;
    },
    {
      validator: (declaration) => {
        if (!start.approvers.some((p) => p.id === declaration.actor)) {
          throw new Error(
            `${declaration.actor} may not declare a regulator report submitted: that needs one of the runbook's report approvers (${start.approvers.map((p) => p.id).join(', ')})`,
          );
        }
        const clock = snapshot.clocks.find((c) => c.clockId === declaration.clockId);
        if (!clock) throw new Error(`regime ${regime.id} has no clock '${declaration.clockId}' (${snapshot.clocks.map((c) => c.clockId).join(', ')})`);
        if (clock.state !== 'drafted' || approvals.has(declaration.clockId) || declared.has(declaration.clockId))
          throw new Error(
            `the ${clock.report} report (${clock.clockId}) is ${clock.state}: only a drafted report, not yet approved, can be declared submitted elsewhere`,
          );
        const submittedAt = Date.parse(declaration.submittedAt);
        if (!(submittedAt <= workflowNow())) throw new Error('submittedAt must be a moment in the past');
        if (clock.startAt && submittedAt < Date.parse(clock.startAt))
          throw new Error(
            `submittedAt is before the clock started (${clock.startAt}); if the organisation was aware earlier, record that first (POST /v1/incidents/:id/awareness, correx incident awareness)`,
          );
        if (!declaration.evidence.trim()) throw new Error('evidence must say what shows the report was made (a portal reference, a call log)');
      },
    },
  );
  setHandler(
    approveReportUpdate,
    async (approval) => {
      const clock = stateOf(approval.clockId);
      approvals.set(approval.clockId, { edits: approval.edits ?? {}, lateReason: approval.lateReason, actor: approval.actor, at: approval.at });
      await activities.approveRegulatoryReport({
        ...identity(clock),
        actor: approval.actor,
        at: approval.at,
        edits: approval.edits ?? {},
        lateReason: approval.lateReason,
      });
      clock.state = 'approved';
      return snapshot;
    },
    {
      validator: (approval) => {
        if (!start.approvers.some((p) => p.id === approval.actor)) {
          throw new Error(
            `${approval.actor} may not approve regulator reports: that needs one of the runbook's report approvers (${start.approvers.map((p) => p.id).join(', ')})`,
          );
        }
        const clock = snapshot.clocks.find((c) => c.clockId === approval.clockId);
        if (!clock) throw new Error(`regime ${regime.id} has no clock '${approval.clockId}' (${snapshot.clocks.map((c) => c.clockId).join(', ')})`);
        if (clock.state !== 'drafted' || approvals.has(approval.clockId))
          throw new Error(
            `the ${clock.report} report (${clock.clockId}) is ${clock.state === 'drafted' ? 'already approved' : clock.state}, not awaiting approval`,
          );
        if (clock.dueAt && workflowNow() > Date.parse(clock.dueAt) && !approval.lateReason?.trim()) {
          throw new Error(`the deadline passed at ${clock.dueAt}: give lateReason, which is sent with the late report`);
        }
      },
    },
  );

  const runClock = async (clock: RegulatoryClock) => {
    const state = stateOf(clock.id);
    for (;;) {
      const startAt = () => (state.occurrence > 1 ? state.startAt : moment(clock.start, clock));
      await condition(() => withdrawn || (startAt() !== undefined && applies(clock)) || (startAt() === undefined && neverStarts(clock)));
      if (withdrawn || startAt() === undefined || !applies(clock)) {
        if (state.state === 'waiting') state.state = 'withdrawn';
        return;
      }
      state.startAt = startAt();
      if (asTheLawCounts) state.startFrom = startFrom(clock, state.occurrence);
      let due = dueFor(clock, state.startAt!, state.occurrence)!;
      state.dueAt = new Date(due).toISOString();
      await activities.draftRegulatoryReport({
        ...identity(state),
        runbookVersion: start.runbookVersion,
        regime,
        clock,
        recipients: recipientsOf(clock),
        awarenessAt: awarenessAt(),
        dueAt: state.dueAt,
      });
      state.state = 'drafted';
      const ref = (): ReportRef => ({ regimeName: regime.name, clockId: clock.id, report: clock.report, dueAt: state.dueAt! });
      const key = `${incident.incidentId}:${regime.id}:${clock.id}:${state.occurrence}`;
      // Compliance hears of each report the moment its clock runs, not at the first reminder (half the window later).
      // Beside the clock, not before it: a mail relay that is down must not hold up the report itself.
      if (patched('report-drafted-page')) {
        draftedPages.push(
          page(start.approvers, 'report-drafted', `${key}:drafted`, (name) => reportDrafted(incident, name, ref()), {
            what: `Review, complete and approve the ${clock.report} report to ${regime.name} before ${state.dueAt}`,
            path: `/console/incidents/${incident.incidentId}#decisions`,
            command: `correx report list ${incident.incidentId}   (then: correx report show <report id>; edit --set 'field=value'; approve)`,
          }),
        );
      }

      const fired = new Set<string>();
      const scheduledAt = workflowNow();
      for (;;) {
        const startMs = Date.parse(state.startAt!);
        const points = [
          ...start.reminders.map((f) => ({ name: `reminder-${f}`, at: startMs + f * (due - startMs), fraction: f })),
          { name: 'at-risk', at: startMs + start.atRisk * (due - startMs), fraction: start.atRisk },
          { name: 'deadline', at: due, fraction: 1 },
        ]
          // Reminders already behind us when the clock was scheduled would only be noise; risk and deadline never are.
          .filter((p) => !fired.has(p.name) && (p.name !== 'deadline' && p.name !== 'at-risk' ? p.at >= scheduledAt : true))
          .sort((a, b) => a.at - b.at);
        const next = points[0];
        const dueBefore = due;
        // Awareness set earlier moves the start of a clock that runs from it.
        const currentStart = () => (asTheLawCounts && state.occurrence === 1 ? (moment(clock.start, clock) ?? state.startAt!) : state.startAt!);
        const woke = await condition(
          () =>
            approvals.has(clock.id) ||
            declared.has(clock.id) ||
            withdrawn ||
            noLongerDue(clock) ||
            dueFor(clock, currentStart(), state.occurrence) !== dueBefore,
          next ? Math.max(0, next.at - workflowNow()) : undefined,
        );
        if (approvals.has(clock.id) || declared.has(clock.id) || withdrawn) break;
        if (noLongerDue(clock)) {
          state.state = 'withdrawn';
          await activities.recordIncidentEvent({
            incidentId: incident.incidentId,
            kind: 'regulatory.report_withdrawn',
            actor: 'system:regulatory',
            data: {
              regime: regime.id,
              clock: clock.id,
              occurrence: state.occurrence,
              dueAt: state.dueAt,
              reason: `the incident was resolved at ${context.resolvedAt}: a ${clock.report} report is due only until then`,
            },
            idempotencyKey: `${key}:withdrawn`,
          });
          return;
        }
        if (woke) {
          // Reclassified, or awareness set earlier: the deadline moved. Record it and reschedule.
          if (asTheLawCounts) {
            state.startAt = currentStart();
            state.startFrom = startFrom(clock, state.occurrence);
          }
          due = dueFor(clock, state.startAt!, state.occurrence)!;
          state.dueAt = new Date(due).toISOString();
          await activities.recordReportDue({ ...identity(state), dueAt: state.dueAt });
          await activities.recordIncidentEvent({
            incidentId: incident.incidentId,
            kind: 'regulatory.deadline_changed',
            actor: 'system:regulatory',
            data: {
              regime: regime.id,
              clock: clock.id,
              occurrence: state.occurrence,
              dueAt: state.dueAt,
              previousDueAt: new Date(dueBefore).toISOString(),
              classes: context.classes,
              revision: context.revision,
            },
            idempotencyKey: `${key}:due:${context.revision}`,
          });
          continue;
        }
        if (!next) break;
        fired.add(next.name);
        if (next.name.startsWith('reminder-')) {
          await page(start.approvers, 'report-reminder', `${key}:${next.name}`, (name) => reportReminder(incident, name, ref(), next.fraction));
        } else if (next.name === 'at-risk') {
          await activities.recordIncidentEvent({
            incidentId: incident.incidentId,
            kind: 'regulatory.report_at_risk',
            actor: 'system:regulatory',
            data: { regime: regime.id, clock: clock.id, occurrence: state.occurrence, dueAt: state.dueAt },
            idempotencyKey: `${key}:at-risk`,
          });
          await page(commanderAnd(start.approvers), 'report-at-risk', `${key}:at-risk`, (name) => reportAtRisk(incident, name, ref()));
        } else {
          await activities.recordIncidentEvent({
            incidentId: incident.incidentId,
            kind: 'regulatory.deadline_missed',
            actor: 'system:regulatory',
            data: { regime: regime.id, clock: clock.id, occurrence: state.occurrence, dueAt: state.dueAt },
            idempotencyKey: `${key}:missed`,
          });
          await page(commanderAnd(start.approvers), 'report-deadline-missed', `${key}:missed`, (name) => reportDeadlineMissed(incident, name, ref()));
        }
      }
      if (withdrawn && !approvals.has(clock.id) && !declared.has(clock.id)) {
        state.state = 'withdrawn';
        return;
      }
      let late: boolean;
      let submittedAt: string;
      const elsewhere = declared.get(clock.id);
      if (elsewhere) {
        submittedAt = new Date(elsewhere.submittedAt).toISOString();
        late = Date.parse(submittedAt) > due;
        state.submittedElsewhere = { by: elsewhere.actor, evidence: elsewhere.evidence };
      } else {
        await condition(() => state.state === 'approved');
        const approvedLate = Date.parse(approvals.get(clock.id)!.at) > due;
        const submission = await activities.submitRegulatoryReport({
          ...identity(state),
          incident,
          ref: ref(),
          recipients: recipientsOf(clock),
          late: approvedLate,
          ...(asTheLawCounts ? { dueAt: state.dueAt } : {}),
        });
        // On time means delivered (accepted by the relay) before the deadline, not approved before it.
        late = asTheLawCounts ? approvedLate || submission.late === true || workflowNow() > due : approvedLate;
        // Later clocks run from this moment on the workflow's clock (the same as the mail server's,
        // but for time-skipping tests, where only the workflow's clock moves).
        submittedAt = new Date(workflowNow()).toISOString();
      }
      state.state = late ? 'sent-late' : 'sent';
      state.late = late;
      state.submittedAt = submittedAt;
      submissions.set(clock.id, submittedAt);

      if (!clock.repeatEvery || context.resolvedAt) return;
      // The next periodic report: on the rule's cadence from the first one's schedule (before, from each sending).
      approvals.delete(clock.id);
      declared.delete(clock.id);
      const nextStart = asTheLawCounts ? state.dueAt! : submittedAt;
      state.occurrence += 1;
      state.startAt = nextStart;
      state.submittedAt = undefined;
      state.submittedElsewhere = undefined;
      state.state = 'waiting';
    }
  };

  const watchWithdrawal = async () => {
    await condition(
      () =>
        !intersects(regime.triggerClasses, context.classes) ||
        snapshot.clocks.every((c) => c.state === 'sent' || c.state === 'sent-late' || c.state === 'withdrawn'),
    );
    if (intersects(regime.triggerClasses, context.classes)) return;
    withdrawn = true;
    snapshot.withdrawn = true;
    await activities.recordIncidentEvent({
      incidentId: incident.incidentId,
      kind: 'regulatory.clock_withdrawn',
      actor: 'system:regulatory',
      data: { regime: regime.id, classes: context.classes, revision: context.revision, reason: 'the incident no longer has a class this regime covers' },
      idempotencyKey: `${incident.incidentId}:${regime.id}:withdrawn:${context.revision}`,
    });
  };

  await Promise.all([...regime.clocks.map((clock) => runClock(clock)), watchWithdrawal()]);
  await Promise.all(draftedPages);
  return snapshot;
}
