import type { Kysely } from 'kysely';
import { listCorrections } from '../services/correction/repository.js';
import type { Database } from '../services/db/schema.js';
import { findIncident } from '../services/incident/repository.js';
import type { Mailer } from '../services/notification/mailer.js';
import type { IncidentRef, ReportRef } from '../services/notification/templates.js';
import type { Regime, RegulatoryClock } from '../services/regulatory/regime.js';
import { contentForApproval } from '../services/regulatory/content.js';
import { draftReportFields } from '../services/regulatory/report.js';
import {
  recordReportApproved,
  recordReportDrafted,
  recordReportDue,
  recordSubmissionDeclared,
  submitReport,
  type ReportIdentity,
  type Submission,
} from '../services/regulatory/repository.js';
import { findRunbookVersion } from '../services/runbook/repository.js';

export interface RegulatoryActivityDependencies {
  db: Kysely<Database>;
  mailer: Mailer;
}

/** Regulator reports: drafted from the incident as it stands, approved by compliance, sent. */
export function createRegulatoryActivities({ db, mailer }: RegulatoryActivityDependencies) {
  return {
    /** Drafts a regulator report in the regime's fields from the incident as it stands now. */
    async draftRegulatoryReport(
      r: ReportIdentity & { runbookVersion: string; regime: Regime; clock: RegulatoryClock; recipients: string[]; awarenessAt: string; dueAt: string },
    ): Promise<void> {
      const incident = await findIncident(db, r.incidentId);
      const runbook = await findRunbookVersion(db, r.runbookVersion);
      if (!incident || !runbook) throw new Error(`incident ${r.incidentId} or runbook ${r.runbookVersion} is not recorded yet`);
      const fields = draftReportFields({
        incident,
        system: runbook.system,
        corrections: await listCorrections(db, r.incidentId),
        regime: r.regime,
        clock: r.clock,
        occurrence: r.occurrence,
        awarenessAt: r.awarenessAt,
        dueAt: r.dueAt,
      });
      await recordReportDrafted(db, { ...r, regimeName: r.regime.name, report: r.clock.report, fields });
    },
    async recordReportDue(r: ReportIdentity & { dueAt: string }): Promise<void> {
      await recordReportDue(db, r);
    },
    async approveRegulatoryReport(
      r: ReportIdentity & { actor: string; at: string; edits: Record<string, string>; lateReason: string | undefined },
    ): Promise<void> {
      // What is sent is derived from the incident now, with compliance's edits; an approval the API
      // refused (a required field empty, an unknown field) never reaches here.
      const approval = await contentForApproval(db, r, r.edits);
      await recordReportApproved(db, { ...r, ...(approval ? { edits: approval.edits, content: approval.content } : {}) });
    },
    async submitRegulatoryReport(
      r: ReportIdentity & { incident: IncidentRef; ref: ReportRef; recipients: string[]; late: boolean; dueAt?: string | undefined },
    ): Promise<Submission> {
      return submitReport(db, mailer, r);
    },
    async declareReportSubmitted(
      r: ReportIdentity & { actor: string; at: string; submittedAt: string; evidence: string; regimeName: string; report: string; dueAt: string | undefined },
    ): Promise<void> {
      await recordSubmissionDeclared(db, r);
    },
  };
}
