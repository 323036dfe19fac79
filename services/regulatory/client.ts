import type { Client } from '@temporalio/client';
import { approveReportUpdate, regulatoryClockQuery, type RegulatoryClockSnapshot, type ReportApproval } from '../../workflows/regulatory/messages.js';
import { refusalsAsErrors } from '../temporal/updates.js';

/** How the API and the console read a regulator clock and approve (and so send) its report. */
export class RegulatoryClockClient {
  constructor(private readonly client: Client) {}

  state(clockWorkflowId: string): Promise<RegulatoryClockSnapshot> {
    return this.client.workflow.getHandle(clockWorkflowId).query(regulatoryClockQuery);
  }

  approveReport(clockWorkflowId: string, approval: ReportApproval): Promise<RegulatoryClockSnapshot> {
    return refusalsAsErrors(this.client.workflow.getHandle(clockWorkflowId).executeUpdate(approveReportUpdate, { args: [approval] }));
  }
}
