import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Person } from '../correction/authority.js';
import { listCorrections } from '../correction/repository.js';
import type { Database, IncidentRow, NotificationRow } from '../db/schema.js';
import { jsonb } from '../db/jsonb.js';
import { ActionRefused } from '../errors.js';
import { planIncident } from '../incident/plan.js';
import { findIncident } from '../incident/repository.js';
import { findRunbookVersion } from '../runbook/repository.js';
import { effectiveRegimes } from '../runbook/effective.js';
import { appendTimelineEvent, withIncidentLock } from '../timeline/repository.js';
import type { Regime, RegulatoryClock } from './regime.js';
import {
  contentToSend,
  deriveReport,
  headerFieldNames,
  incompleteAllowed,
  incompleteLabels,
  mergeEdits,
  missingFields,
  reportFields,
  type ReportField,
} from './report.js';
import { reportKey, type ReportIdentity } from './repository.js';

// A regulator report as it stands: until it is approved, its fields are derived again from the incident
// each time it is read, with compliance's edits (kept apart) winning; once approved, what was sent.

export interface CurrentReport {
  row: NotificationRow;
  incident: IncidentRow;
  /** The regime as the incident's runbook version has it (overrides applied); undefined if that version no longer names it. */
  regime: Regime | undefined;
  clock: RegulatoryClock | undefined;
  /** The header: regime, report, incident, deployer, awareness, deadline. */
  header: Record<string, string>;
  /** Each of the regime's fields, in its order; each is required. */
  fields: ReportField[];
  missing: string[];
  /** It may be sent with fields missing: an initial report under a regime that allows an incomplete one. */
  incompleteAllowed: boolean;
  /** Derived from the incident as it stands (a draft awaiting approval); false once approved: the content approved. */
  live: boolean;
  /** Compliance's edits so far (with any given but not yet recorded). */
  edits: Record<string, string>;
  /** Who may edit and approve it: the runbook's report approvers. */
  approvers: Person[];
}

const isHeader = (name: string) => (headerFieldNames as readonly string[]).includes(name) || (incompleteLabels as readonly string[]).includes(name);

/**
 * The report as it stands, with `pendingEdits` (validated, not yet recorded) applied over compliance's
 * edits: what approving with them would send.
 */
export async function readReport(db: Kysely<Database>, row: NotificationRow, pendingEdits: Record<string, string> = {}): Promise<CurrentReport> {
  const incident = await findIncident(db, row.incident_id);
  if (!incident) throw new Error(`report ${row.id} belongs to incident ${row.incident_id}, which is not recorded`);
  const runbook = incident.runbook_version ? await findRunbookVersion(db, incident.runbook_version) : undefined;
  const regime = runbook ? effectiveRegimes(runbook).find((r) => r.id === row.regime) : undefined;
  const clock = regime?.clocks.find((c) => c.id === row.clock_id);
  const approvers = runbook && incident.runbook_version ? planIncident(runbook, incident.runbook_version).reportApprovers : [];
  const content = regime?.content ?? Object.keys(row.fields).filter((name) => !isHeader(name));
  // Edits that name no field of the regime are the API's to refuse; here they are left out.
  const edits = mergeEdits(row.edits ?? {}, Object.fromEntries(Object.entries(pendingEdits).filter(([name]) => content.includes(name))));
  const allowed = regime && clock ? incompleteAllowed(regime, clock) : false;
  const base = { row, incident, regime, clock, edits, approvers, incompleteAllowed: allowed };

  if (row.state === 'drafted' && !row.approved_at && runbook && regime && clock) {
    const derived = deriveReport({
      incident,
      system: runbook.system,
      corrections: await listCorrections(db, incident.id),
      regime,
      clock,
      occurrence: row.occurrence ?? 1,
      // The moment the clock ran from, as the workflow gave it when drafting.
      awarenessAt: row.fields['Aware since'] ?? incident.opened_at.toISOString(),
      dueAt: row.due_at?.toISOString() ?? row.fields['Due by'] ?? '',
    });
    const fields = reportFields(content, derived.content, edits, row.fields);
    return { ...base, header: derived.header, fields, missing: missingFields(fields), live: true };
  }
  // Approved (or drafted under a runbook version Correx can no longer read): the content as stored.
  const header = Object.fromEntries(Object.entries(row.fields).filter(([name]) => (headerFieldNames as readonly string[]).includes(name)));
  const storedEdits = row.edits ?? {};
  const fields = reportFields(
    content,
    Object.fromEntries(Object.entries(row.fields).filter(([name]) => storedEdits[name] === undefined)),
    row.approved_at ? storedEdits : edits,
    row.fields,
  ).map((f) => ({ ...f, changedSinceDrafted: false }));
  return { ...base, header, fields, missing: missingFields(fields), live: false };
}

