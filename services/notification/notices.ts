import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { appendTimelineEvents } from '../timeline/repository.js';
import type { NotificationAudience } from './kinds.js';
import type { Mailer } from './mailer.js';
import { noticesSent, recordNoticesDrafted, recordNoticesSent } from './repository.js';
import { withCallToAction, type CallToAction, type Message } from './templates.js';

export interface Notice {
  incidentId: string;
  /** Unique per logical notice: a retry finds it sent. */
  idempotencyKey: string;
  audience: NotificationAudience;
  recipient: { name: string; email: string };
  message: Message;
  correctionId?: string;
  /** From a drill: goes to the outbox, never to a real mailbox. */
  drill?: boolean;
  /** For people inside the organisation: what to do, the console link and the CLI command. */
  action?: CallToAction;
}

/**
 * Sends notices of one incident, each once, keeps each as a notification and records each on the
 * timeline: one statement drafts them all and one transaction records them, so a milestone told to
 * several people costs the incident one activity and one hold of its lock, not one per person. One
 * recipient's mail failing never holds back the others': those sent are recorded, then the failure is
 * raised so a retry sends only what is left.
 */
export async function sendNotices(db: Kysely<Database>, mailer: Mailer, notices: Notice[], publicUrl: string): Promise<void> {
  const incidentIds = new Set(notices.map((n) => n.incidentId));
  if (incidentIds.size > 1) throw new Error(`notices sent together must be about one incident, not ${[...incidentIds].join(', ')}`);
  const [incidentId] = incidentIds;
  if (incidentId === undefined) return;
  const messages = notices.map((notice) => (notice.action ? withCallToAction(notice.message, notice.action, publicUrl) : notice.message));
  await recordNoticesDrafted(
    db,
    notices.map((notice, i) => ({
      incidentId,
      idempotencyKey: notice.idempotencyKey,
      audience: notice.audience,
      recipient: notice.recipient.email,
      subject: messages[i]!.subject,
      body: messages[i]!.text,
      correctionId: notice.correctionId,
    })),
  );
  const alreadySent = await noticesSent(
    db,
    notices.map((n) => n.idempotencyKey),
  );
  const attempts = await Promise.allSettled(
    notices.map(async (notice, i) => {
      if (alreadySent.has(notice.idempotencyKey)) return notice;
      await mailer.send({ to: notice.recipient.email, ...messages[i]!, idempotencyKey: notice.idempotencyKey });
      return notice;
    }),
  );
  const sent = attempts.flatMap((a) => (a.status === 'fulfilled' ? [a.value] : []));
  await recordNoticesSent(
    db,
    sent.filter((n) => !alreadySent.has(n.idempotencyKey)).map((n) => n.idempotencyKey),
  );
  await appendTimelineEvents(
    db,
    sent.map((notice) => ({
      incidentId,
      kind: 'notice.sent',
      actor: 'system:notifications',
      occurredAt: new Date(),
      data: {
        audience: notice.audience,
        recipient: notice.recipient.name,
        email: notice.recipient.email,
        subject: notice.message.subject,
        ...(notice.correctionId ? { correctionId: notice.correctionId } : {}),
      },
      idempotencyKey: `notice:${notice.idempotencyKey}`,
    })),
  );
  const failed = attempts.flatMap((a, i) => (a.status === 'rejected' ? [`${notices[i]!.recipient.email}: ${(a.reason as Error).message}`] : []));
  if (failed.length > 0) throw new Error(`${failed.length} of ${notices.length} notices not sent (${failed.join('; ')})`);
}
