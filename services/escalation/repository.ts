import type { ColumnType, Generated, Kysely } from 'kysely';
import type { OnCallWhy } from './on-call.js';
import type { ChannelSenders, PageMessage } from '../channel/delivery.js';
import type { ChannelKind, ContactMethod } from '../channel/kinds.js';
import type { Database, Timestamp } from '../db/schema.js';
import type { Mailer } from '../notification/mailer.js';
import { correctionPage, escalationPage, withCallToAction, type CallToAction } from '../notification/templates.js';
import { findIncident } from '../incident/repository.js';
import { planIncident } from '../incident/plan.js';
import { findRunbookVersion } from '../runbook/repository.js';
import { appendTimelineEvent } from '../timeline/repository.js';

export interface PageRequest {
  incidentId: string;
  /** Unique per logical page: a retried activity finds the page already sent. */
  idempotencyKey: string;
  /** `contacts`: how to reach the person, in order (their email alone when absent or empty). */
  person: { id: string; name: string; email: string; contacts?: ContactMethod[] };
  /** Escalation level (1-based) and round, or 0 for pages outside the escalation ladder. */
  level: number;
  attempt: number;
  subject: string;
  text: string;
  html?: string;
  /** Why: `escalation`, `approval-escalated`, `ratification-missed`, `enforcement-failed`… */
  reason: string;
  /** What the person is to do, with the console link and the CLI command (added to the mail when it is sent). */
  action?: CallToAction;
  /**
   * Why this person, when a schedule chose them (`OnCallWhy` in services/escalation/on-call.ts: the
   * schedule, the layer or override or fallback, until when): kept with the page on the timeline.
   */
  onCall?: OnCallWhy;
}

export interface PageDependencies {
  /** Pages by email (SMTP, or the outbox in local mode). */
  mailer: Mailer;
  /** A drill's pages go here, by email, whatever the person's contacts say (the mailer when absent). */
  drillMailer?: Mailer;
  /** The other channels' senders; a contact whose channel has none counts as a failed attempt. */
  senders: ChannelSenders;
  /** The console's origin, for the absolute links in pages. */
  publicUrl: string;
  /**
   * No contact is started after this long (default 20 s): the activity's 30 s start-to-close timeout
   * must not lapse while it still pages, or Temporal would start a second run beside it.
   */
  budgetMs?: number;
}

/** One attempt to deliver a page through one contact (migrations/2026-12-03T0100_page_deliveries.ts). */
export interface PageDeliveriesTable {
  id: Generated<string>;
  /** The page's idempotency key (`pages.idempotency_key`). */
  page_key: string;
  channel: string;
  attempted_at: ColumnType<Date, Date | string | undefined, Date | string>;
  delivered_at: Timestamp | null;
  error: string | null;
  /** The channel's own id for the message, when it gave one. */
  reference: string | null;
  /** A drill: the page went to the drill outbox; `channel` is the one that would have been used. */
  drill: ColumnType<boolean, boolean | undefined, boolean>;
}

const withDeliveries = (db: Kysely<Database>) => db.withTables<{ page_deliveries: PageDeliveriesTable }>();

const emailOnly: ContactMethod[] = [{ channel: 'email' }];

/** What to set up when a channel has no sender on this worker. */
const senderSetup: Record<ChannelKind, string> = {
  email: 'SMTP_URL',
  matrix: 'CORREX_MATRIX_HOMESERVER and CORREX_MATRIX_ACCESS_TOKEN_FILE on the worker: docs/channels.md#matrix',
  slack: 'the worker up with the Slack sender: docs/channels.md#slack',
  teams: 'the worker up with the Teams sender: docs/channels.md#microsoft-teams',
  webhook: 'the worker up with the webhook sender: docs/channels.md#signed-webhook-sms-and-voice',
};

/** The page as the channels send it, with the call to action's link made absolute. */
function pageMessage(page: PageRequest, publicUrl: string, severity: string | undefined): PageMessage {
  const origin = publicUrl.replace(/\/+$/, '');
  const action = page.action ?? { what: `See incident ${page.incidentId}`, path: `/console/incidents/${page.incidentId}` };
  return {
    incidentId: page.incidentId,
    idempotencyKey: page.idempotencyKey,
    person: { id: page.person.id, name: page.person.name, email: page.person.email },
    subject: page.subject,
    text: page.text,
    ...(page.html ? { html: page.html } : {}),
    ...(severity ? { severity } : {}),
    reason: page.reason,
    action: { what: action.what, url: `${origin}${action.path}`, ...(action.command ? { command: action.command } : {}) },
  };
}

