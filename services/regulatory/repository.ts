import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, NotificationRow } from '../db/schema.js';
import { jsonb } from '../db/jsonb.js';
import { messageIdFor, type Mailer } from '../notification/mailer.js';
import { regulatorReport, type IncidentRef, type ReportRef } from '../notification/templates.js';
import { mergeEdits } from './report.js';
import { appendTimelineEvent, withIncidentLock } from '../timeline/repository.js';

export interface ReportIdentity {
  incidentId: string;
  regimeId: string;
  clockId: string;
  occurrence: number;
}

/** One report per incident, regime, clock and occurrence. */
export function reportKey(r: ReportIdentity): string {
  return `${r.incidentId}:report:${r.regimeId}:${r.clockId}:${r.occurrence}`;
}

export async function recordReportDrafted(
  db: Kysely<Database>,
  r: ReportIdentity & { regimeName: string; report: string; recipients: string[]; dueAt: string; fields: Record<string, string> },
): Promise<void> {
  const key = reportKey(r);
  await withIncidentLock(db, r.incidentId, async (trx) => {
    await trx
      .insertInto('notifications')
      .values({
        incident_id: r.incidentId,
        audience: 'regulator',
        regime: r.regimeId,
        clock_id: r.clockId,
        occurrence: r.occurrence,
        recipient: r.recipients.join(', '),
        subject: `${r.regimeName}: ${r.report} report`,
        body: '',
        fields: jsonb(r.fields),
        state: 'drafted',
        due_at: r.dueAt,
        idempotency_key: key,
      })
      .onConflict((oc) => oc.column('idempotency_key').doNothing())
      .execute();
    await appendTimelineEvent(trx, {
      incidentId: r.incidentId,
      kind: 'regulatory.report_drafted',
      actor: 'system:regulatory',
      occurredAt: new Date(),
      data: { regime: r.regimeId, clock: r.clockId, occurrence: r.occurrence, report: r.report, dueAt: r.dueAt },
      idempotencyKey: `${key}:drafted`,
    });
  });
}

/** A deadline moved (reclassification) or was first set: the projection follows. */
export async function recordReportDue(db: Kysely<Database>, r: ReportIdentity & { dueAt: string }): Promise<void> {
  await db.updateTable('notifications').set({ due_at: r.dueAt, updated_at: new Date() }).where('idempotency_key', '=', reportKey(r)).execute();
}

/**
 * Records the approval, once: the report's `fields` become `content`, what is sent (derived from the
 * incident at approval, compliance's edits winning); edits given with the approval join compliance's
 * edits and, when they change something, the timeline as `regulatory.report_edited`.
 */
export async function recordReportApproved(
  db: Kysely<Database>,
  r: ReportIdentity & {
    actor: string;
    at: string;
    edits: Record<string, string>;
    lateReason: string | undefined;
    content?: Record<string, string> | undefined;
  },
): Promise<void> {
  const key = reportKey(r);
  await withIncidentLock(db, r.incidentId, async (trx) => {
    const row = await trx.selectFrom('notifications').select(['fields', 'edits', 'approved_at']).where('idempotency_key', '=', key).executeTakeFirstOrThrow();
    if (!row.approved_at) {
      const before = row.edits ?? {};
      const edits = mergeEdits(before, r.edits);
      const changed = Object.keys(r.edits).filter((name) => edits[name] !== before[name]);
      await trx
        .updateTable('notifications')
        .set({
          fields: jsonb(r.content ?? { ...row.fields, ...edits }),
          edits: jsonb(edits),
          state: 'approved',
          approved_by: r.actor,
          approved_at: r.at,
          late_reason: r.lateReason ?? null,
          updated_at: new Date(),
        })
        .where('idempotency_key', '=', key)
        .execute();
      if (changed.length) {
        await appendTimelineEvent(trx, {
          incidentId: r.incidentId,
          kind: 'regulatory.report_edited',
          actor: r.actor,
          occurredAt: new Date(r.at),
          data: {
            regime: r.regimeId,
            clock: r.clockId,
            occurrence: r.occurrence,
            fields: changed,
            values: Object.fromEntries(changed.map((name) => [name, edits[name] ?? null])),
            withApproval: true,
          },
          idempotencyKey: `${key}:approval-edits`,
        });
      }
    }
    await appendTimelineEvent(trx, {
      incidentId: r.incidentId,
      kind: 'regulatory.report_approved',
      actor: r.actor,
      occurredAt: new Date(r.at),
      data: {
        regime: r.regimeId,
        clock: r.clockId,
        occurrence: r.occurrence,
        editedFields: Object.keys(r.edits),
        ...(r.lateReason ? { lateReason: r.lateReason } : {}),
      },
      idempotencyKey: `${key}:approved`,
    });
  });
}

export interface Submission {
  submittedAt: string;
  messageId: string;
  contentHash: string;
  /** Delivered (accepted by the mail relay) after the deadline, or approved after it. */
  late?: boolean;
}

