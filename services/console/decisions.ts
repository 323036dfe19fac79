import type { Kysely } from 'kysely';
import type { WorkflowClients } from '../temporal/clients.js';
import type { Principal } from '../access/roles.js';
import { admitVote, holdersOf, type AuthorityRule, type Person, type Vote } from '../correction/authority.js';
import { correctionsAwaitingDecision } from '../correction/repository.js';
import { votingOpen } from '../correction/rules.js';
import type { CorrectionKind, CorrectionSnapshot, DownstreamStatus } from '../correction/schema.js';
import type { CorrectionRow, Database, IncidentRow } from '../db/schema.js';
import { correctionWorkflowId, reviewWorkflowId } from '../identity.js';
import { planIncident, type IncidentPlan } from '../incident/plan.js';
import { findIncidents } from '../incident/repository.js';
import { reportsAwaitingApproval } from '../regulatory/repository.js';
import { incidentsAwaitingSignOff } from '../review/repository.js';
import { findRunbookVersion } from '../runbook/repository.js';
import type { Runbook } from '../runbook/schema.js';
import { openTasksOf } from '../task/repository.js';

/** A downstream consumer a correction of this kind interrupts (the runbook's `affectedBy`). */
export interface AffectedConsumer {
  id: string;
  name: string;
  /** What the consumer falls back to, in the runbook's words. */
  fallback: string;
  /** How the fallback is switched on: by Correx (webhook), asked for by mail, or by hand. */
  activation: 'webhook' | 'email' | 'manual';
  /** Whether the runbook's notification policy tells this consumer (it is interrupted either way). */
  notified: boolean;
  /** Where the consumer stands, once the correction is in force (break-glass): notice and fallback. */
  status?: DownstreamStatus;
}

/** The approvals a correction still needs, and who can give them. */
export interface Outstanding {
  /** Approvals still missing for the quorum (0 once it is met). */
  approvals: number;
  /** Approver roles not yet counted, each with the people holding it who may still vote. */
  roles: { role: string; people: Person[] }[];
  /** Once escalated: the roles any one holder of which may decide alone, and those people. */
  escalation?: { roles: string[]; people: Person[] };
}

/** When the correction's authority runs out of time, and what happens then. */
export interface Deadline {
  at: Date;
  /** `escalate`: the escalation authority may decide alone; `expire`: it is never applied; `lift`: a break-glass correction comes off. */
  then: 'escalate' | 'expire' | 'lift';
  /** Who it escalates to (escalate). */
  to: { roles: string[]; people: Person[] };
}

/** A correction that waits on a decision, with everything a person needs to take it. */
export interface CorrectionDecision {
  kind: 'correction';
  id: string;
  incident: IncidentRow;
  correction: {
    kind: CorrectionKind;
    /** The workflow's state: `proposed`, or `awaiting-ratification` (break-glass, already applied). */
    state: string;
    scope: Record<string, unknown>;
    parameters: Record<string, unknown>;
    reason: string;
    proposedBy: string;
    proposedAt: Date;
    appliedAt: Date | null;
    breakGlass: boolean;
  };
  rule: AuthorityRule;
  escalated: boolean;
  votes: Vote[];
  system: { name: string; adapter: string };
  consumers: AffectedConsumer[];
  outstanding: Outstanding;
  deadline: Deadline;
  /** The signed-in person: the role their vote would count for now, or why they cannot vote. */
  you: { votesAs: string } | { cannot: string; voted?: Vote };
}

/** Something waiting on one person: a vote on a correction, a regulator report to approve, a follow-up task. */
export type PendingDecision =
  | (CorrectionDecision & { you: { votesAs: string } })
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
 * The approvals still missing and who can give them: the quorum less the approver roles already
 * counted (a vote counts once per role), from the roles not yet counted, naming the people holding
 * them who have not voted and did not propose it (separation of duties).
 */
export function outstandingVotes(state: { rule: AuthorityRule; escalated: boolean; votes: Vote[]; proposedBy: string }, people: Person[]): Outstanding {
  const { rule } = state;
  const counted = new Set(state.votes.filter((v) => v.decision === 'approve' && rule.approverRoles.includes(v.role)).map((v) => v.role));
  const voted = new Set(state.votes.map((v) => v.actor));
  const free = (p: Person) => !voted.has(p.id) && p.id !== state.proposedBy;
  const outstanding: Outstanding = {
    approvals: Math.max(0, rule.quorum - counted.size),
    roles: rule.approverRoles.filter((role) => !counted.has(role)).map((role) => ({ role, people: holdersOf(people, [role]).filter(free) })),
  };
  if (state.escalated) outstanding.escalation = { roles: rule.escalateTo, people: holdersOf(people, rule.escalateTo).filter(free) };
  return outstanding;
}

/**
 * When the decision runs out of time (the correction workflow's timers, from the recorded moments):
 * a proposal escalates after the approval timeout and expires one more timeout later; a break-glass
 * correction is lifted when its ratification window, counted from when it was applied, closes.
 */
