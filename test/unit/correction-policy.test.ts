import { describe, expect, it } from 'vitest';
import { admitVote, isApproved, isRejected, type AuthorityRule, type Person, type VotingState } from '../../services/correction/authority.js';
import { decide, type ActiveCorrection } from '../../services/correction/policy.js';

const active = (kind: ActiveCorrection['kind'], scope: ActiveCorrection['scope'], parameters: Record<string, unknown> = {}): ActiveCorrection => ({
  id: `${kind}-${JSON.stringify(scope)}`,
  incidentId: 'i',
  kind,
  scope,
  parameters,
  reason: `because ${kind}`,
  appliedAt: '2026-11-22T10:00:00.000Z',
});

describe('decide: every correction kind has its say', () => {
  const system = { systemId: 'frontier-assistant' };

  it('allows when nothing is in force', () => {
    expect(decide([], { ...system, userId: 'u' })).toEqual({ decision: 'allow', corrections: [] });
  });

  it('throttles only the rate-limited scope, at the strictest limit', () => {
    const corrections = [
      active('rate_limit', { tiers: ['free'] }, { requestsPerMinute: 10, per: 'user' }),
      active('rate_limit', { orgs: ['acme'] }, { requestsPerMinute: 3, per: 'org' }),
    ];
    expect(decide(corrections, { ...system, tier: 'free' })).toMatchObject({ decision: 'throttle', limit: { requestsPerMinute: 10, per: 'user' } });
    expect(decide(corrections, { ...system, tier: 'free', orgId: 'acme' })).toMatchObject({
      decision: 'throttle',
      limit: { requestsPerMinute: 3, per: 'org' },
    });
    expect(decide(corrections, { ...system, tier: 'pro' }).decision).toBe('allow');
  });

  it('denies everything under a shutdown, even throttled traffic', () => {
    const corrections = [active('rate_limit', { all: true }, { requestsPerMinute: 10 }), active('shutdown', { all: true })];
    expect(decide(corrections, { ...system, userId: 'u' })).toMatchObject({
      decision: 'deny',
      corrections: [{ kind: 'shutdown', reason: 'because shutdown' }],
    });
  });

  it('blocklists deny the listed; allowlists deny everyone else', () => {
    expect(decide([active('user_restriction', { users: ['bad'] }, { mode: 'blocklist' })], { ...system, userId: 'bad' }).decision).toBe('deny');
    expect(decide([active('user_restriction', { users: ['bad'] }, { mode: 'blocklist' })], { ...system, userId: 'good' }).decision).toBe('allow');
    expect(decide([active('user_restriction', { orgs: ['trusted'] }, { mode: 'allowlist' })], { ...system, orgId: 'trusted' }).decision).toBe('allow');
    expect(decide([active('user_restriction', { orgs: ['trusted'] }, { mode: 'allowlist' })], { ...system, orgId: 'other' }).decision).toBe('deny');
  });

  it('denies prohibited use cases and disabled capabilities, and attaches filters and rollbacks as obligations', () => {
    const corrections = [
      active('use_case_restriction', { all: true }, { prohibitedUseCases: ['companion-chat'] }),
      active('capability_restriction', { all: true }, { disabledCapabilities: ['code-execution'], filterProfile: 'strict' }),
      active('rollback', { all: true }, { targetVersion: '2026-08-02' }),
    ];
    expect(decide(corrections, { ...system, useCase: 'companion-chat' }).decision).toBe('deny');
    expect(decide(corrections, { ...system, capability: 'code-execution' }).decision).toBe('deny');
    expect(decide(corrections, { ...system, useCase: 'coding', capability: 'chat' })).toMatchObject({
      decision: 'allow',
      obligations: { filterProfile: 'strict', modelVersion: '2026-08-02' },
    });
  });
});

describe('decision authority', () => {
  const people: Person[] = [
    { id: 'ann', name: 'Ann', email: 'a@x', roles: ['cto'] },
    { id: 'bo', name: 'Bo', email: 'b@x', roles: ['head-of-safety'] },
    { id: 'cy', name: 'Cy', email: 'c@x', roles: ['cto'] },
    { id: 'dee', name: 'Dee', email: 'd@x', roles: ['ceo'] },
    { id: 'eve', name: 'Eve', email: 'e@x', roles: ['on-call'] },
  ];
  const rule: AuthorityRule = {
    kind: 'shutdown',
    severity: 'SEV1',
    approverRoles: ['head-of-safety', 'cto'],
    quorum: 2,
    approvalTimeoutMs: 900_000,
    escalateTo: ['ceo'],
    breakGlass: { allowed: false },
  };
  const fresh = (): VotingState => ({ rule, escalated: false, proposedBy: 'eve', votes: [] });
  const cast = (state: VotingState, actor: string, decision: 'approve' | 'reject' = 'approve') => {
    const admitted = admitVote(state, people, { actor, decision, rationale: 'r' });
    if ('refused' in admitted) return admitted.refused;
    state.votes.push({ actor, role: admitted.role, decision, rationale: 'r', at: 't' });
    return undefined;
  };

  it('needs two different approver roles for a quorum of two', () => {
    const state = fresh();
    expect(cast(state, 'ann')).toBeUndefined();
    expect(isApproved(state)).toBe(false);
    expect(cast(state, 'cy')).toBe('role cto has already approved; the quorum needs a different role (head-of-safety)');
    expect(cast(state, 'bo')).toBeUndefined();
    expect(isApproved(state)).toBe(true);
  });

  it('refuses the proposer, outsiders, strangers, repeat voters and empty rationales', () => {
    const state = { ...fresh(), proposedBy: 'ann' };
    expect(cast(state, 'ann')).toMatch(/proposed this correction/);
    expect(cast(state, 'dee')).toBe('dee (ceo) may not decide on shutdown at SEV1: that needs one of head-of-safety, cto');
    expect(cast(state, 'zed')).toBe("zed is not one of the runbook's people");
    expect(cast(state, 'bo')).toBeUndefined();
    expect(cast(state, 'bo')).toBe('bo has already voted on this correction');
    expect(admitVote(state, people, { actor: 'cy', decision: 'approve', rationale: '  ' })).toEqual({ refused: 'a rationale is required' });
  });

  it('lets the escalation authority decide alone once escalated, and any authorised rejection ends it', () => {
    const state = { ...fresh(), escalated: true };
    expect(cast(state, 'dee')).toBeUndefined();
    expect(isApproved(state)).toBe(true);
    const other = fresh();
    expect(cast(other, 'bo', 'reject')).toBeUndefined();
    expect(isRejected(other)).toBe(true);
  });
});
