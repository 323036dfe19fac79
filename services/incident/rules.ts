// The incident's rules: who may acknowledge, propose, lift, classify, resolve and close it, in which
// state. Pure (no I/O, no Temporal), so the workflow's validators and handlers share them and unit tests
// check them on plain data. Each check returns the reason an action is refused, or undefined.
import { admitVote, findRule, holdersOf, isApproved, type AuthorityRule, type Vote, type VotingState } from '../correction/authority.js';
import { inForce } from '../correction/rules.js';
import type { CorrectionKind } from '../correction/schema.js';
import { openCorrectionStates } from '../correction/states.js';
import type { CorrectionLift, CorrectionProposal } from '../../workflows/incident/messages.js';
import type { Regime } from '../regulatory/regime.js';
import type { IncidentPlan } from './plan.js';
import type { AwarenessSetting, IncidentAction, IncidentClassification, IncidentSnapshot, IncidentState } from './schema.js';
import { incidentStates } from './states.js';

/** The votes to lift one correction given so far, and the restoration evidence they brought. */
export interface LiftVotes {
  /** Who proposed the correction: they may not vote to lift it (separation of duties). */
  proposedBy: string;
  /** Nobody completed the quorum within the lift rule's approvalTimeout: its escalateTo roles may lift alone. */
  escalated: boolean;
  votes: Vote[];
  /** Evidence per restoration criterion so far, and whose vote gave it. */
  restoration: { criterion: string; evidence: string; by?: string }[];
}

/** What the rules read: the incident as it stands and its runbook version's plan. */
export interface IncidentStanding {
  snapshot: Pick<IncidentSnapshot, 'incidentId' | 'state' | 'severity' | 'commander' | 'corrections'> & Partial<Pick<IncidentSnapshot, 'openedAt'>>;
  plan: Pick<IncidentPlan, 'people' | 'authority' | 'lifting' | 'restoration'>;
  /** A close was accepted and is not yet recorded: the incident already counts as closed. */
  closing: boolean;
  /** Lift votes by correction id (a correction nobody voted to lift yet has none). */
  lifts?: ReadonlyMap<string, LiftVotes>;
}

/** Triggered, acknowledged, mitigating or mitigated: corrections may still be proposed and the incident resolved. */
export function unresolved(state: IncidentState): boolean {
  return incidentStates.indexOf(state) < incidentStates.indexOf('resolved');
}

const notAPerson = (plan: IncidentStanding['plan'], actor: string) =>
  plan.people.some((p) => p.id === actor) ? undefined : `${actor} is not one of the runbook's people`;

export function acknowledgeProblem({ snapshot, plan }: IncidentStanding, action: IncidentAction): string | undefined {
  const stranger = notAPerson(plan, action.actor);
  if (stranger) return stranger;
  if (snapshot.state !== 'triggered') return `incident is already ${snapshot.state}${snapshot.commander ? ` (commander: ${snapshot.commander})` : ''}`;
  return undefined;
}

/** The decision authority a proposal of this kind runs under: the rule for the incident's severity. */
export function proposalRule({ snapshot, plan }: IncidentStanding, kind: CorrectionKind): AuthorityRule | undefined {
  return findRule(plan.authority, kind, snapshot.severity);
}

export function proposalProblem(incident: IncidentStanding, p: CorrectionProposal): string | undefined {
  const { snapshot, plan } = incident;
  const stranger = notAPerson(plan, p.actor);
  if (stranger) return stranger;
  if (snapshot.state === 'triggered') return 'acknowledge the incident before proposing corrections';
  if (!unresolved(snapshot.state)) return `incident is ${snapshot.state}; corrections can no longer be proposed`;
  const rule = proposalRule(incident, p.kind);
  if (!rule) return `the runbook gives no decision authority for ${p.kind} at ${snapshot.severity}`;
  if (p.breakGlass) {
    if (!rule.breakGlass.allowed) return `break-glass is not allowed for ${p.kind} at ${snapshot.severity}`;
    if (p.actor !== snapshot.commander) return `only the incident commander (${snapshot.commander}) may use break-glass`;
  }
  return undefined;
}

export function resolveProblem({ snapshot, plan }: IncidentStanding, action: IncidentAction): string | undefined {
  const stranger = notAPerson(plan, action.actor);
  if (stranger) return stranger;
  if (snapshot.state === 'triggered') return 'acknowledge the incident before resolving it';
  if (!unresolved(snapshot.state)) return `incident is already ${snapshot.state}`;
  return undefined;
}