export function decisionDeadline(
  correction: { proposedAt: Date; appliedAt: Date | null; breakGlass: boolean; state: string },
  rule: AuthorityRule,
  escalated: boolean,
  people: Person[],
): Deadline {
  const to = { roles: rule.escalateTo, people: holdersOf(people, rule.escalateTo) };
  if (correction.state === 'awaiting-ratification' && rule.breakGlass.allowed) {
    const from = correction.appliedAt ?? correction.proposedAt;
    return { at: new Date(from.getTime() + rule.breakGlass.ratificationWindowMs), then: 'lift', to };
  }
  const timeouts = escalated ? 2 : 1;
  return { at: new Date(correction.proposedAt.getTime() + timeouts * rule.approvalTimeoutMs), then: escalated ? 'expire' : 'escalate', to };
}

/** One correction under decision, as the signed-in person sees it. */
export async function describeDecision(
  row: CorrectionRow,
  incident: IncidentRow,
  live: CorrectionSnapshot,
  people: RunbookPeople,
  principal: Principal,
): Promise<CorrectionDecision> {
  const [runbook, persons] = await Promise.all([people.runbook(incident), people.people(incident)]);
  const notifiedIds = runbook?.notifications.customers?.consumers ?? 'all';
  const consumers: AffectedConsumer[] = (runbook?.system.consumers ?? [])
    .filter((c) => c.affectedBy.includes(row.kind))
    .map((c) => {
      // Where each consumer stands matters once the correction is in force (break-glass, awaiting ratification).
      const status = live.state === 'awaiting-ratification' ? live.downstream?.find((d) => d.consumerId === c.id) : undefined;
      return {
        id: c.id,
        name: c.name,
        fallback: c.fallback.description,
        activation: c.fallback.activation.method,
        notified: notifiedIds === 'all' || notifiedIds.includes(c.id),
        ...(status ? { status } : {}),
      };
    });
  const correction = {
    kind: row.kind,
    state: live.state,
    scope: row.scope,
    parameters: row.parameters,
    reason: row.reason,
    proposedBy: row.proposed_by,
    proposedAt: row.proposed_at,
    appliedAt: row.applied_at,
    breakGlass: row.break_glass,
  };
  const voting = { rule: live.rule, escalated: live.escalated, proposedBy: live.proposedBy, votes: live.votes };
  let you: CorrectionDecision['you'];
  const voted = live.votes.find((v) => v.actor === principal.owner);
  if (voted) you = { cannot: 'you have voted', voted };
  else if (!canVote(principal)) you = { cannot: `your roles (${principal.roles.join(', ')}) do not vote in Correx; sign in with an approver's token` };
  else {
    const admitted = admitVote(voting, persons, { actor: principal.owner, decision: 'approve', rationale: 'checking eligibility' });
    you = 'refused' in admitted ? { cannot: admitted.refused } : { votesAs: admitted.role };
  }
  return {
    kind: 'correction',
    id: row.id,
    incident,
    correction,
    rule: live.rule,
    escalated: live.escalated,
    votes: live.votes,
    system: { name: runbook?.system.name ?? incident.system_id, adapter: runbook?.system.enforcement.adapter ?? 'unknown' },
    consumers,
    outstanding: outstandingVotes(voting, persons),
    // The workflow's own timer when it says (runs from before 2026-12-02 do not): otherwise reckoned from the recorded moments.
    deadline: live.decideBy
      ? { ...decisionDeadline(correction, live.rule, live.escalated, persons), at: new Date(live.decideBy) }
      : decisionDeadline(correction, live.rule, live.escalated, persons),
    you,
  };
}

/**
 * Every correction still under decision (optionally within one incident), whoever it waits on: its
 * workflow is asked, so a vote that just decided it is not shown as still open.
 */
export async function correctionDecisions(
  db: Kysely<Database>,
  clients: Pick<WorkflowClients, 'corrections'>,
  principal: Principal,
  options: { incidentId?: string; people?: RunbookPeople } = {},
): Promise<CorrectionDecision[]> {
  const people = options.people ?? new RunbookPeople(db);
  const rows = await correctionsAwaitingDecision(db, { incidentId: options.incidentId });
  const incidentRows = await incidentsById(
    db,
    rows.map((r) => r.incident_id),
  );
  const described = await Promise.all(
    rows.map(async (row) => {
      const live = await clients.corrections.state(correctionWorkflowId(row.incident_workflow_id, row.id)).catch(() => undefined);
      if (!live || !votingOpen(live.state, { rule: live.rule, escalated: live.escalated, proposedBy: live.proposedBy, votes: live.votes })) return undefined;
      return describeDecision(row, incidentRows.get(row.incident_id)!, live, people, principal);
    }),
  );
  return described.filter((d): d is CorrectionDecision => d !== undefined);
}

const waitsOnYou = (d: CorrectionDecision): d is CorrectionDecision & { you: { votesAs: string } } => 'votesAs' in d.you;

/**
 * What waits on the signed-in person, optionally within one incident. A correction counts when the
 * runbook's decision authority would admit this person's vote now (the same check the workflow makes).
 */
export async function pendingDecisions(
  db: Kysely<Database>,
  clients: Pick<WorkflowClients, 'corrections' | 'reviews'>,
  principal: Principal,
  options: { incidentId?: string; people?: RunbookPeople; decisions?: CorrectionDecision[] } = {},
): Promise<PendingDecision[]> {
  const people = options.people ?? new RunbookPeople(db);
  const within = { incidentId: options.incidentId };
  const pending: PendingDecision[] = [];

  if (canVote(principal)) {
    const decisions = options.decisions ?? (await correctionDecisions(db, clients, principal, { ...within, people }));
    pending.push(...decisions.filter(waitsOnYou));
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
