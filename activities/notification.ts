import type { Kysely } from 'kysely';
import type { Database } from '../services/db/schema.js';
import { switchFallback, type FallbackSwitch } from '../services/notification/fallback.js';
import { isDrill } from '../services/incident/repository.js';
import type { Mailer } from '../services/notification/mailer.js';
import { sendNotice, type Notice } from '../services/notification/notices.js';

export interface NotificationActivityDependencies {
  db: Kysely<Database>;
  mailer: Mailer;
  drillMailer: Mailer;
  secret: (name: string) => string | undefined;
}

export function createNotificationActivities({ db, mailer, drillMailer, secret }: NotificationActivityDependencies) {
  const mailerFor = async (incidentId: string) => ((await isDrill(db, incidentId)) ? drillMailer : mailer);
  return {
    async sendNotice(notice: Notice): Promise<void> {
      await sendNotice(db, await mailerFor(notice.incidentId), notice);
    },
    async switchFallback(request: FallbackSwitch & { secretEnv: string | undefined }): Promise<void> {
      const { secretEnv, ...s } = request;
      await switchFallback({ db, mailer: await mailerFor(s.incident.incidentId), secret, secretEnv, drill: await isDrill(db, s.incident.incidentId) }, s);
    },
  };
}
