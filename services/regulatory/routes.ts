import type { Kysely } from 'kysely';
import { z } from 'zod';
import { readers } from '../access/roles.js';
import { Prose } from '../correction/schema.js';
import type { Database, NotificationRow } from '../db/schema.js';
import { ActionRefused, InvalidInput } from '../errors.js';
import { actorOf, NotFound, type CorrexApp, type RouteDependencies } from '../http/app.js';
import { regulatoryClockWorkflowId } from '../identity.js';
import { IncidentParams, incidentOr404 } from '../incident/routes.js';
import { Instant, InstantInput } from '../instant.js';
import { notificationAudiences, notificationStates } from '../notification/kinds.js';
import { listNotifications } from '../notification/repository.js';
import { readReport, recordReportEdits, type CurrentReport } from './content.js';
import { RegulatoryClock } from './regime.js';
import { incompleteRefusal, unknownEdits } from './report.js';
import { findReport, listReports } from './repository.js';
import { RegulatoryClockSnapshot } from './schema.js';
import type { ReportApproval } from '../../workflows/regulatory/messages.js';

const ReportParams = z.strictObject({ id: z.uuid('must be a report id (UUID)') });
/** Compliance's values for fields of the report's regime, by field name; an empty value removes an earlier edit. */
const Edits = z
  .record(z.string().min(1).max(200), z.string().max(20_000))
  .describe("Values for fields of the report's regime, by name (GET /v1/reports/{id} lists them); an empty value removes an earlier edit");
const ApprovalBody = z.strictObject({
  edits: Edits.optional().describe('Fields compliance changes or completes as it approves (recorded as with POST /v1/reports/{id}/fields)'),
  lateReason: Prose(2000).optional().describe('Required when the deadline has passed: it goes out with the late report'),
});
const EditBody = z.strictObject({ edits: Edits });

const ReportFieldView = z.strictObject({
  name: z.string().describe("A field of the regime's report; every one is required"),
  value: z.string().nullable().describe("What the report says: compliance's edit if any, else what Correx derives from the incident; null while missing"),
  source: z.enum(['derived', 'edited', 'missing']).describe('Where the value comes from'),
  missing: z.boolean().describe('Empty: approving is refused while a field is, unless the regime allows an incomplete initial report'),
  derived: z.string().nullable().describe('What Correx derives for it from the incident as it stands; null when it cannot'),
  drafted: z.string().nullable().describe('What Correx derived for it when the draft was made'),
  changedSinceDrafted: z.boolean().describe("Correx's derivation changed since the draft was made (a correction applied, the incident resolved…)"),
});

/** A regulator report with its content as it stands: until approved, derived again from the incident on every read. */
export const ReportView = z.strictObject({
  id: z.uuid(),
  incidentId: z.uuid(),
  regime: z.strictObject({ id: z.string(), name: z.string() }),
  reportType: RegulatoryClock.shape.report.nullable().describe('initial, intermediate, final or notification'),
  clockId: z.string().describe("The regime's clock this report answers"),
  occurrence: z.number().int().min(1).describe('1, then 2, 3… for a report that repeats'),
  recipient: z.string().describe("The regime's recipients (the runbook's), to whom approving sends it"),
  dueAt: Instant.nullable(),
  state: z.enum(notificationStates),
  live: z.boolean().describe('Derived from the incident as it stands now (a draft awaiting approval); false once approved: the content approved'),
  header: z
    .record(z.string(), z.string())
    .describe('The lines the report opens with: regime, report, incident, deployer, awareness, deadline (always derived)'),
  fields: z.array(ReportFieldView).describe("The regime's fields, in its order"),
  missing: z.array(z.string()).describe('The required fields still empty'),
  incompleteInitialAllowed: z
    .boolean()
    .describe('This initial report may be sent with fields missing: it says which will follow (EU AI Act Art. 73 allows an incomplete initial report)'),
  approvable: z.boolean().describe('Drafted, and complete (or allowed to be incomplete): approving it now is not refused for its content'),
  draftedAt: Instant,
  approvedBy: z.string().nullable(),
  approvedAt: Instant.nullable(),
  sent: z
    .strictObject({
      at: Instant,
      late: z.boolean(),
      lateReason: z.string().nullable(),
      messageId: z.string().nullable(),
      contentHash: z.string().nullable().describe('SHA-256 of `text`, as the timeline records it'),
      subject: z.string(),
      text: z.string().describe('The text sent, exactly'),
    })
    .nullable()
    .describe('What was sent, once it was'),
});
export type ReportView = z.infer<typeof ReportView>;

