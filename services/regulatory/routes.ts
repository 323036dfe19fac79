import { z } from 'zod';
import { readers } from '../access/roles.js';
import type { NotificationRow } from '../db/schema.js';
import { actorOf, NotFound, type CorrexApp, type RouteDependencies } from '../http/app.js';
import { regulatoryClockWorkflowId } from '../identity.js';
import { IncidentParams, incidentOr404 } from '../incident/routes.js';
import { listNotifications } from '../notification/repository.js';
import { findReport, listReports } from './repository.js';

const ReportParams = z.strictObject({ id: z.uuid('must be a report id (UUID)') });
const ApprovalBody = z.strictObject({
  /** Fields compliance changed or completed before sending. */
  edits: z.record(z.string().min(1), z.string()).optional(),
  /** Required when the deadline has passed: it goes out with the late report. */
  lateReason: z.string().trim().min(1).max(2000).optional(),
});

export function notificationView(row: NotificationRow) {
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
    config: { access: readers },
    schema: { tags, summary: "An incident's regulator reports and the live state of each regime's clocks", params: IncidentParams },
    handler: async (request) => {
      const incident = await incidentOr404(deps.db, request.params.id);
      const live = await deps.incidents.state(incident.workflow_id).catch(() => undefined);
      const clocks = await Promise.all(
        (live?.regulatoryClocks ?? []).map((c) =>
          deps.regulatoryClocks.state(c.workflowId).catch((error: unknown) => ({ regimeId: c.regimeId, unavailable: (error as Error).message.split('\n')[0] })),
        ),
      );
      return { items: (await listReports(deps.db, incident.id)).map(notificationView), clocks };
    },
  });

  app.post('/v1/reports/:id/approve', {
    config: { access: ['compliance', 'admin'] },
    schema: {
      tags,
      summary: "Approve a drafted regulator report, which sends it (the runbook's report approvers only)",
      params: ReportParams,
      body: ApprovalBody,
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
    schema: { tags: ['notifications'], summary: 'Everything Correx sent or will send about an incident: pages, notices, reports', params: IncidentParams },
    handler: async (request) => {
      await incidentOr404(deps.db, request.params.id);
      const rows = await listNotifications(deps.db, request.params.id);
      return { items: rows.map(notificationView) };
    },
  });
}