/**
 * Sends an approved report to the regime's recipients, once: the mail carries a Message-ID derived
 * from the report, and the submission (time, Message-ID, SHA-256 of the text sent) is recorded.
 */
export async function submitReport(
  db: Kysely<Database>,
  mailer: Mailer,
  r: ReportIdentity & { incident: IncidentRef; ref: ReportRef; recipients: string[]; late: boolean; dueAt?: string | undefined },
): Promise<Submission> {
  const key = reportKey(r);
  const row = await db.selectFrom('notifications').selectAll().where('idempotency_key', '=', key).executeTakeFirstOrThrow();
  if (!row.sent_at) {
    // Lateness is judged when the relay takes the report: one approved in time but held up past the deadline is late, and says so.
    const late = r.late || (r.dueAt !== undefined && Date.now() > Date.parse(r.dueAt));
    const reason = row.late_reason ?? (late && !r.late ? `approved before the deadline (${r.dueAt}) but delivered after it` : undefined);
    const mail = regulatorReport(r.incident, { ...r.ref, occurrence: r.occurrence }, row.fields, { late, reason });
    const contentHash = createHash('sha256').update(mail.text).digest('hex');
    await mailer.send({ to: r.recipients.join(', '), subject: mail.subject, text: mail.text, html: mail.html, idempotencyKey: key });
    await db
      .updateTable('notifications')
      .set({
        sent_at: new Date(),
        state: late ? 'sent-late' : 'sent',
        late,
        subject: mail.subject,
        body: mail.text,
        message_id: messageIdFor(key),
        content_hash: contentHash,
        updated_at: new Date(),
      })
      .where('idempotency_key', '=', key)
      .where('sent_at', 'is', null)
      .execute();
  }
  const sent = await db.selectFrom('notifications').selectAll().where('idempotency_key', '=', key).executeTakeFirstOrThrow();
  const submission = { submittedAt: sent.sent_at!.toISOString(), messageId: sent.message_id!, contentHash: sent.content_hash!, late: sent.late };
  await withIncidentLock(db, r.incidentId, (trx) =>
    appendTimelineEvent(trx, {
      incidentId: r.incidentId,
      kind: 'regulatory.report_submitted',
      actor: 'system:regulatory',
      occurredAt: sent.sent_at!,
      data: { regime: r.regimeId, clock: r.clockId, occurrence: r.occurrence, recipients: r.recipients, ...submission },
      idempotencyKey: `${key}:submitted`,
    }),
  );
  return submission;
}

/**
 * A report made outside Correx (a portal, a phone call), declared with its real time and evidence: the
 * report's row says it was submitted then, and the timeline says who declared it and on what evidence.
 */
export async function recordSubmissionDeclared(
  db: Kysely<Database>,
  r: ReportIdentity & { actor: string; at: string; submittedAt: string; evidence: string; regimeName: string; dueAt: string | undefined },
): Promise<void> {
  const key = reportKey(r);
  const late = r.dueAt !== undefined && Date.parse(r.submittedAt) > Date.parse(r.dueAt);
  await withIncidentLock(db, r.incidentId, async (trx) => {
    await trx
      .updateTable('notifications')
      .set({
        sent_at: new Date(r.submittedAt),
        state: late ? 'sent-late' : 'sent',
        late,
        approved_by: r.actor,
        approved_at: r.at,
        body: `Submitted outside Correx at ${r.submittedAt}, declared by ${r.actor}. Evidence: ${r.evidence}`,
        updated_at: new Date(),
      })
      .where('idempotency_key', '=', key)
      .where('sent_at', 'is', null)
      .execute();
    await appendTimelineEvent(trx, {
      incidentId: r.incidentId,
      kind: 'regulatory.submission_declared',
      actor: r.actor,
      occurredAt: new Date(r.at),
      data: { regime: r.regimeId, clock: r.clockId, occurrence: r.occurrence, submittedAt: r.submittedAt, evidence: r.evidence, late },
      idempotencyKey: `${key}:declared`,
    });
  });
}

export async function listReports(db: Kysely<Database>, incidentId: string): Promise<NotificationRow[]> {
  return db.selectFrom('notifications').selectAll().where('incident_id', '=', incidentId).where('audience', '=', 'regulator').orderBy('due_at').execute();
}

/** A regulator report by its id (a notification to anyone else is not one). */
export async function findReport(db: Kysely<Database>, id: string): Promise<NotificationRow | undefined> {
  return db.selectFrom('notifications').selectAll().where('id', '=', id).where('audience', '=', 'regulator').executeTakeFirst();
}

/** Drafted reports waiting for approval, soonest due first, optionally of one incident. */
export async function reportsAwaitingApproval(db: Kysely<Database>, filter: { incidentId?: string } = {}): Promise<NotificationRow[]> {
  let query = db.selectFrom('notifications').selectAll().where('audience', '=', 'regulator').where('state', '=', 'drafted').orderBy('due_at');
  if (filter.incidentId) query = query.where('incident_id', '=', filter.incidentId);
  return query.execute();
}
