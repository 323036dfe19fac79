import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Mailer } from '../notification/mailer.js';
import { correctionPage, escalationPage, withCallToAction, type CallToAction } from '../notification/templates.js';
import { findIncident } from '../incident/repository.js';
import { planIncident } from '../incident/plan.js';
import { findRunbookVersion } from '../runbook/repository.js';
import { appendTimelineEvent, withIncidentLock } from '../timeline/repository.js';

export interface PageRequest {
  incidentId: string;
  /** Unique per logical page: a retried activity finds the page already sent. */
  idempotencyKey: string;
  person: { id: string; name: string; email: string };
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
}

/**
 * Pages one person by email, exactly once per idempotency key as far as Correx can tell: the page row
 * is written first, the mail sent, then the row marked sent. A crash between the last two resends the
 * same mail with the same Message-ID, which mail clients collapse.
 */
export async function sendPage(db: Kysely<Database>, mailer: Mailer, page: PageRequest, publicUrl: string): Promise<void> {
  await withIncidentLock(db, page.incidentId, (trx) =>
    trx
      .insertInto('pages')
      .values({
        incident_id: page.incidentId,
        escalation_level: page.level,
        attempt: page.attempt,
        target: page.person.id,
        channel: 'email',
        idempotency_key: page.idempotencyKey,
      })
      .onConflict((oc) => oc.column('idempotency_key').doNothing())
      .execute(),
  );
  const row = await db.selectFrom('pages').select(['sent_at']).where('idempotency_key', '=', page.idempotencyKey).executeTakeFirstOrThrow();
  if (!row.sent_at) {
    const message = page.action
      ? withCallToAction({ subject: page.subject, text: page.text, html: page.html ?? '<body style="font-family:sans-serif"></body>' }, page.action, publicUrl)
      : { subject: page.subject, text: page.text, ...(page.html ? { html: page.html } : {}) };
    await mailer.send({ to: page.person.email, ...message, idempotencyKey: page.idempotencyKey });
    await db.updateTable('pages').set({ sent_at: new Date() }).where('idempotency_key', '=', page.idempotencyKey).execute();
  }
  await withIncidentLock(db, page.incidentId, (trx) =>
    appendTimelineEvent(trx, {
      incidentId: page.incidentId,
      kind: 'page.sent',
      actor: 'system:escalation',
      occurredAt: new Date(),
      data: { person: page.person.id, level: page.level, attempt: page.attempt, reason: page.reason, channel: 'email' },
      idempotencyKey: `page:${page.idempotencyKey}`,
    }),
  );
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
    await sendPage(db, mailer, { ...request, idempotencyKey: `${page.idempotencyKey}:${person.id}`, person, ...message }, publicUrl);
  }
}