/** Records compliance's edits of a drafted report (an empty value removes one), each on the timeline as `regulatory.report_edited`. */
export async function recordReportEdits(
  db: Kysely<Database>,
  report: NotificationRow,
  e: { actor: string; at: string; edits: Record<string, string> },
): Promise<{ changed: string[] }> {
  const key = reportKey({ incidentId: report.incident_id, regimeId: report.regime ?? '', clockId: report.clock_id ?? '', occurrence: report.occurrence ?? 1 });
  return withIncidentLock(db, report.incident_id, async (trx) => {
    const row = await trx.selectFrom('notifications').select(['edits', 'state', 'approved_at']).where('id', '=', report.id).executeTakeFirstOrThrow();
    if (row.state !== 'drafted' || row.approved_at)
      throw new ActionRefused(
        `the report is ${row.approved_at && row.state === 'drafted' ? 'approved' : row.state}: only a drafted report, not yet approved, can be edited`,
      );
    const merged = mergeEdits(row.edits ?? {}, e.edits);
    const changed = Object.keys(e.edits).filter((name) => merged[name] !== (row.edits ?? {})[name]);
    if (changed.length === 0) return { changed };
    await trx
      .updateTable('notifications')
      .set({ edits: jsonb(merged), updated_at: new Date() })
      .where('id', '=', report.id)
      .execute();
    const digest = createHash('sha256')
      .update(JSON.stringify([e.actor, e.at, e.edits]))
      .digest('hex')
      .slice(0, 16);
    await appendTimelineEvent(trx, {
      incidentId: report.incident_id,
      kind: 'regulatory.report_edited',
      actor: e.actor,
      occurredAt: new Date(e.at),
      data: {
        regime: report.regime,
        clock: report.clock_id,
        occurrence: report.occurrence,
        fields: changed,
        // The values given; null where an edit was removed (the field is Correx's again, or missing).
        values: Object.fromEntries(changed.map((name) => [name, merged[name] ?? null])),
      },
      idempotencyKey: `${key}:edited:${digest}`,
    });
    return { changed };
  });
}

/**
 * What approving the report (identified as its clock knows it) with `edits` sends: derived from the
 * incident now, compliance's edits winning; the edits kept only where they name a field of the regime.
 * Undefined once approved (an approval recorded already keeps what it recorded).
 */
export async function contentForApproval(
  db: Kysely<Database>,
  r: ReportIdentity,
  edits: Record<string, string>,
): Promise<{ content: Record<string, string>; edits: Record<string, string> } | undefined> {
  const row = await db.selectFrom('notifications').selectAll().where('idempotency_key', '=', reportKey(r)).executeTakeFirst();
  if (!row || row.approved_at) return undefined;
  const report = await readReport(db, row, edits);
  const names = report.fields.map((f) => f.name);
  const kept = Object.fromEntries(Object.entries(edits).filter(([name]) => names.includes(name)));
  return { content: contentToSend(report.header, report.fields, report.incompleteAllowed), edits: kept };
}
