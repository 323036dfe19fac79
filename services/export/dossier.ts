import type { Kysely } from 'kysely';
import { findRule, type AuthorityRule } from '../correction/authority.js';
import { listCorrections, listVotes } from '../correction/repository.js';
import type { CorrectionRow, Database, IncidentRow, NotificationRow, TimelineEventRow } from '../db/schema.js';
import { planIncident } from '../incident/plan.js';
import { incidentAlerts, type AlertView } from '../monitoring/alerts.js';
import { listNotifications } from '../notification/repository.js';
import { findRunbookVersion } from '../runbook/repository.js';
import type { Runbook } from '../runbook/schema.js';
import { listIncidentTasks, type TaskRow } from '../task/repository.js';
import { findReview } from '../review/repository.js';
import { listTimeline } from '../timeline/repository.js';

export interface Decision {
  correctionId: string;
  kind: string;
  actor: string;
  name: string;
  role: string;
  decision: 'approve' | 'reject';
  rationale: string;
  at: string;
  rule: AuthorityRule | undefined;
}

/** Everything the printable report and the regulator mappings say about one incident, read once. */
export interface IncidentDossier {
  incident: IncidentRow;
  runbook: Runbook | undefined;
  corrections: CorrectionRow[];
  decisions: Decision[];
  notifications: NotificationRow[];
  tasks: TaskRow[];
  /** The alerts its senders sent about it (none when a person triggered it), as `GET /v1/incidents/:id/alerts` shows them. */
  alerts: AlertView[];
  timeline: TimelineEventRow[];
  review: Awaited<ReturnType<typeof findReview>>;
}

export async function readDossier(db: Kysely<Database>, incident: IncidentRow): Promise<IncidentDossier> {
  const runbook = incident.runbook_version ? await findRunbookVersion(db, incident.runbook_version) : undefined;
  const plan = runbook && incident.runbook_version ? planIncident(runbook, incident.runbook_version) : undefined;
  const corrections = await listCorrections(db, incident.id);
  const votes = await listVotes(
    db,
    corrections.map((c) => c.id),
  );
  const decisions = votes.map((v) => {
    const correction = corrections.find((c) => c.id === v.correction_id)!;
    return {
      correctionId: v.correction_id,
      kind: correction.kind,
      actor: v.actor,
      name: plan?.people.find((p) => p.id === v.actor)?.name ?? v.actor,
      role: v.role,
      decision: v.decision,
      rationale: v.rationale,
      at: v.decided_at.toISOString(),
      rule: plan ? findRule(plan.authority, correction.kind as AuthorityRule['kind'], correction.severity) : undefined,
    };
  });
  return {
    incident,
    runbook,
    corrections,
    decisions,
    notifications: await listNotifications(db, incident.id),
    tasks: await listIncidentTasks(db, incident.id),
    alerts: await incidentAlerts(db, incident.id),
    timeline: await listTimeline(db, incident.id),
    review: await findReview(db, incident.id),
  };
}

export function describeRule(rule: AuthorityRule | undefined): string {
  if (!rule) return 'no rule recorded';
  return `${rule.quorum} of ${rule.approverRoles.join(', ')}${rule.escalateTo.length ? `; on timeout any one of ${rule.escalateTo.join(', ')}` : ''}${rule.breakGlass.allowed ? '; break-glass allowed' : ''}`;
}
