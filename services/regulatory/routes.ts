import { z } from 'zod';
import { readers } from '../access/roles.js';
import { Prose } from '../correction/schema.js';
import type { NotificationRow } from '../db/schema.js';
import { actorOf, NotFound, type CorrexApp, type RouteDependencies } from '../http/app.js';
import { regulatoryClockWorkflowId } from '../identity.js';
import { IncidentParams, incidentOr404 } from '../incident/routes.js';
import { Instant } from '../instant.js';
import { notificationAudiences, notificationStates } from '../notification/kinds.js';
import { listNotifications } from '../notification/repository.js';
import { findReport, listReports } from './repository.js';
import { RegulatoryClockSnapshot } from './schema.js';

const ReportParams = z.strictObject({ id: z.uuid('must be a report id (UUID)') });
const ApprovalBody = z.strictObject({
  edits: z.record(z.string().min(1), z.string()).optional().describe("Fields compliance changed or completed before sending (the report's `fields`)"),
  lateReason: Prose(2000).optional().describe('Required when the deadline has passed: it goes out with the late report'),
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

  app.post('/v1/reports/:id/approve', {
    config: {
      access: ['compliance', 'admin'],
      // 409: refused (not one of the runbook's report approvers, not drafted, late without a lateReason).
      alsoAnswers: [409],
    },
    schema: {
      tags,
      operationId: 'approveReport',
      summary: "Approve a drafted regulator report, which sends it (the runbook's report approvers only)",
      params: ReportParams,
      body: ApprovalBody,
      response: { 200: RegulatoryClockSnapshot.describe("The report's regime clocks after the approval") },
    },
    handler: async (request) => {
      const report = await findReport(deps.db, request.params.id);
      if (!report || !report.regime || !report.clock_id) throw new NotFound(`no regulator report ${request.params.id}`);
      const incident = await incidentOr404(deps.db, report.incident_id);
      return deps.regulatoryClocks.approveReport(regulatoryClockWorkflowId(incident.workflow_id, report.regime, incident.id), {
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
