import type { Kysely } from 'kysely';
import type { WorkflowClients } from '../temporal/clients.js';
import type { Principal } from '../access/roles.js';
import { admitVote, type Person } from '../correction/authority.js';
import { correctionsAwaitingDecision } from '../correction/repository.js';
import type { Database, IncidentRow } from '../db/schema.js';
import { describeRule } from '../export/dossier.js';
import { correctionWorkflowId, reviewWorkflowId } from '../identity.js';
import { planIncident, type IncidentPlan } from '../incident/plan.js';
import { findIncidents } from '../incident/repository.js';
import { reportsAwaitingApproval } from '../regulatory/repository.js';
import { incidentsAwaitingSignOff } from '../review/repository.js';
import { findRunbookVersion } from '../runbook/repository.js';
import type { Runbook } from '../runbook/schema.js';
import { openTasksOf } from '../task/repository.js';
import type { CorrectionSnapshot } from '../../workflows/correction/messages.js';

/** Something waiting on one person: a vote on a correction, a regulator report to approve, a follow-up task. */
export type PendingDecision =
  | {
      kind: 'correction';
      id: string;
      incident: IncidentRow;
      correction: { kind: string; state: string; scope: Record<string, unknown>; reason: string; proposedBy: string; proposedAt: Date; breakGlass: boolean };
      /** The role the person's vote would count for. */
      votesAs: string;
      rule: string;
      votes: CorrectionSnapshot['votes'];
    }
  | { kind: 'report'; id: string; incident: IncidentRow; subject: string; regime: string | null; dueAt: Date | null }
  | { kind: 'task'; id: string; incident: IncidentRow; title: string; dueAt: Date | null }
  | { kind: 'sign-off'; id: string; incident: IncidentRow; submittedBy: string; roles: string[] };

/** The runbook's people for each incident, read once per runbook version. */
export class RunbookPeople {
  private readonly runbooks = new Map<string, Promise<Runbook | undefined>>();
  constructor(private readonly db: Kysely<Database>) {}

  /** The runbook version the incident runs under. */
  runbook(incident: IncidentRow): Promise<Runbook | undefined> {
    const version = incident.runbook_version;
    if (!version) return Promise.resolve(undefined);
    if (!this.runbooks.has(version)) this.runbooks.set(version, findRunbookVersion(this.db, version));
    return this.runbooks.get(version)!;
  }

  async plan(incident: IncidentRow): Promise<IncidentPlan | undefined> {
    const runbook = await this.runbook(incident);
    return runbook && incident.runbook_version ? planIncident(runbook, incident.runbook_version) : undefined;
  }

  async people(incident: IncidentRow): Promise<Person[]> {
    return (await this.plan(incident))?.people ?? [];
  }

  async nameOf(incident: IncidentRow, id: string | null | undefined): Promise<string> {
    if (!id) return '';
    return (await this.people(incident)).find((p) => p.id === id)?.name ?? id;
  }
}

const canVote = (p: Principal) => p.roles.includes('approver') || p.roles.includes('admin');
const canApproveReports = (p: Principal) => p.roles.includes('compliance') || p.roles.includes('admin');

/**
 * What waits on the signed-in person, optionally within one incident. A correction counts when the
 * runbook's decision authority would admit this person's vote now (the same check the workflow makes).
 */
export async function pendingDecisions(
  db: Kysely<Database>,
  clients: Pick<WorkflowClients, 'corrections' | 'reviews'>,
  principal: Principal,
  options: { incidentId?: string; people?: RunbookPeople } = {},
): Promise<PendingDecision[]> {
  const people = options.people ?? new RunbookPeople(db);
  const within = { incidentId: options.incidentId };
  const pending: PendingDecision[] = [];

  if (canVote(principal)) {
    const rows = await correctionsAwaitingDecision(db, within);
    const incidentRows = await incidentsById(
      db,
      rows.map((r) => r.incident_id),
    );
    const checked = await Promise.all(
      rows.map(async (row) => {
        const live = await clients.corrections.state(correctionWorkflowId(row.incident_workflow_id, row.id)).catch(() => undefined);
        if (!live || (live.state !== 'proposed' && live.state !== 'awaiting-ratification')) return undefined;
        const incident = incidentRows.get(row.incident_id)!;
        const admitted = admitVote(
          { rule: live.rule, escalated: live.escalated, proposedBy: live.proposedBy, votes: live.votes },
          await people.people(incident),
          {
            actor: principal.owner,
            decision: 'approve',
            rationale: 'checking eligibility',
          },
        );
        if ('refused' in admitted) return undefined;
        return {
          kind: 'correction' as const,
          id: row.id,
          incident,
          correction: {
            kind: row.kind,
            state: live.state,
            scope: row.scope,
            reason: row.reason,
            proposedBy: row.proposed_by,
            proposedAt: row.proposed_at,
            breakGlass: row.break_glass,
          },
          votesAs: admitted.role,
          rule: describeRule(live.rule),
          votes: live.votes,
        };
      }),
    );
    for (const item of checked) if (item) pending.push(item);
  }

  if (canApproveReports(principal)) {
    const reports = await reportsAwaitingApproval(db, within);
    const incidentRows = await incidentsById(
      db,
      reports.map((r) => r.incident_id),
    );
    for (const report of reports) {
      const incident = incidentRows.get(report.incident_id)!;
      const plan = await people.plan(incident);
      if (!plan?.reportApprovers.some((p) => p.id === principal.owner) && !principal.roles.includes('admin')) continue;
      pending.push({ kind: 'report', id: report.id, incident, subject: report.subject, regime: report.regime, dueAt: report.due_at });
    }
  }

  if (canVote(principal)) {
    // A review waits on its sign-off once it is submitted and every task is done or dropped.
    for (const incident of await incidentsAwaitingSignOff(db, within)) {
      const review = await clients.reviews.state(reviewWorkflowId(incident.workflow_id, incident.id)).catch(() => undefined);
      if (!review?.review || review.signedOff || review.tasks.some((t) => t.state === 'open')) continue;
      const person = (await people.people(incident)).find((p) => p.id === principal.owner);
      if (!person?.roles.some((r) => review.signOffRoles.includes(r))) continue;
      pending.push({ kind: 'sign-off', id: incident.id, incident, submittedBy: review.review.submittedBy, roles: review.signOffRoles });
    }
  }

  const taskRows = await openTasksOf(db, principal.owner, within);
  const taskIncidents = await incidentsById(
    db,
    taskRows.map((t) => t.incident_id),
  );
  for (const task of taskRows)
    pending.push({ kind: 'task', id: task.id, incident: taskIncidents.get(task.incident_id)!, title: task.title, dueAt: task.due_at });

  return pending;
}

async function incidentsById(db: Kysely<Database>, ids: string[]): Promise<Map<string, IncidentRow>> {
  return new Map((await findIncidents(db, ids)).map((r) => [r.id, r]));
}
