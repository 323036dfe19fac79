import { condition, patched, proxyActivities, setHandler, sleep } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import type { Person } from '../../services/correction/authority.js';
import type { OnCallPage } from '../../activities/schedule.js';
import { indexAsPartOf } from '../search-attributes.js';
import { untilDone } from '../activity-options.js';
import { workflowNow } from '../time.js';
import { escalationPage, handOffPage } from '../../services/notification/templates.js';
import { escalationAcknowledgedSignal, type EscalationStart } from './messages.js';

const { sendPage, recordIncidentEvent, whoIsOnCall, nextOnCallHandOff, handOffBriefing } = proxyActivities<Activities>(untilDone);

/**
 * Pages level after level until someone acknowledges, then goes round again `repeat` more times.
 * A level's schedules are asked who is on call when the level pages, not when the incident opened.
 * Once acknowledged, and while the incident lasts (its close cancels this workflow), each hand-off
 * under those schedules pages the incoming person with a briefing.
 * Every page is recorded (pages table and timeline) by the activity.
 *
 * Incidents started before 2026-12-04 run it as this child workflow; later ones run `escalate` in their
 * own workflow (see workflows/incident/workflow.ts, escalation-in-incident).
 */
export async function escalationWorkflow(start: EscalationStart): Promise<{ acknowledgedBy: string | undefined; pagesSent: number }> {
  if (start.indexed) indexAsPartOf(start);
  let acknowledgedBy: string | undefined;
  setHandler(escalationAcknowledgedSignal, ({ actor }) => {
    acknowledgedBy ??= actor;
  });
  const schedules = [...new Set(start.levels.flatMap((level) => level.schedules ?? []))];
  const pagesOnCall = schedules.length > 0 && patched('on-call-schedules');
  return escalate(start, {
    acknowledgedBy: () => acknowledgedBy,
    pagesOnCall,
    briefsSincePaged: () => patched('brief-since-paged'),
  });
}

/** Pages sent together by a level that pages at once; more go in batches of this many. */
const PAGES_AT_ONCE = 20;

/** How an escalation learns it was acknowledged, and which of its changes the run has taken. */
export interface EscalationControl {
  /** Who acknowledged, once someone has: paging stops at once. */
  acknowledgedBy: () => string | undefined;
  /** Levels page who their schedules say is on call, and hand-offs are briefed. */
  pagesOnCall: boolean;
  /** Asked once acknowledged: the first briefing starts from when the schedules were last asked. */
  briefsSincePaged: () => boolean;
  /** A level pages all its people at once and then waits, instead of one page after another. */
  pagesLevelAtOnce?: boolean;
  /** Told after each page, so that whoever runs it can say how far it has gone. */
  paged?: (pagesSent: number) => void;
}

/**
 * The escalation itself, in whichever workflow runs it. Returns once it is exhausted, or once acknowledged
 * and every hand-off while the incident lasts has been briefed (cancel its scope to end that earlier).
 */
