import type { Client } from '@temporalio/client';
import {
  approveReportUpdate,
  declareSubmissionUpdate,
  regulatoryClockQuery,
  type RegulatoryClockSnapshot,
  type ReportApproval,
  type SubmissionDeclaration,
} from '../../workflows/regulatory/messages.js';
import { refusalsAsErrors } from '../temporal/updates.js';

/** How the API and the console read a regulator clock and approve (and so send) its report. */
export class RegulatoryClockClient {
  constructor(private readonly client: Client) {}

  state(clockWorkflowId: string): Promise<RegulatoryClockSnapshot> {
    return this.client.workflow.getHandle(clockWorkflowId).query(regulatoryClockQuery);
  }

  approveReport(clockWorkflowId: string, approval: ReportApproval): Promise<RegulatoryClockSnapshot> {
    return refusalsAsErrors(() => this.client.workflow.getHandle(clockWorkflowId).executeUpdate(approveReportUpdate, { args: [approval] }));
  }

  /** Records a report made outside Correx (a portal, a call) at its real time; the clocks chained from it start then. */
  declareSubmission(clockWorkflowId: string, declaration: SubmissionDeclaration): Promise<RegulatoryClockSnapshot> {
    return refusalsAsErrors(() => this.client.workflow.getHandle(clockWorkflowId).executeUpdate(declareSubmissionUpdate, { args: [declaration] }));
  }
}
