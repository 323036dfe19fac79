import { describe, expect, it } from 'vitest';
import type { AuthorityRule, Person, Vote, VotingState } from '../../services/correction/authority.js';
import { decisionProblem, inForce, shownState, votingOpen } from '../../services/correction/rules.js';
import { correctionStates, type CorrectionState } from '../../services/correction/states.js';

const person = (id: string, ...roles: string[]): Person => ({ id, name: id, email: `${id}@example.org`, roles });
const people = [person('amara', 'on-call-engineer'), person('sofia', 'safety-engineering-manager'), person('lena', 'legal-counsel')];
const rule: AuthorityRule = {
  kind: 'rate_limit',
  severity: 'SEV2',
  approverRoles: ['safety-engineering-manager', 'legal-counsel'],
  quorum: 2,
  approvalTimeoutMs: 900_000,
  escalateTo: ['head-of-safety'],
  breakGlass: { allowed: false },
};
const at = '2026-11-22T10:00:00.000Z';
const vote = (actor: string, role: string, decision: Vote['decision']): Vote => ({ actor, role, decision, rationale: 'seen the evidence', at });
const voting = (...votes: Vote[]): VotingState => ({ rule, escalated: false, proposedBy: 'amara', votes });
const undecided = voting();
const approved = voting(vote('sofia', 'safety-engineering-manager', 'approve'), vote('lena', 'legal-counsel', 'approve'));
const rejected = voting(vote('sofia', 'safety-engineering-manager', 'reject'));
const decision = { actor: 'sofia', decision: 'approve' as const, rationale: 'the limit is proportionate' };

describe('inForce', () => {
  it('holds for an active correction and one awaiting ratification, and for no other state', () => {
    expect(correctionStates.filter(inForce)).toEqual(['awaiting-ratification', 'active']);
  });
});

describe('shownState: where a correction is going once a vote decided it', () => {
  it('shows a rejection at once, whatever the workflow state', () => {
    expect(shownState('proposed', rejected)).toBe('rejected');
    expect(shownState('awaiting-ratification', rejected)).toBe('rejected');
  });
  it('shows a proposed correction the quorum approved as approved', () => {
    expect(shownState('proposed', approved)).toBe('approved');
  });
  it('shows the workflow state otherwise', () => {
    expect(shownState('proposed', undecided)).toBe('proposed');
    // A break-glass correction is already applied: ratifying it does not take it back to approved.
    expect(shownState('awaiting-ratification', approved)).toBe('awaiting-ratification');
    expect(shownState('active', approved)).toBe('active');
  });
});

describe('votingOpen', () => {
  it('is open while proposed or awaiting ratification and undecided', () => {
    expect(votingOpen('proposed', undecided)).toBe(true);
    expect(votingOpen('awaiting-ratification', voting(vote('sofia', 'safety-engineering-manager', 'approve')))).toBe(true);
  });
  it('is closed once decided, or in any other state', () => {
    expect(votingOpen('proposed', approved)).toBe(false);
    expect(votingOpen('proposed', rejected)).toBe(false);
    const others: CorrectionState[] = correctionStates.filter((s) => s !== 'proposed' && s !== 'awaiting-ratification');
    for (const state of others) expect(votingOpen(state, undecided)).toBe(false);
  });
});

describe('decisionProblem', () => {
  const correction = (state: CorrectionState, votes: VotingState) => ({ id: 'c-1', state, voting: votes, people });

  it('admits a vote by an approver while the correction is pending', () => {
    expect(decisionProblem(correction('proposed', undecided), decision)).toBeUndefined();
    expect(decisionProblem(correction('awaiting-ratification', undecided), { ...decision, decision: 'reject' })).toBeUndefined();
  });
  it('refuses once the correction is no longer pending, naming where it is going', () => {
    expect(decisionProblem(correction('proposed', rejected), { ...decision, actor: 'lena' })).toBe(
      'correction c-1 is no longer pending a decision (it is rejected)',
    );
    expect(decisionProblem(correction('proposed', approved), decision)).toBe('correction c-1 is no longer pending a decision (it is approved)');
    expect(decisionProblem(correction('active', undecided), decision)).toBe('correction c-1 is no longer pending a decision (it is active)');
  });
  it('passes on the refusal of the vote itself (admitVote)', () => {
    expect(decisionProblem(correction('proposed', undecided), { ...decision, actor: 'amara' })).toBe(
      'amara proposed this correction and cannot decide on it (separation of duties)',
    );
    expect(decisionProblem(correction('proposed', undecided), { ...decision, actor: 'mallory' })).toBe("mallory is not one of the runbook's people");
    expect(decisionProblem(correction('proposed', undecided), { ...decision, rationale: ' ' })).toBe('a rationale is required');
  });
});