/** No other correction is in force or about to be: lifting this one restores service. */
export function lastInForce(snapshot: Pick<IncidentSnapshot, 'corrections'>, correctionId: string): boolean {
  return !snapshot.corrections.some((c) => c.id !== correctionId && (inForce(c.state) || c.state === 'applying' || c.state === 'approved'));
}

/** Lifting this correction restores service of an incident whose severity needs the restoration criteria shown met first. */
export function restorationRequired({ snapshot, plan }: IncidentStanding, correctionId: string): boolean {
  return lastInForce(snapshot, correctionId) && plan.restoration.requiredFor.includes(snapshot.severity);
}

/** Who may lift a correction: the runbook's liftAuthority for its kind at its severity, else the rule it was applied under. */
export function liftRule({ plan }: Pick<IncidentStanding, 'plan'>, correction: { kind: CorrectionKind; severity: string }): AuthorityRule | undefined {
  return findRule(plan.lifting ?? plan.authority, correction.kind, correction.severity) ?? findRule(plan.authority, correction.kind, correction.severity);
}

/** The lift votes of a correction counted as votes under its lift rule. */
function liftVoting(incident: IncidentStanding, correction: { id: string; kind: CorrectionKind; severity: string }): VotingState | undefined {
  const rule = liftRule(incident, correction);
  if (!rule) return undefined;
  const lift = incident.lifts?.get(correction.id);
  return { rule, escalated: lift?.escalated ?? false, proposedBy: lift?.proposedBy ?? '', votes: lift?.votes ?? [] };
}

const criteriaInWords = (criteria: { id: string; description: string }[]) => criteria.map((c) => `${c.id}: ${c.description}`).join('; ');

/**
 * A vote to lift a correction: checked like an approval (separation of duties, one vote per person and
 * per role, the lift rule's roles), with the restoration criteria the runbook defines. Returns the role
 * the vote counts for, or the reason it is refused. The correction comes off once the votes meet the
 * rule's quorum (`liftDecided`).
 */
export function liftVote(incident: IncidentStanding, lift: CorrectionLift): { role: string } | { refused: string } {
  const { snapshot, plan } = incident;
  const correction = snapshot.corrections.find((c) => c.id === lift.correctionId);
  if (!correction) return { refused: `incident ${snapshot.incidentId} has no correction ${lift.correctionId}` };
  if (!inForce(correction.state)) return { refused: `correction ${correction.id} is not in force (it is ${correction.state})` };
  const voting = liftVoting(incident, correction);
  if (!voting) return { refused: `the runbook gives no authority to lift ${correction.kind} at ${correction.severity}` };
  const admitted = admitVote(voting, plan.people, { actor: lift.actor, decision: 'approve', rationale: lift.rationale }, 'lift');
  if ('refused' in admitted) return admitted;
  const defined = plan.restoration.criteria;
  const unknown = [...new Set((lift.restoration ?? []).map((r) => r.criterion).filter((id) => !defined.some((c) => c.id === id)))];
  if (unknown.length > 0) {
    const named = unknown.map((id) => `'${id}'`).join(', ');
    return {
      refused: defined.length
        ? `restoration: ${named} ${unknown.length === 1 ? 'is not a restoration criterion' : 'are not restoration criteria'} of the runbook; its criteria are ${criteriaInWords(defined)}`
        : `restoration: the runbook defines no restoration criteria, so ${named} cannot be recorded`,
    };
  }
  if (restorationRequired(incident, correction.id)) {
    // Evidence given with an earlier vote on this lift counts: each person need not repeat it.
    const given = [...(incident.lifts?.get(correction.id)?.restoration ?? []), ...(lift.restoration ?? [])];
    const met = new Set(given.filter((r) => r.evidence.trim()).map((r) => r.criterion));
    const missing = defined.filter((c) => !met.has(c.id));
    if (missing.length > 0) {
      return {
        refused: `lifting the last correction of a ${snapshot.severity} incident restores service: record the restoration criteria as met first (missing: ${criteriaInWords(missing)})`,
      };
    }
  }
  return admitted;
}

export function liftProblem(incident: IncidentStanding, lift: CorrectionLift): string | undefined {
  const vote = liftVote(incident, lift);
  return 'refused' in vote ? vote.refused : undefined;
}

/** The lift votes meet the lift rule's quorum (or an escalation authority voted once escalated): the correction comes off. */
export function liftDecided(incident: IncidentStanding, correctionId: string): boolean {
  const correction = incident.snapshot.corrections.find((c) => c.id === correctionId);
  const voting = correction && liftVoting(incident, correction);
  return voting !== undefined && isApproved(voting);
}

