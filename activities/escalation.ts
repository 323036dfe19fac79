import type { Kysely } from 'kysely';
import type { Database } from '../services/db/schema.js';
import { sendPage, type PageRequest } from '../services/escalation/repository.js';
import type { Mailer } from '../services/notification/mailer.js';

export interface EscalationActivityDependencies {
  db: Kysely<Database>;
  mailer: Mailer;
}

export function createEscalationActivities({ db, mailer }: EscalationActivityDependencies) {
  return {
    async sendPage(page: PageRequest): Promise<void> {
      await sendPage(db, mailer, page);
    },
  };
}
