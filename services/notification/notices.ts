import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { appendTimelineEvent, withIncidentLock } from '../timeline/repository.js';
import type { NotificationAudience } from './kinds.js';
import type { Mailer } from './mailer.js';
import { noticeSent, recordNoticeDrafted, recordNoticeSent } from './repository.js';
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

/** Sends a value-chain notice once, keeps it as a notification, and records it on the timeline. */
export async function sendNotice(db: Kysely<Database>, mailer: Mailer, notice: Notice, publicUrl: string): Promise<void> {
  const message = notice.action ? withCallToAction(notice.message, notice.action, publicUrl) : notice.message;
  await recordNoticeDrafted(db, {
    incidentId: notice.incidentId,
    idempotencyKey: notice.idempotencyKey,
    audience: notice.audience,
    recipient: notice.recipient.email,
    subject: message.subject,
    body: message.text,
    correctionId: notice.correctionId,
  });
  if (!(await noticeSent(db, notice.idempotencyKey))) {
    await mailer.send({ to: notice.recipient.email, ...message, idempotencyKey: notice.idempotencyKey });
    await recordNoticeSent(db, notice.idempotencyKey);
  }
  await withIncidentLock(db, notice.incidentId, (trx) =>
    appendTimelineEvent(trx, {
      incidentId: notice.incidentId,
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
    }),
  );
}
