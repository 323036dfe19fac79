import { createHash } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { ApprovalsTable, CorrectionRow, CorrectionsTable, Database } from '../db/schema.js';
import { jsonb } from '../db/jsonb.js';
import type { TimelineEventKind } from '../timeline/kinds.js';
import { appendTimelineEvent, withIncidentLock } from '../timeline/repository.js';
import { stampPolicyChange } from './policy-versions.js';
import type { ActiveCorrection } from './policy.js';
import type { CorrectionKind, CorrectionScope, ProposedCorrection } from './schema.js';
import type { CorrectionState } from './states.js';
import type { ChatVia } from '../chat/via.js';

export type ApprovalRow = Selectable<ApprovalsTable>;

/** Writes the correction row and its `correction.proposed` event; a retry changes nothing. */
export async function recordCorrectionProposed(db: Kysely<Database>, c: ProposedCorrection): Promise<void> {
  await withIncidentLock(db, c.incidentId, async (trx) => {
    await trx
      .insertInto('corrections')
      .values({
        id: c.id,
        incident_id: c.incidentId,
        system_id: c.systemId,
        severity: c.severity,
        kind: c.kind,
        scope: jsonb(c.scope as Record<string, unknown>),
        parameters: jsonb(c.parameters),
        reason: c.reason,
        state: 'proposed',
        break_glass: c.breakGlass,
        proposed_by: c.proposedBy,
        idempotency_key: c.id,
        proposed_at: c.proposedAt,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    await appendTimelineEvent(trx, {
      incidentId: c.incidentId,
      kind: 'correction.proposed',
      actor: c.proposedBy,
      occurredAt: new Date(c.proposedAt),
      data: { correctionId: c.id, kind: c.kind, scope: c.scope, parameters: c.parameters, reason: c.reason, breakGlass: c.breakGlass, severity: c.severity },
      idempotencyKey: `correction:${c.id}:proposed`,
    });
  });
}

type StampColumn = 'approved_at' | 'rejected_at' | 'applied_at' | 'verified_at' | 'lifted_at';

export interface CorrectionTransition {
  incidentId: string;
  correctionId: string;
  /** New value of `corrections.state`; omitted for events that do not change it (a vote, a page). */
  state?: CorrectionState;
  /** Timeline event kind, e.g. `correction.applied`. */
  event: TimelineEventKind;
  actor: string;
  /** When it happened; system events leave it out and get the time the activity records them. */
  at?: string;
  data?: Record<string, unknown>;
  stamp?: StampColumn;
  /** Distinguishes repeated events of one kind (e.g. the n-th failed attempt). */
  occurrence?: string;
}

/** Moves a correction's projection and appends the matching timeline event, once per event. */
export async function recordCorrectionTransition(db: Kysely<Database>, t: CorrectionTransition): Promise<void> {
  let at = t.at ?? new Date().toISOString();
  await withIncidentLock(db, t.incidentId, async (trx) => {
    const set: Partial<Record<keyof CorrectionsTable, unknown>> = { updated_at: new Date() };
    if (t.state) set.state = t.state;
    // The first time wins: retries must not move a stamp. applied_at and lifted_at are when the
    // correction entered and left the policy gateways are answered from (the built-in enforcer stamps
    // them as it applies; for the others, this record is that moment), each a new policy version.
    // The event is dated with the stamp, so the row and the timeline tell the same time.
    if (t.stamp === 'applied_at' || t.stamp === 'lifted_at')
      at = await stampPolicyChange(trx, t.correctionId, t.stamp === 'applied_at' ? 'applied' : 'lifted', at);
    else if (t.stamp) set[t.stamp] = sql`coalesce(${sql.ref(t.stamp)}, ${at}::timestamptz)`;
    await trx
      .updateTable('corrections')
      .set(set as never)
      .where('id', '=', t.correctionId)
      .execute();
    await appendTimelineEvent(trx, {
      incidentId: t.incidentId,
      kind: t.event,
      actor: t.actor,
      occurredAt: new Date(at),
      data: { correctionId: t.correctionId, ...(t.state ? { state: t.state } : {}), ...t.data },
      idempotencyKey: `correction:${t.correctionId}:${t.event}${t.occurrence ? `:${t.occurrence}` : ''}`,
    });
  });
}

export interface RecordedVote {
  incidentId: string;
  correctionId: string;
  actor: string;
  role: string;
  decision: 'approve' | 'reject';
  rationale: string;
  at: string;
  /** Sent from a chat room: who and where, on the timeline with the vote. */
  via?: ChatVia;
}

/** One vote per person per correction (a unique constraint), with its timeline event. */
export async function recordVote(db: Kysely<Database>, v: RecordedVote): Promise<void> {
  await withIncidentLock(db, v.incidentId, async (trx) => {
    await trx
      .insertInto('approvals')
      .values({ correction_id: v.correctionId, actor: v.actor, role: v.role, decision: v.decision, rationale: v.rationale, decided_at: v.at })
      .onConflict((oc) => oc.columns(['correction_id', 'actor']).doNothing())
      .execute();
    await appendTimelineEvent(trx, {
      incidentId: v.incidentId,
      kind: v.decision === 'approve' ? 'correction.approval_given' : 'correction.rejection_given',
      actor: v.actor,
      occurredAt: new Date(v.at),
      data: { correctionId: v.correctionId, role: v.role, rationale: v.rationale, ...(v.via ? { via: v.via } : {}) },
      idempotencyKey: `correction:${v.correctionId}:vote:${v.actor}`,
    });
  });
}

/** Corrections in force on a system: applied (by any adapter) and not lifted; a drill's never are. */
export async function activeCorrections(db: Kysely<Database>, systemId: string): Promise<ActiveCorrection[]> {
  const rows = await db
    .selectFrom('corrections')
    .selectAll('corrections')
    .where('corrections.system_id', '=', systemId)
    .where('corrections.applied_at', 'is not', null)
    .where('corrections.lifted_at', 'is', null)
    .where(({ exists, selectFrom }) =>
      exists(selectFrom('incidents').select('incidents.id').whereRef('incidents.id', '=', 'corrections.incident_id').where('incidents.drill', '=', false)),
    )
    .orderBy('corrections.applied_at')
    .orderBy('corrections.id')
    .execute();
  return rows.map(toActive);
}

/**
 * Corrections in force in drills still running, by drill incident: they apply only to requests marked
 * as that drill's (`x-correx-drill: <incident id>`), so a drill can show them enforced at the gateway
 * without touching real traffic.
 */
export async function drillCorrections(db: Kysely<Database>): Promise<Map<string, { systemId: string; corrections: ActiveCorrection[] }>> {
  const rows = await db
    .selectFrom('corrections')
    .innerJoin('incidents', 'incidents.id', 'corrections.incident_id')
    .selectAll('corrections')
    .where('incidents.drill', '=', true)
    .where('incidents.state', '!=', 'closed')
    .where('corrections.applied_at', 'is not', null)
    .where('corrections.lifted_at', 'is', null)
    .orderBy('corrections.applied_at')
    .execute();
  const drills = new Map<string, { systemId: string; corrections: ActiveCorrection[] }>();
  for (const row of rows) {
    const drill = drills.get(row.incident_id) ?? { systemId: row.system_id, corrections: [] };
    drill.corrections.push(toActive(row));
    drills.set(row.incident_id, drill);
  }
  return drills;
}

function toActive(row: CorrectionRow): ActiveCorrection {
  return {
    id: row.id,
    incidentId: row.incident_id,
    kind: row.kind as CorrectionKind,
    scope: row.scope as CorrectionScope,
    parameters: row.parameters,
    reason: row.reason,
    appliedAt: row.applied_at!.toISOString(),
  };
}

/** A strong ETag of a policy: changes whenever a correction is applied or lifted. */
export function policyEtag(active: ActiveCorrection[]): string {
  const digest = createHash('sha256')
    .update(active.map((c) => `${c.id}@${c.appliedAt}`).join('\n'))
    .digest('hex');
  return `"${digest.slice(0, 32)}"`;
}

export async function findCorrection(db: Kysely<Database>, id: string): Promise<CorrectionRow | undefined> {
  return db.selectFrom('corrections').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listCorrections(db: Kysely<Database>, incidentId: string): Promise<CorrectionRow[]> {
  return db.selectFrom('corrections').selectAll().where('incident_id', '=', incidentId).orderBy('proposed_at').execute();
}

/** Corrections still waiting for votes (oldest first), with their incident's workflow id, optionally of one incident. */
export async function correctionsAwaitingDecision(
  db: Kysely<Database>,
  filter: { incidentId?: string } = {},
): Promise<(CorrectionRow & { incident_workflow_id: string })[]> {
  let query = db
    .selectFrom('corrections')
    .innerJoin('incidents', 'incidents.id', 'corrections.incident_id')
    .selectAll('corrections')
    .select(['incidents.workflow_id as incident_workflow_id'])
    .where('corrections.state', 'in', ['proposed', 'awaiting-ratification'])
    .orderBy('corrections.proposed_at');
  if (filter.incidentId) query = query.where('corrections.incident_id', '=', filter.incidentId);
  return query.execute();
}

/** Every vote on these corrections, in the order they were cast. */
export async function listVotes(db: Kysely<Database>, correctionIds: string[]): Promise<ApprovalRow[]> {
  if (correctionIds.length === 0) return [];
  return db.selectFrom('approvals').selectAll().where('correction_id', 'in', correctionIds).orderBy('decided_at').execute();
}