export function reportView(report: CurrentReport): ReportView {
  const { row, regime, clock } = report;
  return {
    id: row.id,
    incidentId: row.incident_id,
    regime: { id: row.regime ?? '', name: regime?.name ?? row.regime ?? '' },
    reportType: clock?.report ?? null,
    clockId: row.clock_id ?? '',
    occurrence: row.occurrence ?? 1,
    recipient: row.recipient,
    dueAt: row.due_at?.toISOString() ?? null,
    state: row.state,
    live: report.live,
    header: report.header,
    fields: report.fields.map((f) => ({ ...f, missing: f.value === null })),
    missing: report.missing,
    incompleteInitialAllowed: report.incompleteAllowed,
    approvable: row.state === 'drafted' && !row.approved_at && (report.missing.length === 0 || report.incompleteAllowed),
    draftedAt: row.created_at.toISOString(),
    approvedBy: row.approved_by,
    approvedAt: row.approved_at?.toISOString() ?? null,
    sent: row.sent_at
      ? {
          at: row.sent_at.toISOString(),
          late: row.late,
          lateReason: row.late_reason,
          messageId: row.message_id,
          contentHash: row.content_hash,
          subject: row.subject,
          text: row.body,
        }
      : null,
  };
}

/** A regulator report by id, or 404. */
export async function reportOr404(db: Kysely<Database>, id: string): Promise<NotificationRow & { regime: string; clock_id: string }> {
  const report = await findReport(db, id);
  if (!report || !report.regime || !report.clock_id) throw new NotFound(`no regulator report ${id}`);
  return report as NotificationRow & { regime: string; clock_id: string };
}

/** Edits name fields of the report's regime only: a 400 naming each other one (at `<prefix>.edits.<name>`), with the fields there are. */
function checkEdits(report: CurrentReport, edits: Record<string, string> | undefined, prefix: string): void {
  if (!edits || !report.regime) return;
  const errors = unknownEdits(report.regime, edits, prefix);
  if (errors.length) throw new InvalidInput(errors);
}

/** Compliance edits a drafted report (the runbook's report approvers only); the report as it then stands. */
export async function editReport(
  db: Kysely<Database>,
  id: string,
  e: { actor: string; at: string; edits: Record<string, string> },
  prefix = 'body',
): Promise<CurrentReport> {
  const row = await reportOr404(db, id);
  const report = await readReport(db, row);
  checkEdits(report, e.edits, prefix);
  if (!report.approvers.some((p) => p.id === e.actor))
    throw new ActionRefused(
      `${e.actor} may not edit regulator reports: that needs one of the runbook's report approvers (${report.approvers.map((p) => p.id).join(', ') || 'none'})`,
    );
  await recordReportEdits(db, row, e);
  return readReport(db, (await findReport(db, id))!);
}

/**
 * Approves a drafted report, which sends it, after the checks its workflow cannot make (it reads no
 * database): the edits name fields of the regime, and no required field is empty (unless the regime
 * allows an incomplete initial report). The workflow then checks who approves, the state and lateness.
 */