/** Someone voted to lift this correction, it is still in force and its quorum is not met yet. */
export function liftPending(incident: IncidentStanding, correctionId: string): boolean {
  const correction = incident.snapshot.corrections.find((c) => c.id === correctionId);
  return (
    correction !== undefined && inForce(correction.state) && (incident.lifts?.get(correctionId)?.votes.length ?? 0) > 0 && !liftDecided(incident, correctionId)
  );
}

/** Where a lift stands after a vote: the votes given, and, until the quorum is met, who can give the ones still missing. */
export interface LiftProgress {
  correctionId: string;
  /** The quorum is met: the correction is coming off. */
  decided: boolean;
  quorum: number;
  votes: { actor: string; role: string; rationale: string; at: string }[];
  /** Votes still needed (0 once decided). */
  needed: number;
  /** Roles whose holders can give a missing vote (empty once decided). */
  roles: string[];
  /** The people who can: holders of those roles who have not voted and did not propose the correction. */
  people: string[];
  escalated: boolean;
  /** When the escalation roles may lift alone if the quorum is still not met (null once decided or escalated). */
  escalatesAt: string | null;
  escalateTo: string[];
}

export function liftProgress(incident: IncidentStanding, correctionId: string): LiftProgress | undefined {
  const correction = incident.snapshot.corrections.find((c) => c.id === correctionId);
  const voting = correction && liftVoting(incident, correction);
  if (!voting) return undefined;
  const { rule, votes, escalated, proposedBy } = voting;
  const decided = isApproved(voting);
  const counted = new Set(votes.map((v) => v.role));
  const missingRoles = rule.approverRoles.filter((r) => !counted.has(r));
  const roles = decided ? [] : escalated ? [...new Set([...missingRoles, ...rule.escalateTo])] : missingRoles;
  const firstAt = votes[0]?.at;
  return {
    correctionId,
    decided,
    quorum: rule.quorum,
    votes: votes.map(({ actor, role, rationale, at }) => ({ actor, role, rationale, at })),
    needed: decided ? 0 : Math.max(1, rule.quorum - votes.filter((v) => rule.approverRoles.includes(v.role)).length),
    roles,
    people: holdersOf(incident.plan.people, roles)
      .filter((p) => p.id !== proposedBy && !votes.some((v) => v.actor === p.id))
      .map((p) => p.id),
    escalated,
    escalatesAt: decided || escalated || !firstAt ? null : new Date(Date.parse(firstAt) + rule.approvalTimeoutMs).toISOString(),
    escalateTo: rule.escalateTo,
  };
}

/**
 * How lifts were checked before they took a quorum: one person of the apply rule's approver or
 * escalation roles lifted at once. Runs from before replay their lifts with it, so their history holds.
 */
export function liftProblemBeforeVotes(incident: IncidentStanding, lift: CorrectionLift): string | undefined {
  const { snapshot, plan } = incident;
  const correction = snapshot.corrections.find((c) => c.id === lift.correctionId);
  if (!correction) return `incident ${snapshot.incidentId} has no correction ${lift.correctionId}`;
  if (!inForce(correction.state)) return `correction ${correction.id} is not in force (it is ${correction.state})`;
  const rule = findRule(plan.authority, correction.kind, correction.severity);
  const roles = rule ? [...new Set([...rule.approverRoles, ...rule.escalateTo])] : [];
  const person = plan.people.find((p) => p.id === lift.actor);
  if (!person || !person.roles.some((r) => roles.includes(r)))
    return `${lift.actor} may not lift a ${correction.kind} correction: that needs one of ${roles.join(', ')}`;
  if (!lift.rationale.trim()) return 'a rationale is required';
  if (restorationRequired(incident, correction.id)) {
    const met = new Set((lift.restoration ?? []).filter((r) => r.evidence.trim()).map((r) => r.criterion));
    const missing = plan.restoration.criteria.filter((c) => !met.has(c.id));
    if (missing.length > 0) {
      return `lifting the last correction of a ${snapshot.severity} incident restores service: record the restoration criteria as met first (missing: ${criteriaInWords(missing)})`;
    }
  }
  return undefined;
}

export function classifyProblem({ snapshot, plan, closing }: IncidentStanding, c: IncidentClassification): string | undefined {
  const stranger = notAPerson(plan, c.actor);
  if (stranger) return stranger;
  if (snapshot.state === 'closed' || closing) return 'incident is closed';
  if (!c.reason.trim()) return 'a reason is required: it is recorded with the classification';
  return undefined;
}

