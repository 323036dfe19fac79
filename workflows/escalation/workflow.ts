import { condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { indexAsPartOf } from '../search-attributes.js';
import { untilDone } from '../activity-options.js';
import { escalationPage } from '../../services/notification/templates.js';
import { escalationAcknowledgedSignal, type EscalationStart } from './messages.js';

const { sendPage, recordIncidentEvent } = proxyActivities<Activities>(untilDone);

/**
 * Pages level after level until someone acknowledges, then goes round again `repeat` more times.
 * Every page is recorded (pages table and timeline) by the activity.
 */
export async function escalationWorkflow(start: EscalationStart): Promise<{ acknowledgedBy: string | undefined; pagesSent: number }> {
  if (start.indexed) indexAsPartOf(start);
  let acknowledgedBy: string | undefined;
  let pagesSent = 0;
  setHandler(escalationAcknowledgedSignal, ({ actor }) => {
    acknowledgedBy ??= actor;
  });

  for (let round = 0; round <= start.repeat && !acknowledgedBy; round++) {
    for (let index = 0; index < start.levels.length && !acknowledgedBy; index++) {
      const level = start.levels[index]!;
      for (const person of level.people) {
        if (acknowledgedBy) break;
        await sendPage({
          incidentId: start.incidentId,
          idempotencyKey: `${start.incidentId}:escalation:${round + 1}:${index + 1}:${person.id}`,
          person,
          level: index + 1,
          attempt: round + 1,
          reason: 'escalation',
          ...escalationPage(start, person.name, index + 1, round + 1),
          action: {
            what: `Acknowledge incident ${start.incidentId} to stop the escalation and take command`,
            path: `/console/incidents/${start.incidentId}`,
            command: `correx incident ack ${start.incidentId}`,
          },
        });
        pagesSent += 1;
      }
      await condition(() => acknowledgedBy !== undefined, level.ackTimeoutMs);
    }
  }
  if (!acknowledgedBy) {
    await recordIncidentEvent({
      incidentId: start.incidentId,
      kind: 'escalation.exhausted',
      actor: 'system:escalation',
      data: { rounds: start.repeat + 1, levels: start.levels.length, pagesSent },
      idempotencyKey: 'escalation.exhausted',
    });
  }
  return { acknowledgedBy, pagesSent };
}
