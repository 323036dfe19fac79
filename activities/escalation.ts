import type { Kysely } from 'kysely';
import { createChannelSenders, type ChannelSenders } from '../services/channel/delivery.js';
import type { Database } from '../services/db/schema.js';
import { sendPage, type PageRequest } from '../services/escalation/repository.js';
import type { Mailer } from '../services/notification/mailer.js';

export interface EscalationActivityDependencies {
  db: Kysely<Database>;
  mailer: Mailer;
  /** Where a drill's mail goes: an outbox, never a real mailbox. A drill's pages use no other channel. */
  drillMailer: Mailer;
  /** The origin people reach the console at (CORREX_PUBLIC_URL), for the links in pages and notices. */
  publicUrl: () => string;
  /** Reads a secret (a webhook URL, a signing key) by environment variable name. */
  secret: (name: string) => string | undefined;
  /**
   * The paging channels' senders, on top of the built-in Slack, Teams and signed-webhook senders (which
   * read their URLs and keys through `secret`): Matrix's goes here, and tests may replace any.
   */
  senders?: ChannelSenders;
}

export function createEscalationActivities({ db, mailer, drillMailer, publicUrl, secret, senders }: EscalationActivityDependencies) {
  const channels: ChannelSenders = { ...createChannelSenders({ secret }), ...senders };
  return {
    async sendPage(page: PageRequest): Promise<void> {
      // Whether the incident is a drill is read by sendPage itself: a drill's page goes to drillMailer only.
      await sendPage(db, { mailer, drillMailer, senders: channels, publicUrl: publicUrl() }, page);
    },
  };
}
