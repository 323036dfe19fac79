// The incident's rules: who may acknowledge, propose, lift, classify, resolve and close it, in which
// state. Pure (no I/O, no Temporal), so the workflow's validators and handlers share them and unit tests
// check them on plain data. Each check returns the reason an action is refused, or undefined.
import { findRule, type AuthorityRule } from '../correction/authority.js';
import { inForce } from '../correction/rules.js';
import type { CorrectionKind } from '../correction/schema.js';
import { openCorrectionStates } from '../correction/states.js';
import type { CorrectionLift, CorrectionProposal } from '../../workflows/incident/messages.js';
import type { Regime } from '../regulatory/regime.js';
import type { IncidentPlan } from './plan.js';
import type { IncidentAction, IncidentClassification, IncidentSnapshot, IncidentState } from './schema.js';
import { incidentStates } from './states.js';

/** What the rules read: the incident as it stands and its runbook version's plan. */
export interface IncidentStanding {
  snapshot: Pick<IncidentSnapshot, 'incidentId' | 'state' | 'severity' | 'commander' | 'corrections'>;
  plan: Pick<IncidentPlan, 'people' | 'authority' | 'restoration'>;
  /** A close was accepted and is not yet recorded: the incident already counts as closed. */
  closing: boolean;
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

export function liftProblem(incident: IncidentStanding, lift: CorrectionLift): string | undefined {
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
      return `lifting the last correction of a ${snapshot.severity} incident restores service: record the restoration criteria as met first (missing: ${missing.map((c) => `${c.id}: ${c.description}`).join('; ')})`;
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

/** The review is signed off by anyone who may decide on, or be escalated, a correction at the incident's severity. */
export function reviewSignOffRoles(snapshot: Pick<IncidentSnapshot, 'severity'>, plan: Pick<IncidentPlan, 'authority'>): string[] {
  const rules = plan.authority.filter((r) => r.severity === snapshot.severity);
  return [...new Set(rules.flatMap((r) => [...r.approverRoles, ...r.escalateTo]))];
}