export function awarenessProblem({ snapshot, plan, closing }: IncidentStanding, a: AwarenessSetting): string | undefined {
  const stranger = notAPerson(plan, a.actor);
  if (stranger) return stranger;
  if (snapshot.state === 'closed' || closing) return 'incident is closed';
  const since = Date.parse(a.awareSince);
  if (Number.isNaN(since)) return 'awareSince must be a moment (ISO 8601 with a time zone)';
  // Later than the opening would shorten every legal deadline: the opening is when Correx knew, at the latest.
  if (snapshot.openedAt && since > Date.parse(snapshot.openedAt))
    return `awareSince must be at or before the incident was opened (${snapshot.openedAt}): awareness can only be set earlier`;
  if (!a.reason.trim()) return 'a reason is required: it is recorded with the moment, and regulators may ask for it';
  return undefined;
}

export function closeProblem({ snapshot, plan, closing }: IncidentStanding, action: IncidentAction): string | undefined {
  const stranger = notAPerson(plan, action.actor);
  if (stranger) return stranger;
  if (snapshot.state === 'closed' || closing) return 'incident is already closed';
  const open = snapshot.corrections.filter((c) => openCorrectionStates.includes(c.state));
  if (open.length > 0)
    return `${open.length} correction(s) still pending or in force (${open.map((c) => `${c.kind} ${c.id}: ${c.state}`).join(', ')}); lift or reject them first`;
  return undefined;
}

/** Mitigated: the incident is mitigating and one of its corrections is in force. */
export function mitigated(snapshot: Pick<IncidentSnapshot, 'state' | 'corrections'>): boolean {
  return snapshot.state === 'mitigating' && snapshot.corrections.some((c) => inForce(c.state));
}

/** Reopened, an incident goes back to where it was before the resolution: acknowledged if someone leads it. */
export function reopenedState(snapshot: Pick<IncidentSnapshot, 'commander'>): IncidentState {
  return snapshot.commander ? 'acknowledged' : 'triggered';
}

/** A regime's clock starts once the incident has one of its classes, and only once. */
export function clockDue(snapshot: Pick<IncidentSnapshot, 'classification' | 'regulatoryClocks'>, regime: Pick<Regime, 'id' | 'triggerClasses'>): boolean {
  return !snapshot.regulatoryClocks.some((c) => c.regimeId === regime.id) && regime.triggerClasses.some((c) => snapshot.classification.includes(c));
}

/** A regime whose law is not yet in force at `at` starts no clock: the date it takes effect, else undefined. */
export function notYetInForce(regime: Pick<Regime, 'inForceFrom'>, at: string): string | undefined {
  return regime.inForceFrom && Date.parse(at) < Date.parse(`${regime.inForceFrom}T00:00:00Z`) ? regime.inForceFrom : undefined;
}

/** Who owns a review task of this role: the commander if they hold it, else the first person who does. */
export function reviewTaskOwner(snapshot: Pick<IncidentSnapshot, 'commander'>, plan: Pick<IncidentPlan, 'people'>, role: string): string | undefined {
  return snapshot.commander && plan.people.find((p) => p.id === snapshot.commander)?.roles.includes(role)
    ? snapshot.commander
    : plan.people.find((p) => p.roles.includes(role))?.id;
}

/** The runbook's follow-up tasks, each owned by a holder of its role and due its time after the resolution. */
export function reviewTasks(snapshot: Pick<IncidentSnapshot, 'commander'>, plan: Pick<IncidentPlan, 'people' | 'review'>, resolvedAt: string) {
  return plan.review.tasks.map((t) => ({
    key: t.templateId,
    title: t.title,
    ownerRole: t.ownerRole,
    owner: reviewTaskOwner(snapshot, plan, t.ownerRole),
    dueAt: new Date(Date.parse(resolvedAt) + t.dueAfterMs).toISOString(),
    origin: 'template' as const,
  }));
}

/**
 * The review is signed off by the decision authority at the incident's severity over the corrections it
 * ran: the approver and escalation roles of each kind proposed (so a SEV1 shutdown's review is signed by
 * who could decide the shutdown, not by whoever may approve a user restriction). An incident without
 * corrections is signed off by the authority over any kind at its severity.
 */
export function reviewSignOffRoles(snapshot: Pick<IncidentSnapshot, 'severity' | 'corrections'>, plan: Pick<IncidentPlan, 'authority'>): string[] {
  const kinds = new Set(snapshot.corrections.map((c) => c.kind));
  const rules = plan.authority.filter((r) => r.severity === snapshot.severity && (kinds.size === 0 || kinds.has(r.kind)));
  return [...new Set(rules.flatMap((r) => [...r.approverRoles, ...r.escalateTo]))];
}