async function sendByEmail(mailer: Mailer, page: PageRequest, publicUrl: string): Promise<void> {
  const message = page.action
    ? withCallToAction({ subject: page.subject, text: page.text, html: page.html ?? '<body style="font-family:sans-serif"></body>' }, page.action, publicUrl)
    : { subject: page.subject, text: page.text, ...(page.html ? { html: page.html } : {}) };
  await mailer.send({ to: page.person.email, ...message, idempotencyKey: page.idempotencyKey });
}

function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

/**
 * Tries one contact, recording the attempt (and its outcome) in `page_deliveries`. Returns whether it
 * was delivered; a failure is recorded and returned, never thrown.
 */
async function attempt(
  db: Kysely<Database>,
  page: PageRequest,
  channel: ChannelKind,
  deliver: () => Promise<{ reference?: string }>,
  drill = false,
): Promise<string | undefined> {
  const deliveries = withDeliveries(db);
  const { id } = await deliveries
    .insertInto('page_deliveries')
    .values({ page_key: page.idempotencyKey, channel, attempted_at: new Date(), drill })
    .returning('id')
    .executeTakeFirstOrThrow();
  try {
    const { reference } = await deliver();
    await deliveries
      .updateTable('page_deliveries')
      .set({ delivered_at: new Date(), reference: reference ?? null })
      .where('id', '=', id)
      .execute();
    return undefined;
  } catch (error) {
    const message = errorText(error);
    await deliveries.updateTable('page_deliveries').set({ error: message }).where('id', '=', id).execute();
    return message;
  }
}

/**
 * Pages one person, exactly once per idempotency key as far as Correx can tell, through their
 * contacts in order: the first that delivers ends it; each failed attempt is recorded
 * (`page_deliveries`) and the next contact tried; when none delivers, this throws (the activity is
 * retried, from the first contact again). The page row is written first and marked sent (with the
 * channel that delivered) once a contact took it, so a retry after that sends nothing. A crash between
 * a channel accepting the page and the row being marked resends it through the same channel: email
 * with the same Message-ID, the signed webhook with the same `x-correx-delivery`, both deduplicable.
 *
 * In a drill no contact is used but the drill outbox (by email), and the delivery record names the
 * channel that would have been used.
 */
