import type { ContactMethod } from '../channel/kinds.js';
// Pure decision-authority rules, used inside workflows (validators), so: no I/O, no imports with side effects.
import type { CorrectionKind } from './schema.js';

export interface Person {
  id: string;
  name: string;
  email: string;
  roles: string[];
  /** How the person is paged, in order (email alone when absent: plans made before contacts existed). */
  contacts?: ContactMethod[];
}

/** Who may decide on one kind of correction at one severity (the runbook's decisionAuthority, resolved). */
export interface AuthorityRule {
  kind: CorrectionKind;
  severity: string;
  approverRoles: string[];
  /** Approvals needed, each from a different person holding a different approver role. */
  quorum: number;
  approvalTimeoutMs: number;
  /** After the timeout, any one holder of these roles may decide alone. */
  escalateTo: string[];
  breakGlass: { allowed: false } | { allowed: true; ratificationWindowMs: number };
}

export interface Vote {
  actor: string;
  /** The approver role this vote counts for. */
  role: string;
  decision: 'approve' | 'reject';
  rationale: string;
  at: string;
}

export interface VotingState {
  rule: AuthorityRule;
  escalated: boolean;
  proposedBy: string;
  votes: Vote[];
}

/** The roles whose holders may decide now: the approvers, plus the escalation authority once escalated. */
export function decidingRoles(state: Pick<VotingState, 'rule' | 'escalated'>): string[] {
  return state.escalated ? [...new Set([...state.rule.approverRoles, ...state.rule.escalateTo])] : state.rule.approverRoles;
}

/** A vote either decides on a proposed correction (approve or reject) or asks for one in force to be lifted. */
export type VoteAction = 'decide' | 'lift';
const wording: Record<VoteAction, { may: string; voted: string; counted: string }> = {
  decide: { may: 'decide on', voted: 'voted on this correction', counted: 'approved' },
  lift: { may: 'lift', voted: 'voted to lift this correction', counted: 'voted to lift' },
};

/**
 * Checks a vote against separation of duties, the authority and earlier votes. Returns the role the
 * vote counts for, or the reason it is refused. Lifting is voted like approving, under the lift rule.
 */
export function admitVote(
  state: VotingState,
  people: Person[],
  vote: { actor: string; decision: 'approve' | 'reject'; rationale: string },
  action: VoteAction = 'decide',
): { role: string } | { refused: string } {
  const { rule } = state;
  const words = wording[action];
  const person = people.find((p) => p.id === vote.actor);
  if (!person) return { refused: `${vote.actor} is not one of the runbook's people` };
  if (vote.actor === state.proposedBy)
    return { refused: `${vote.actor} proposed this correction and cannot ${action === 'lift' ? 'lift' : 'decide on'} it (separation of duties)` };
  if (state.votes.some((v) => v.actor === vote.actor)) return { refused: `${vote.actor} has already ${words.voted}` };
  if (!vote.rationale.trim()) return { refused: 'a rationale is required' };

  const allowed = decidingRoles(state);
  const held = person.roles.filter((role) => allowed.includes(role));
  if (held.length === 0) {
    return {
      refused: `${vote.actor} (${person.roles.join(', ')}) may not ${words.may} ${rule.kind} at ${rule.severity}: that needs one of ${allowed.join(', ')}`,
    };
  }
  if (vote.decision === 'reject') return { role: held[0]! };
  // An escalation authority decides alone; otherwise each approval must add a role not yet counted.
  const escalationRole = state.escalated ? held.find((role) => rule.escalateTo.includes(role)) : undefined;
  if (escalationRole) return { role: escalationRole };
  const counted = new Set(state.votes.filter((v) => v.decision === 'approve').map((v) => v.role));
  const fresh = held.find((role) => !counted.has(role));
  if (!fresh) {
    const missing = rule.approverRoles.filter((role) => !counted.has(role));
    return { refused: `role ${held.join(', ')} has already ${words.counted}; the quorum needs a different role (${missing.join(', ')})` };
  }
  return { role: fresh };
}

export function isApproved(state: VotingState): boolean {
  const approvals = state.votes.filter((v) => v.decision === 'approve');
  if (state.escalated && approvals.some((v) => state.rule.escalateTo.includes(v.role))) return true;
  return approvals.filter((v) => state.rule.approverRoles.includes(v.role)).length >= state.rule.quorum;
}

export function isRejected(state: VotingState): boolean {
  return state.votes.some((v) => v.decision === 'reject');
}

/** People holding any of the roles, for paging an authority. */
export function holdersOf(people: Person[], roles: string[]): Person[] {
  return people.filter((p) => p.roles.some((r) => roles.includes(r)));
}

export function findRule(rules: AuthorityRule[], kind: CorrectionKind, severity: string): AuthorityRule | undefined {
  return rules.find((rule) => rule.kind === kind && rule.severity === severity);
}