export async function approveReport(
  deps: Pick<RouteDependencies, 'db' | 'regulatoryClocks'>,
  id: string,
  approval: Omit<ReportApproval, 'clockId'>,
  prefix = 'body',
): Promise<RegulatoryClockSnapshot> {
  const row = await reportOr404(deps.db, id);
  const incident = await incidentOr404(deps.db, row.incident_id);
  const report = await readReport(deps.db, row, approval.edits ?? {});
  checkEdits(report, approval.edits, prefix);
  if (row.state === 'drafted' && !row.approved_at && report.missing.length > 0 && !report.incompleteAllowed) {
    throw new ActionRefused(incompleteRefusal(report.clock?.report ?? 'regulator', report.regime?.name ?? row.regime, report.missing));
  }
  return deps.regulatoryClocks.approveReport(regulatoryClockWorkflowId(incident.workflow_id, row.regime, incident.id), { ...approval, clockId: row.clock_id });
}

const DeclarationBody = z.strictObject({
  submittedAt: InstantInput.describe('When the report was made outside Correx'),
  evidence: Prose(2000).describe('What shows it was made: a portal reference, a call log'),
});

/** Something Correx sent or will send about an incident: a page, a notice, a regulator report. */
export const NotificationView = z.strictObject({
  id: z.uuid(),
  incidentId: z.uuid(),
  audience: z.enum(notificationAudiences),
  regime: z.string().nullable().describe("A regulator report's regime"),
  clockId: z.string().nullable().describe("A regulator report's clock within its regime"),
  occurrence: z.number().int().nullable().describe('Which report of a repeating clock: 1, 2…'),
  correctionId: z.uuid().nullable().describe('The correction a notice is about'),
  recipient: z.string(),
  subject: z.string(),
  state: z.enum(notificationStates),
  fields: z.record(z.string(), z.string()).describe("A report's fields, drafted from the incident and completed by compliance"),
  dueAt: Instant.nullable(),
  sentAt: Instant.nullable(),
  late: z.boolean(),
  lateReason: z.string().nullable(),
  approvedBy: z.string().nullable(),
  approvedAt: Instant.nullable(),
  messageId: z.string().nullable().describe('The Message-ID it was sent with'),
  contentHash: z.string().nullable().describe('SHA-256 of what was sent, as the timeline records it'),
});
export type NotificationView = z.infer<typeof NotificationView>;

const ClockUnavailable = z.strictObject({
  regimeId: z.string(),
  unavailable: z.string().describe("Why the regime's clock workflow could not be asked"),
});
const ReportList = z.strictObject({
  items: z.array(NotificationView).describe('The regulator reports drafted so far, each with its id to approve it by'),
  clocks: z.array(z.union([RegulatoryClockSnapshot, ClockUnavailable])).describe("Each applicable regime's clocks, live from its workflow"),
});
const NotificationList = z.strictObject({ items: z.array(NotificationView) });

export function notificationView(row: NotificationRow): NotificationView {
  return {
    id: row.id,
    incidentId: row.incident_id,
    audience: row.audience,
    regime: row.regime,
    clockId: row.clock_id,
    occurrence: row.occurrence,
    correctionId: row.correction_id,
    recipient: row.recipient,
    subject: row.subject,
    state: row.state,
    fields: row.fields,
    dueAt: row.due_at?.toISOString() ?? null,
    sentAt: row.sent_at?.toISOString() ?? null,
    late: row.late,
    lateReason: row.late_reason,
    approvedBy: row.approved_by,
    approvedAt: row.approved_at?.toISOString() ?? null,
    messageId: row.message_id,
    contentHash: row.content_hash,
  };
}