export async function escalate(start: EscalationStart, control: EscalationControl): Promise<{ acknowledgedBy: string | undefined; pagesSent: number }> {
  const { pagesOnCall } = control;
  let pagesSent = 0;
  // When the schedules were last asked who is on call: a hand-off between that page and the
  // acknowledgement brings someone on call who was never paged, so the briefing starts from here.
  let consultedAt: number | undefined;
  const schedules = [...new Set(start.levels.flatMap((level) => level.schedules ?? []))];
  const acknowledged = () => control.acknowledgedBy() !== undefined;

  for (let round = 0; round <= start.repeat && !acknowledged(); round++) {
    for (let index = 0; index < start.levels.length && !acknowledged(); index++) {
      const level = start.levels[index]!;
      const paged: { person: Person; onCall?: OnCallPage }[] = level.people.map((person) => ({ person }));
      if (pagesOnCall && level.schedules?.length) {
        consultedAt = workflowNow();
        for (const onCall of await whoIsOnCall({ incidentId: start.incidentId, schedules: level.schedules })) {
          if (!paged.some((p) => p.person.id === onCall.person.id)) paged.push({ person: onCall.person, onCall });
        }
      }
      const page = ({ person, onCall }: { person: Person; onCall?: OnCallPage }) =>
        sendPage({
          incidentId: start.incidentId,
          idempotencyKey: `${start.incidentId}:escalation:${round + 1}:${index + 1}:${person.id}`,
          person,
          level: index + 1,
          attempt: round + 1,
          reason: 'escalation',
          ...(onCall ? { onCall: onCall.why } : {}),
          ...escalationPage(start, person.name, index + 1, round + 1, onCall?.why),
          action: {
            what: `Acknowledge incident ${start.incidentId} to stop the escalation and take command`,
            path: `/console/incidents/${start.incidentId}`,
            command: `correx incident ack ${start.incidentId}`,
          },
        }).then(() => {
          pagesSent += 1;
          control.paged?.(pagesSent);
        });
      if (control.pagesLevelAtOnce) {
        // The level's pages and its wait start together, and a page coming back starts nothing: an
        // acknowledgement handled in the same workflow task as a page's result then gives the same
        // commands whichever of the two the worker saw first (on replay the Update comes first; live, a
        // query beside the task can make it come after).
        // At most PAGES_AT_ONCE in one workflow task: its commands must stay under the server's message
        // limit, and a level naming a whole role can be thousands of people. Past the first batch, a
        // batch's results start the next, so only such a level keeps the ordering question above.
        const waited = condition(acknowledged, level.ackTimeoutMs);
        for (let first = 0; first < paged.length; first += PAGES_AT_ONCE) {
          if (first > 0 && acknowledged()) break;
          await Promise.all(paged.slice(first, first + PAGES_AT_ONCE).map(page));
        }
        await waited;
      } else {
        for (const paging of paged) {
          if (acknowledged()) break;
          await page(paging);
        }
        await condition(acknowledged, level.ackTimeoutMs);
      }
    }
  }
  const acknowledgedBy = control.acknowledgedBy();
  if (!acknowledgedBy) {
    await recordIncidentEvent({
      incidentId: start.incidentId,
      kind: 'escalation.exhausted',
      actor: 'system:escalation',
      data: { rounds: start.repeat + 1, levels: start.levels.length, pagesSent },
      idempotencyKey: 'escalation.exhausted',
    });
    return { acknowledgedBy, pagesSent };
  }
  if (pagesOnCall) await briefIncomingOnCall(start, schedules, control.briefsSincePaged() ? consultedAt : undefined);
  return { acknowledgedBy, pagesSent };
}

/**
 * Until the incident closes (which cancels this workflow), pages whoever takes over a schedule. The
 * first hand-off looked for is the first after `since` (when the escalation last paged from the
 * schedules); one already past is briefed at once.
 */
async function briefIncomingOnCall(start: EscalationStart, schedules: string[], since?: number): Promise<never | void> {
  for (let handOff = 1; ; handOff++) {
    const after = handOff === 1 && since !== undefined ? since : workflowNow();
    const next = await nextOnCallHandOff({ schedules, after: new Date(after).toISOString() });
    if (!next) return;
    const wait = Date.parse(next.at) - workflowNow();
    if (since === undefined || wait > 0) await sleep(Math.max(0, wait));
    const briefing = await handOffBriefing({ incidentId: start.incidentId });
    if (!briefing.open) return;
    for (const onCall of await whoIsOnCall({ incidentId: start.incidentId, schedules: next.schedules })) {
      await sendPage({
        incidentId: start.incidentId,
        idempotencyKey: `${start.incidentId}:hand-off:${next.at}:${onCall.why.scheduleId}:${onCall.person.id}`,
        person: onCall.person,
        level: 0,
        attempt: handOff,
        reason: 'hand-off',
        onCall: onCall.why,
        ...handOffPage(start, onCall.person.name, onCall.why, briefing.lines),
        action: {
          what: `You are now on call for incident ${start.incidentId}, which is still open: read where it stands`,
          path: `/console/incidents/${start.incidentId}`,
          command: `correx incident show ${start.incidentId}`,
        },
      });
    }
  }
}
