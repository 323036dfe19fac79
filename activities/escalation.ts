import type { Kysely } from 'kysely';
import type { Database } from '../services/db/schema.js';
import { sendPage, type PageRequest } from '../services/escalation/repository.js';
import { isDrill } from '../services/incident/repository.js';
import type { Mailer } from '../services/notification/mailer.js';

export interface EscalationActivityDependencies {
  db: Kysely<Database>;
  mailer: Mailer;
  /** Where a drill's mail goes: an outbox, never a real mailbox. */
  drillMailer: Mailer;
  /** The origin people reach the console at (CORREX_PUBLIC_URL), for the links in pages and notices. */
  publicUrl: () => string;
}

export function createEscalationActivities({ db, mailer, drillMailer, publicUrl }: EscalationActivityDependencies) {
  return {
    async sendPage(page: PageRequest): Promise<void> {
      await sendPage(db, (await isDrill(db, page.incidentId)) ? drillMailer : mailer, page, publicUrl());
    },
  };
}