export async function sendPage(db: Kysely<Database>, deps: PageDependencies, page: PageRequest): Promise<void> {
  const incident = await db.selectFrom('incidents').select(['severity', 'drill']).where('id', '=', page.incidentId).executeTakeFirst();
  const drill = incident?.drill === true;
  const contacts = page.person.contacts?.length ? page.person.contacts : emailOnly;
  const first = contacts[0]!;
  // The page's row, written once: a retry reads back the row its first attempt wrote (a no-op update
  // of the key returns it), in the same statement.
  const row = await db
    .insertInto('pages')
    .values({
      incident_id: page.incidentId,
      escalation_level: page.level,
      attempt: page.attempt,
      target: page.person.id,
      // The channel about to be tried; the one that delivered once one did.
      channel: drill ? 'email' : first.channel,
      idempotency_key: page.idempotencyKey,
    })
    .onConflict((oc) => oc.column('idempotency_key').doUpdateSet((eb) => ({ idempotency_key: eb.ref('excluded.idempotency_key') })))
    .returning(['sent_at', 'channel'])
    .executeTakeFirstOrThrow();
  let sentBy = row.channel;
  if (!row.sent_at) {
    let deliveredBy: ChannelKind | undefined;
    const failures: string[] = [];
    if (drill) {
      const problem = await attempt(db, page, first.channel, () => sendByEmail(deps.drillMailer ?? deps.mailer, page, deps.publicUrl).then(() => ({})), true);
      if (problem) failures.push(`drill outbox (instead of ${first.channel}): ${problem}`);
      else deliveredBy = 'email';
    } else {
      const message = pageMessage(page, deps.publicUrl, incident?.severity);
      const startedAt = Date.now();
      for (const contact of contacts) {
        if (Date.now() - startedAt > (deps.budgetMs ?? 20_000)) {
          failures.push(`${contact.channel}: not tried, the contacts before it took this attempt's time`);
          break;
        }
        const sender = deps.senders[contact.channel];
        const problem = await attempt(db, page, contact.channel, async () => {
          if (contact.channel === 'email') {
            await sendByEmail(deps.mailer, page, deps.publicUrl);
            return {};
          }
          if (!sender) throw new Error(`no ${contact.channel} sender configured (set ${senderSetup[contact.channel]})`);
          return sender.send(contact, message);
        });
        if (!problem) {
          deliveredBy = contact.channel;
          break;
        }
        failures.push(`${contact.channel}: ${problem}`);
      }
    }
    if (!deliveredBy) {
      throw new Error(`page ${page.idempotencyKey} to ${page.person.id} was not delivered through any of their contacts (${failures.join('; ')})`);
    }
    await db.updateTable('pages').set({ sent_at: new Date(), channel: deliveredBy }).where('idempotency_key', '=', page.idempotencyKey).execute();
    sentBy = deliveredBy;
  }
  const attempts = await withDeliveries(db)
    .selectFrom('page_deliveries')
    .select(['channel', 'error', 'drill', 'delivered_at'])
    .where('page_key', '=', page.idempotencyKey)
    .orderBy('attempted_at')
    .execute();
  // Each channel that failed and never delivered, once, with its latest error (a retried activity
  // tries the contacts again from the first); every attempt stays in page_deliveries.
  const failed = new Map<string, string>();
  for (const a of attempts) if (!a.delivered_at && a.error !== null && !a.drill && a.channel !== sentBy) failed.set(a.channel, a.error);
  const drillRecord = attempts.find((a) => a.drill && a.delivered_at);
  await appendTimelineEvent(db, {
    incidentId: page.incidentId,
    kind: 'page.sent',
    actor: 'system:escalation',
    occurredAt: new Date(),
    data: {
      person: page.person.id,
      level: page.level,
      attempt: page.attempt,
      reason: page.reason,
      channel: sentBy,
      failed: [...failed].map(([channel, error]) => ({ channel, error })),
      attempts: attempts.length,
      ...(drillRecord ? { drill: { wouldHaveUsed: drillRecord.channel } } : {}),
      ...(page.onCall ? { onCall: page.onCall } : {}),
    },
    idempotencyKey: `page:${page.idempotencyKey}`,
  });
}

/** The attempts to deliver one page, oldest first. */
export async function listPageDeliveries(db: Kysely<Database>, pageKey: string) {
  return withDeliveries(db).selectFrom('page_deliveries').selectAll().where('page_key', '=', pageKey).orderBy('attempted_at').orderBy('id').execute();
}

/** Marks every open page of an incident acknowledged by the person who acknowledged it. */
export async function acknowledgePages(db: Kysely<Database>, incidentId: string, actor: string, at: string): Promise<void> {
  await db
    .updateTable('pages')
    .set({ acknowledged_at: at, acknowledged_by: actor })
    .where('incident_id', '=', incidentId)
    .where('acknowledged_at', 'is', null)
    .execute();
}

/**
 * Pages the incident's commander (before anyone acknowledged: the first escalation level) about
 * something only a person can look into, from outside the incident's workflow. Each key pages once.
 */
export async function pageCommander(
  db: Kysely<Database>,
  mailer: Mailer,
  publicUrl: string,
  page: Omit<PageRequest, 'person' | 'subject' | 'text' | 'html'> & { what: string; correction?: { id: string; kind: string; reason: string } },
  /** The channels' senders: without them, by email alone as before contacts existed. */
  senders?: ChannelSenders,
): Promise<void> {
  const incident = await findIncident(db, page.incidentId);
  if (!incident?.runbook_version) return;
  const runbook = await findRunbookVersion(db, incident.runbook_version);
  if (!runbook) return;
  const plan = planIncident(runbook, incident.runbook_version);
  const people = incident.commander ? plan.people.filter((p) => p.id === incident.commander) : (plan.escalation.levels[0]?.people ?? []);
  const ref = { incidentId: incident.id, systemId: incident.system_id, title: incident.title, severity: incident.severity };
  const { what, correction, ...request } = page;
  for (const person of people) {
    const message = correction ? correctionPage(ref, person.name, correction, what) : { ...escalationPage(ref, person.name, 0, 1), text: what };
    const to = senders ? person : { id: person.id, name: person.name, email: person.email };
    await sendPage(
      db,
      { mailer, senders: senders ?? {}, publicUrl },
      { ...request, idempotencyKey: `${page.idempotencyKey}:${person.id}`, person: to, ...message },
    );
  }
}
