import type { Kysely } from 'kysely';
import type { Database } from '../services/db/schema.js';
import { switchFallback, type FallbackSwitch } from '../services/notification/fallback.js';
import { isDrill } from '../services/incident/repository.js';
import type { Mailer } from '../services/notification/mailer.js';
import { sendNotices, type Notice } from '../services/notification/notices.js';
import { recordFallbackFailing } from '../services/notification/repository.js';
import { appendTimelineEvent, withIncidentLock } from '../services/timeline/repository.js';

export interface FallbackFailure {
  incidentId: string;
  correctionId: string;
  consumerId: string;
  action: 'activate' | 'deactivate';
  attempt: number;
  error: string;
  /** When it is tried again; null when it is given up (the incident closed). */
  nextAttemptAt: string | null;
}

export interface NotificationActivityDependencies {
  db: Kysely<Database>;
  mailer: Mailer;
  drillMailer: Mailer;
  secret: (name: string) => string | undefined;
  publicUrl: () => string;
}

export function createNotificationActivities({ db, mailer, drillMailer, secret, publicUrl }: NotificationActivityDependencies) {
  const mailerFor = async (incidentId: string) => ((await isDrill(db, incidentId)) ? drillMailer : mailer);
  return {
    async sendNotice(notice: Notice): Promise<void> {
      await sendNotices(db, await mailerFor(notice.incidentId), [notice], publicUrl());
    },
    /** Several people told of one incident's milestone at once (each recorded on its own). */
    async sendNotices(notices: Notice[]): Promise<void> {
      if (notices.length === 0) return;
      await sendNotices(db, await mailerFor(notices[0]!.incidentId), notices, publicUrl());
    },
    /** A switch failed every attempt this round: the fallback shows as failing, and the timeline says why. */
    async recordFallbackFailing(failure: FallbackFailure): Promise<void> {
      const { incidentId, ...f } = failure;
      await recordFallbackFailing(db, f);
      await withIncidentLock(db, incidentId, (trx) =>
        appendTimelineEvent(trx, {
          incidentId,
          kind: f.nextAttemptAt ? 'fallback.failed' : 'fallback.abandoned',
          actor: 'system:fallback',
          occurredAt: new Date(),
          data: { consumer: f.consumerId, correctionId: f.correctionId, action: f.action, attempt: f.attempt, error: f.error, nextAttemptAt: f.nextAttemptAt },
          idempotencyKey: `${f.correctionId}:${f.consumerId}:fallback-${f.action}:${f.nextAttemptAt ? `failed:${f.attempt}` : 'abandoned'}`,
        }),
      );
    },
    async switchFallback(request: FallbackSwitch & { secretEnv: string | undefined }): Promise<void> {
      const { secretEnv, ...s } = request;
      await switchFallback({ db, mailer: await mailerFor(s.incident.incidentId), secret, secretEnv, drill: await isDrill(db, s.incident.incidentId) }, s);
    },
  };
}