export function regulatoryRoutes(app: CorrexApp, deps: RouteDependencies): void {
  const tags = ['regulator reports'];

  app.get('/v1/incidents/:id/reports', {
    config: {
      access: readers,
      links: { 200: { approve: { operationId: 'approveReport', parameters: { id: '$response.body#/items/0/id' } } } },
    },
    schema: {
      tags,
      operationId: 'listReports',
      summary: "An incident's regulator reports and the live state of each regime's clocks",
      params: IncidentParams,
      response: { 200: ReportList },
    },
    handler: async (request) => {
      const incident = await incidentOr404(deps.db, request.params.id);
      const live = await deps.incidents.state(incident.workflow_id).catch(() => undefined);
      const clocks = await Promise.all(
        (live?.regulatoryClocks ?? []).map((c) =>
          deps.regulatoryClocks
            .state(c.workflowId)
            .catch((error: unknown) => ({ regimeId: c.regimeId, unavailable: (error as Error).message.split('\n')[0] ?? 'no answer' })),
        ),
      );
      return { items: (await listReports(deps.db, incident.id)).map(notificationView), clocks };
    },
  });

  app.get('/v1/reports/:id', {
    config: {
      access: readers,
      links: {
        200: {
          edit: { operationId: 'editReport', parameters: { id: '$response.body#/id' } },
          approve: { operationId: 'approveReport', parameters: { id: '$response.body#/id' } },
        },
      },
    },
    schema: {
      tags,
      operationId: 'getReport',
      summary:
        "A regulator report and each of its regime's fields: value, derived or edited, missing, changed since drafted (a draft is derived again from the incident on every read)",
      params: ReportParams,
      response: { 200: ReportView },
    },
    handler: async (request) => reportView(await readReport(deps.db, await reportOr404(deps.db, request.params.id))),
  });

  app.post('/v1/reports/:id/fields', {
    config: {
      access: ['compliance', 'admin'],
      // 409: refused (not one of the runbook's report approvers, or the report is no longer a draft awaiting approval).
      alsoAnswers: [409],
    },
    schema: {
      tags,
      operationId: 'editReport',
      summary:
        "Change or complete fields of a drafted regulator report (the runbook's report approvers only); each edit is kept apart from what Correx derives, wins over it, and is on the timeline",
      params: ReportParams,
      body: EditBody,
      response: { 200: ReportView.describe('The report as it now stands') },
    },
    handler: async (request) =>
      reportView(await editReport(deps.db, request.params.id, { actor: actorOf(request), at: new Date().toISOString(), edits: request.body.edits })),
  });

  app.post('/v1/reports/:id/approve', {
    config: {
      access: ['compliance', 'admin'],
      // 409: refused (a required field is empty, not one of the runbook's report approvers, not drafted, late without a lateReason).
      alsoAnswers: [409],
    },
    schema: {
      tags,
      operationId: 'approveReport',
      summary:
        "Approve a drafted regulator report, which sends it (the runbook's report approvers only); refused while a required field is empty, unless the regime allows an incomplete initial report",
      params: ReportParams,
      body: ApprovalBody,
      response: { 200: RegulatoryClockSnapshot.describe("The report's regime clocks after the approval") },
    },
    handler: async (request) => approveReport(deps, request.params.id, { actor: actorOf(request), at: new Date().toISOString(), ...request.body }),
  });

  app.post('/v1/reports/:id/declare-submitted', {
    config: {
      access: ['compliance', 'admin'],
      // 409: refused (not one of the runbook's report approvers, not a drafted report, a moment in the future or before the clock started).
      alsoAnswers: [409],
    },
    schema: {
      tags,
      operationId: 'declareReportSubmitted',
      summary: 'Record that a drafted report was made outside Correx (a portal, a call): its real time starts the clocks chained from it',
      params: ReportParams,
      body: DeclarationBody,
      response: { 200: RegulatoryClockSnapshot.describe("The report's regime clocks after the declaration") },
    },
    handler: async (request) => {
      const report = await reportOr404(deps.db, request.params.id);
      const incident = await incidentOr404(deps.db, report.incident_id);
      return deps.regulatoryClocks.declareSubmission(regulatoryClockWorkflowId(incident.workflow_id, report.regime, incident.id), {
        actor: actorOf(request),
        at: new Date().toISOString(),
        clockId: report.clock_id,
        ...request.body,
      });
    },
  });

  app.get('/v1/incidents/:id/notifications', {
    config: { access: readers },
    schema: {
      tags: ['notifications'],
      operationId: 'listNotifications',
      summary: 'Everything Correx sent or will send about an incident: pages, notices, reports',
      params: IncidentParams,
      response: { 200: NotificationList },
    },
    handler: async (request) => {
      await incidentOr404(deps.db, request.params.id);
      const rows = await listNotifications(deps.db, request.params.id);
      return { items: rows.map(notificationView) };
    },
  });
}
