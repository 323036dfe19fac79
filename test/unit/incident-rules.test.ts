import { describe, expect, it } from 'vitest';
import type { AuthorityRule, Person } from '../../services/correction/authority.js';
import type { IncidentPlan } from '../../services/incident/plan.js';
import {
  acknowledgeProblem,
  classifyProblem,
  clockDue,
  closeProblem,
  lastInForce,
  liftDecided,
  liftPending,
  liftProblem,
  liftProblemBeforeVotes,
  liftProgress,
  liftRule,
  liftVote,
  mitigated,
  notYetInForce,
  proposalProblem,
  proposalRule,
  reopenedState,
  resolveProblem,
  restorationRequired,
  reviewSignOffRoles,
  reviewTaskOwner,
  reviewTasks,
  unresolved,
  type IncidentStanding,
  type LiftVotes,
} from '../../services/incident/rules.js';
import type { IncidentSnapshot, IncidentState } from '../../services/incident/schema.js';
import { regimesById } from '../../services/regulatory/catalogue.js';
import type { CorrectionLift, CorrectionProposal } from '../../workflows/incident/messages.js';

const person = (id: string, ...roles: string[]): Person => ({ id, name: id, email: `${id}@example.org`, roles });
const people = [
  person('jonas', 'incident-commander'),
  person('amara', 'on-call-engineer'),
  person('sofia', 'safety-engineering-manager'),
  person('lena', 'legal-counsel'),
  person('head', 'head-of-safety'),
];
const rule = (kind: AuthorityRule['kind'], severity: string, change: Partial<AuthorityRule> = {}): AuthorityRule => ({
  kind,
  severity,
  approverRoles: ['safety-engineering-manager', 'legal-counsel'],
  quorum: 1,
  approvalTimeoutMs: 900_000,
  escalateTo: ['head-of-safety'],
  breakGlass: { allowed: false },
  ...change,
});
const plan: IncidentStanding['plan'] = {
  people,
  authority: [
    rule('rate_limit', 'SEV2'),
    rule('shutdown', 'SEV2', { breakGlass: { allowed: true, ratificationWindowMs: 3_600_000 } }),
    rule('rate_limit', 'SEV3', { approverRoles: ['incident-commander'], escalateTo: [] }),
  ],
  restoration: {
    criteria: [
      { id: 'fix-deployed', description: 'A fix is deployed' },
      { id: 'evaluation-passed', description: 'The evaluation passes' },
    ],
    requiredFor: ['SEV1', 'SEV2'],
  },
};
type Correction = IncidentSnapshot['corrections'][number];
const correction = (id: string, state: Correction['state'], change: Partial<Correction> = {}): Correction => ({
  id,
  workflowId: `wf-${id}`,
  kind: 'rate_limit',
  severity: 'SEV2',
  state,
  breakGlass: false,
  ...change,
});
const incident = (snapshot: Partial<IncidentStanding['snapshot']> = {}, closing = false): IncidentStanding => ({
  snapshot: { incidentId: 'inc-1', state: 'acknowledged', severity: 'SEV2', commander: 'jonas', corrections: [], ...snapshot },
  plan,
  closing,
});
const at = '2026-11-22T10:00:00.000Z';
const states: IncidentState[] = ['triggered', 'acknowledged', 'mitigating', 'mitigated', 'resolved', 'closed'];

describe('unresolved: the states before resolved', () => {
  it('holds until the incident is resolved', () => {
    expect(states.filter(unresolved)).toEqual(['triggered', 'acknowledged', 'mitigating', 'mitigated']);
  });
});

describe('acknowledgeProblem', () => {
  it('lets one of the runbook people acknowledge a triggered incident', () => {
    expect(acknowledgeProblem(incident({ state: 'triggered', commander: undefined }), { actor: 'amara', at })).toBeUndefined();
  });
  it('refuses someone who is not one of the runbook people', () => {
    expect(acknowledgeProblem(incident({ state: 'triggered', commander: undefined }), { actor: 'mallory', at })).toBe(
      "mallory is not one of the runbook's people",
    );
  });
  it('refuses a second acknowledgement, naming the commander', () => {
    expect(acknowledgeProblem(incident({ state: 'acknowledged', commander: 'jonas' }), { actor: 'amara', at })).toBe(
      'incident is already acknowledged (commander: jonas)',
    );
    expect(acknowledgeProblem(incident({ state: 'resolved', commander: 'jonas' }), { actor: 'amara', at })).toBe(
      'incident is already resolved (commander: jonas)',
    );
  });
  it('refuses an incident acknowledged at its source, which has no commander', () => {
    expect(acknowledgeProblem(incident({ state: 'acknowledged', commander: undefined }), { actor: 'amara', at })).toBe('incident is already acknowledged');
  });
});

describe('proposalProblem and proposalRule', () => {
  const proposal = (change: Partial<CorrectionProposal> = {}): CorrectionProposal => ({
    actor: 'amara',
    at,
    kind: 'rate_limit',
    scope: { all: true },
    parameters: { requestsPerMinute: 10 },
    reason: 'slow the abuse down',
    ...change,
  });

  it('lets a person propose from acknowledged until resolved, under the rule for the incident severity', () => {
    for (const state of ['acknowledged', 'mitigating', 'mitigated'] as const) expect(proposalProblem(incident({ state }), proposal())).toBeUndefined();
    expect(proposalRule(incident(), 'rate_limit')).toBe(plan.authority[0]);
    expect(proposalRule(incident({ severity: 'SEV3' }), 'rate_limit')).toBe(plan.authority[2]);
  });
  it('lets the commander use break-glass where the rule allows it', () => {
    expect(proposalProblem(incident(), proposal({ actor: 'jonas', kind: 'shutdown', parameters: {}, breakGlass: true }))).toBeUndefined();
  });
  it('refuses someone who is not one of the runbook people', () => {
    expect(proposalProblem(incident(), proposal({ actor: 'mallory' }))).toBe("mallory is not one of the runbook's people");
  });
  it('refuses before the incident is acknowledged', () => {
    expect(proposalProblem(incident({ state: 'triggered', commander: undefined }), proposal())).toBe('acknowledge the incident before proposing corrections');
  });
  it('refuses once the incident is resolved or closed', () => {
    expect(proposalProblem(incident({ state: 'resolved' }), proposal())).toBe('incident is resolved; corrections can no longer be proposed');
    expect(proposalProblem(incident({ state: 'closed' }), proposal())).toBe('incident is closed; corrections can no longer be proposed');
  });
  it('refuses a kind the runbook gives no authority for at this severity', () => {
    expect(proposalRule(incident(), 'rollback')).toBeUndefined();
    expect(proposalProblem(incident(), proposal({ kind: 'rollback', parameters: { targetVersion: 'v1' } }))).toBe(
      'the runbook gives no decision authority for rollback at SEV2',
    );
    expect(proposalProblem(incident({ severity: 'SEV4' }), proposal())).toBe('the runbook gives no decision authority for rate_limit at SEV4');
  });
  it('refuses break-glass where the rule does not allow it, even to the commander', () => {
    expect(proposalProblem(incident(), proposal({ actor: 'jonas', breakGlass: true }))).toBe('break-glass is not allowed for rate_limit at SEV2');
  });
  it('refuses break-glass to anyone but the commander', () => {
    expect(proposalProblem(incident(), proposal({ kind: 'shutdown', parameters: {}, breakGlass: true }))).toBe(
      'only the incident commander (jonas) may use break-glass',
    );
  });
});

describe('resolveProblem', () => {
  it('lets a person resolve from acknowledged until resolved', () => {
    for (const state of ['acknowledged', 'mitigating', 'mitigated'] as const)
      expect(resolveProblem(incident({ state }), { actor: 'amara', at })).toBeUndefined();
  });
  it('refuses someone who is not one of the runbook people', () => {
    expect(resolveProblem(incident(), { actor: 'mallory', at })).toBe("mallory is not one of the runbook's people");
  });
  it('refuses before the incident is acknowledged', () => {
    expect(resolveProblem(incident({ state: 'triggered', commander: undefined }), { actor: 'amara', at })).toBe('acknowledge the incident before resolving it');
  });
  it('refuses an incident already resolved or closed', () => {
    expect(resolveProblem(incident({ state: 'resolved' }), { actor: 'amara', at })).toBe('incident is already resolved');
    expect(resolveProblem(incident({ state: 'closed' }), { actor: 'amara', at })).toBe('incident is already closed');
  });
});

describe('lastInForce and restorationRequired', () => {
  it('counts other corrections in force, awaiting ratification, applying or approved, not proposed or over', () => {
    for (const state of ['active', 'awaiting-ratification', 'applying', 'approved'] as const) {
      expect(lastInForce({ corrections: [correction('a', 'active'), correction('b', state)] }, 'a')).toBe(false);
    }
    for (const state of ['proposed', 'lifting', 'lifted', 'rejected', 'expired'] as const) {
      expect(lastInForce({ corrections: [correction('a', 'active'), correction('b', state)] }, 'a')).toBe(true);
    }
  });
  it('requires the restoration criteria for the last correction of a severity the runbook names', () => {
    expect(restorationRequired(incident({ corrections: [correction('a', 'active')] }), 'a')).toBe(true);
    expect(restorationRequired(incident({ severity: 'SEV3', corrections: [correction('a', 'active', { severity: 'SEV3' })] }), 'a')).toBe(false);
    expect(restorationRequired(incident({ corrections: [correction('a', 'active'), correction('b', 'active')] }), 'a')).toBe(false);
  });
});

// How lifts were checked before they took a quorum; runs from before replay their lifts with it.
describe('liftProblemBeforeVotes', () => {
  const liftProblem = liftProblemBeforeVotes;
  const lift = (change: Partial<CorrectionLift> = {}): CorrectionLift => ({ correctionId: 'a', actor: 'sofia', at, rationale: 'fixed upstream', ...change });
  const criteria = [
    { criterion: 'fix-deployed', evidence: 'deploy 4821' },
    { criterion: 'evaluation-passed', evidence: 'run 77' },
  ];
  const two = incident({ state: 'mitigated', corrections: [correction('a', 'active'), correction('b', 'awaiting-ratification')] });
  const last = incident({ state: 'mitigated', corrections: [correction('a', 'active'), correction('b', 'lifted')] });

  it('lets an approver or the escalation authority lift a correction in force that is not the last', () => {
    expect(liftProblem(two, lift())).toBeUndefined();
    expect(liftProblem(two, lift({ actor: 'head' }))).toBeUndefined();
    expect(liftProblem(two, lift({ correctionId: 'b', actor: 'lena' }))).toBeUndefined();
  });
  it('lets the last correction come off with evidence for every restoration criterion', () => {
    expect(liftProblem(last, lift({ restoration: criteria }))).toBeUndefined();
  });
  it('lets the last correction of a severity without restoration criteria come off without them', () => {
    expect(
      liftProblem(incident({ severity: 'SEV3', corrections: [correction('a', 'active', { severity: 'SEV3' })] }), lift({ actor: 'jonas' })),
    ).toBeUndefined();
  });
  it('refuses a correction the incident does not have', () => {
    expect(liftProblem(two, lift({ correctionId: 'zzz' }))).toBe('incident inc-1 has no correction zzz');
  });
  it('refuses a correction that is not in force', () => {
    expect(liftProblem(incident({ corrections: [correction('a', 'proposed')] }), lift())).toBe('correction a is not in force (it is proposed)');
    expect(liftProblem(incident({ corrections: [correction('a', 'lifting')] }), lift())).toBe('correction a is not in force (it is lifting)');
  });
  it('refuses anyone without an approver or escalation role for that kind, naming the roles', () => {
    const refusal = 'may not lift a rate_limit correction: that needs one of safety-engineering-manager, legal-counsel, head-of-safety';
    expect(liftProblem(two, lift({ actor: 'amara' }))).toBe(`amara ${refusal}`);
    expect(liftProblem(two, lift({ actor: 'mallory' }))).toBe(`mallory ${refusal}`);
  });
  it('refuses everyone when the runbook has no rule for the correction any more', () => {
    expect(liftProblem(incident({ corrections: [correction('a', 'active', { kind: 'rollback' })] }), lift())).toBe(
      'sofia may not lift a rollback correction: that needs one of ',
    );
  });
  it('refuses a lift without a rationale', () => {
    expect(liftProblem(two, lift({ rationale: '  ' }))).toBe('a rationale is required');
  });
  it('refuses the last correction of a severe incident until the restoration criteria are met, naming the missing ones', () => {
    const refusal = 'lifting the last correction of a SEV2 incident restores service: record the restoration criteria as met first (missing: ';
    expect(liftProblem(last, lift())).toBe(`${refusal}fix-deployed: A fix is deployed; evaluation-passed: The evaluation passes)`);
    expect(liftProblem(last, lift({ restoration: [criteria[0]!] }))).toBe(`${refusal}evaluation-passed: The evaluation passes)`);
    // A criterion with blank evidence is not met.
    expect(liftProblem(last, lift({ restoration: [criteria[0]!, { criterion: 'evaluation-passed', evidence: ' ' }] }))).toBe(
      `${refusal}evaluation-passed: The evaluation passes)`,
    );
  });
});

describe('liftVote: lifting takes the authority and quorum of applying unless the runbook says otherwise', () => {
  const lift = (change: Partial<CorrectionLift> = {}): CorrectionLift => ({ correctionId: 'a', actor: 'sofia', at, rationale: 'fixed upstream', ...change });
  const criteria = [
    { criterion: 'fix-deployed', evidence: 'deploy 4821' },
    { criterion: 'evaluation-passed', evidence: 'run 77' },
  ];
  const vote = (actor: string, role: string) => ({ actor, role, decision: 'approve' as const, rationale: 'done', at });
  /** An incident whose correction `a` (a shutdown at SEV2, proposed by jonas) has these lift votes. */
  const shutdown = (votes: Partial<LiftVotes> = {}, others: Correction[] = [correction('b', 'active')], withPlan: Partial<IncidentStanding['plan']> = {}) => {
    const standing = incident({ state: 'mitigated', corrections: [correction('a', 'active', { kind: 'shutdown' }), ...others] });
    return {
      ...standing,
      plan: { ...plan, authority: [...plan.authority.filter((r) => r.kind !== 'shutdown'), rule('shutdown', 'SEV2', { quorum: 2 })], ...withPlan },
      lifts: new Map([['a', { proposedBy: 'jonas', escalated: false, votes: [], restoration: [], ...votes }]]),
    };
  };

  it('counts a vote from an approver role, and lifts only at the quorum, from a second person in another role', () => {
    expect(liftVote(shutdown(), lift())).toEqual({ role: 'safety-engineering-manager' });
    const one = shutdown({ votes: [vote('sofia', 'safety-engineering-manager')] });
    expect(liftDecided(one, 'a')).toBe(false);
    expect(liftPending(one, 'a')).toBe(true);
    expect(liftVote(one, lift({ actor: 'lena' }))).toEqual({ role: 'legal-counsel' });
    const both = shutdown({ votes: [vote('sofia', 'safety-engineering-manager'), vote('lena', 'legal-counsel')] });
    expect(liftDecided(both, 'a')).toBe(true);
    expect(liftPending(both, 'a')).toBe(false);
  });
  it('refuses the proposer, a second vote from the same person or role, and anyone outside the rule, like an approval', () => {
    expect(liftProblem(shutdown(), lift({ actor: 'jonas' }))).toBe('jonas proposed this correction and cannot lift it (separation of duties)');
    const one = shutdown({ votes: [vote('sofia', 'safety-engineering-manager')] });
    expect(liftProblem(one, lift())).toBe('sofia has already voted to lift this correction');
    const sameRole = { ...one, plan: { ...one.plan, people: [...people, person('sam', 'safety-engineering-manager')] } };
    expect(liftProblem(sameRole, lift({ actor: 'sam' }))).toBe(
      'role safety-engineering-manager has already voted to lift; the quorum needs a different role (legal-counsel)',
    );
    expect(liftProblem(shutdown(), lift({ actor: 'amara' }))).toBe(
      'amara (on-call-engineer) may not lift shutdown at SEV2: that needs one of safety-engineering-manager, legal-counsel',
    );
    expect(liftProblem(shutdown(), lift({ actor: 'mallory' }))).toBe("mallory is not one of the runbook's people");
    expect(liftProblem(shutdown(), lift({ rationale: ' ' }))).toBe('a rationale is required');
  });
  it('lets the escalation authority lift alone only once the lift has escalated', () => {
    expect(liftProblem(shutdown(), lift({ actor: 'head' }))).toBe(
      'head (head-of-safety) may not lift shutdown at SEV2: that needs one of safety-engineering-manager, legal-counsel',
    );
    const escalated = shutdown({ escalated: true, votes: [vote('sofia', 'safety-engineering-manager')] });
    expect(liftVote(escalated, lift({ actor: 'head' }))).toEqual({ role: 'head-of-safety' });
    expect(liftDecided(shutdown({ escalated: true, votes: [vote('sofia', 'safety-engineering-manager'), vote('head', 'head-of-safety')] }), 'a')).toBe(true);
  });
  it("follows the runbook's liftAuthority where it differs from the apply rule", () => {
    const lifting = [rule('shutdown', 'SEV2', { approverRoles: ['head-of-safety'], quorum: 1, escalateTo: ['legal-counsel'] })];
    const own = shutdown({}, undefined, { lifting });
    expect(liftRule(own, { kind: 'shutdown', severity: 'SEV2' })).toEqual(lifting[0]);
    expect(liftVote(own, lift({ actor: 'head' }))).toEqual({ role: 'head-of-safety' });
    expect(liftDecided(shutdown({ votes: [vote('head', 'head-of-safety')] }, undefined, { lifting }), 'a')).toBe(true);
    expect(liftProblem(own, lift())).toBe('sofia (safety-engineering-manager) may not lift shutdown at SEV2: that needs one of head-of-safety');
    // A plan from before liftAuthority existed lifts under the apply rule.
    expect(liftRule(shutdown(), { kind: 'shutdown', severity: 'SEV2' })).toMatchObject({
      quorum: 2,
      approverRoles: ['safety-engineering-manager', 'legal-counsel'],
    });
  });
  it("accepts only the runbook's restoration criteria, naming them", () => {
    expect(liftProblem(shutdown(), lift({ restoration: [{ criterion: 'vibes-ok', evidence: 'it feels fine' }] }))).toBe(
      "restoration: 'vibes-ok' is not a restoration criterion of the runbook; its criteria are fix-deployed: A fix is deployed; evaluation-passed: The evaluation passes",
    );
    expect(
      liftProblem(
        shutdown(),
        lift({
          restoration: [
            { criterion: 'vibes-ok', evidence: 'x' },
            { criterion: 'gut', evidence: 'y' },
          ],
        }),
      ),
    ).toMatch(/^restoration: 'vibes-ok', 'gut' are not restoration criteria of the runbook; its criteria are fix-deployed: /);
    const none = shutdown({}, undefined, { restoration: { criteria: [], requiredFor: [] } });
    expect(liftProblem(none, lift({ restoration: [{ criterion: 'fix-deployed', evidence: 'x' }] }))).toBe(
      "restoration: the runbook defines no restoration criteria, so 'fix-deployed' cannot be recorded",
    );
  });
  it('needs the restoration evidence for the last correction, counting what earlier votes on the lift gave', () => {
    const last = shutdown({}, []);
    expect(liftProblem(last, lift())).toMatch(/^lifting the last correction of a SEV2 incident restores service: record the restoration criteria as met first/);
    expect(liftProblem(last, lift({ restoration: criteria }))).toBeUndefined();
    const given = shutdown({ votes: [vote('sofia', 'safety-engineering-manager')], restoration: criteria }, []);
    expect(liftProblem(given, lift({ actor: 'lena' }))).toBeUndefined();
  });
  it('says where the lift stands: the votes, how many are missing, and who can give them', () => {
    const one = shutdown({ votes: [vote('sofia', 'safety-engineering-manager')] });
    expect(liftProgress(one, 'a')).toEqual({
      correctionId: 'a',
      decided: false,
      quorum: 2,
      votes: [{ actor: 'sofia', role: 'safety-engineering-manager', rationale: 'done', at }],
      needed: 1,
      roles: ['legal-counsel'],
      people: ['lena'],
      escalated: false,
      escalatesAt: '2026-11-22T10:15:00.000Z',
      escalateTo: ['head-of-safety'],
    });
    expect(liftProgress(shutdown({ escalated: true, votes: [vote('sofia', 'safety-engineering-manager')] }), 'a')).toMatchObject({
      roles: ['legal-counsel', 'head-of-safety'],
      people: ['lena', 'head'],
      escalatesAt: null,
    });
    const both = shutdown({ votes: [vote('sofia', 'safety-engineering-manager'), vote('lena', 'legal-counsel')] });
    expect(liftProgress(both, 'a')).toMatchObject({ decided: true, needed: 0, roles: [], people: [], escalatesAt: null });
  });
});

describe('classifyProblem', () => {
  const classification = { actor: 'lena', at, classes: ['fundamental-rights'], reason: 'users denied credit' };
  it('lets a person classify an open incident, also when resolved', () => {
    expect(classifyProblem(incident(), classification)).toBeUndefined();
    expect(classifyProblem(incident({ state: 'resolved' }), classification)).toBeUndefined();
  });
  it('refuses someone who is not one of the runbook people', () => {
    expect(classifyProblem(incident(), { ...classification, actor: 'mallory' })).toBe("mallory is not one of the runbook's people");
  });
  it('refuses a closed incident, and one whose close is under way', () => {
    expect(classifyProblem(incident({ state: 'closed' }), classification)).toBe('incident is closed');
    expect(classifyProblem(incident({ state: 'resolved' }, true), classification)).toBe('incident is closed');
  });
  it('refuses a classification without a reason', () => {
    expect(classifyProblem(incident(), { ...classification, reason: ' ' })).toBe('a reason is required: it is recorded with the classification');
  });
});

describe('closeProblem', () => {
  it('lets a person close an incident whose corrections are all over', () => {
    expect(closeProblem(incident({ state: 'resolved' }), { actor: 'jonas', at })).toBeUndefined();
    const over = [correction('a', 'lifted'), correction('b', 'rejected'), correction('c', 'expired')];
    expect(closeProblem(incident({ state: 'mitigated', corrections: over }), { actor: 'jonas', at })).toBeUndefined();
  });
  it('refuses someone who is not one of the runbook people', () => {
    expect(closeProblem(incident({ state: 'resolved' }), { actor: 'mallory', at })).toBe("mallory is not one of the runbook's people");
  });
  it('refuses a closed incident, and one whose close is under way', () => {
    expect(closeProblem(incident({ state: 'closed' }), { actor: 'jonas', at })).toBe('incident is already closed');
    expect(closeProblem(incident({ state: 'resolved' }, true), { actor: 'jonas', at })).toBe('incident is already closed');
  });
  it('refuses while corrections are pending or in force, listing them', () => {
    const corrections = [correction('a', 'lifted'), correction('b', 'proposed'), correction('c', 'active', { kind: 'shutdown' })];
    expect(closeProblem(incident({ state: 'mitigated', corrections }), { actor: 'jonas', at })).toBe(
      '2 correction(s) still pending or in force (rate_limit b: proposed, shutdown c: active); lift or reject them first',
    );
    for (const state of ['approved', 'applying', 'applied', 'awaiting-ratification', 'lifting'] as const) {
      expect(closeProblem(incident({ corrections: [correction('a', state)] }), { actor: 'jonas', at })).toBe(
        `1 correction(s) still pending or in force (rate_limit a: ${state}); lift or reject them first`,
      );
    }
  });
});

describe('the incident moving on its own', () => {
  it('is mitigated while mitigating with a correction in force', () => {
    expect(mitigated({ state: 'mitigating', corrections: [correction('a', 'active')] })).toBe(true);
    expect(mitigated({ state: 'mitigating', corrections: [correction('a', 'awaiting-ratification')] })).toBe(true);
    expect(mitigated({ state: 'mitigating', corrections: [correction('a', 'applying')] })).toBe(false);
    expect(mitigated({ state: 'mitigated', corrections: [correction('a', 'active')] })).toBe(false);
  });
  it('goes back to acknowledged when reopened with a commander, else to triggered', () => {
    expect(reopenedState({ commander: 'jonas' })).toBe('acknowledged');
    expect(reopenedState({ commander: undefined })).toBe('triggered');
  });
  it('starts a regime clock once one of its classes is given, and only once', () => {
    const regime = { id: 'eu-ai-act', triggerClasses: ['death' as const, 'fundamental-rights' as const] };
    expect(clockDue({ classification: [], regulatoryClocks: [] }, regime)).toBe(false);
    expect(clockDue({ classification: ['cybersecurity-breach'], regulatoryClocks: [] }, regime)).toBe(false);
    expect(clockDue({ classification: ['fundamental-rights'], regulatoryClocks: [] }, regime)).toBe(true);
    expect(clockDue({ classification: ['fundamental-rights'], regulatoryClocks: [{ regimeId: 'eu-ai-act', workflowId: 'clock' }] }, regime)).toBe(false);
  });
});

describe('the after-action review', () => {
  const review: IncidentPlan['review'] = {
    tasks: [
      { templateId: 'timeline', title: 'Write the timeline', ownerRole: 'incident-commander', dueAfterMs: 86_400_000 },
      { templateId: 'eval', title: 'Add a regression evaluation', ownerRole: 'safety-engineering-manager', dueAfterMs: 3_600_000 },
      { templateId: 'orphan', title: 'Nobody holds this role', ownerRole: 'auditor', dueAfterMs: 0 },
    ],
    managers: {},
  };
  it('gives each task to the commander when they hold its role, else to the first holder', () => {
    const both = [
      person('amara', 'incident-commander'),
      person('jonas', 'incident-commander', 'safety-engineering-manager'),
      person('sofia', 'safety-engineering-manager'),
    ];
    expect(reviewTaskOwner({ commander: 'jonas' }, { people: both }, 'safety-engineering-manager')).toBe('jonas');
    expect(reviewTaskOwner({ commander: 'amara' }, { people: both }, 'safety-engineering-manager')).toBe('jonas');
    expect(reviewTaskOwner({ commander: undefined }, { people: both }, 'incident-commander')).toBe('amara');
    expect(reviewTaskOwner({ commander: 'jonas' }, { people: both }, 'auditor')).toBeUndefined();
  });
  it('makes the runbook tasks due their time after the resolution', () => {
    expect(reviewTasks({ commander: 'jonas' }, { people, review }, at)).toEqual([
      { key: 'timeline', title: 'Write the timeline', ownerRole: 'incident-commander', owner: 'jonas', dueAt: '2026-11-23T10:00:00.000Z', origin: 'template' },
      {
        key: 'eval',
        title: 'Add a regression evaluation',
        ownerRole: 'safety-engineering-manager',
        owner: 'sofia',
        dueAt: '2026-11-22T11:00:00.000Z',
        origin: 'template',
      },
      { key: 'orphan', title: 'Nobody holds this role', ownerRole: 'auditor', owner: undefined, dueAt: at, origin: 'template' },
    ]);
  });
  it('without corrections, is signed off by the approver and escalation roles of every rule at the incident severity', () => {
    expect(reviewSignOffRoles({ severity: 'SEV2', corrections: [] }, plan)).toEqual(['safety-engineering-manager', 'legal-counsel', 'head-of-safety']);
    expect(reviewSignOffRoles({ severity: 'SEV3', corrections: [] }, plan)).toEqual(['incident-commander']);
    expect(reviewSignOffRoles({ severity: 'SEV4', corrections: [] }, plan)).toEqual([]);
  });
  it('with corrections, is signed off by the authority over their kinds at the incident severity only', () => {
    const byKind = {
      authority: [
        rule('user_restriction', 'SEV1', { approverRoles: ['incident-commander'], escalateTo: ['safety-engineering-manager'] }),
        rule('shutdown', 'SEV1', { approverRoles: ['head-of-safety', 'legal-counsel'], quorum: 2, escalateTo: ['ceo'] }),
        rule('shutdown', 'SEV2', { approverRoles: ['safety-engineering-manager'] }),
      ],
    };
    expect(reviewSignOffRoles({ severity: 'SEV1', corrections: [correction('a', 'lifted', { kind: 'shutdown', severity: 'SEV1' })] }, byKind)).toEqual([
      'head-of-safety',
      'legal-counsel',
      'ceo',
    ]);
    expect(reviewSignOffRoles({ severity: 'SEV1', corrections: [] }, byKind)).toEqual([
      'incident-commander',
      'safety-engineering-manager',
      'head-of-safety',
      'legal-counsel',
      'ceo',
    ]);
  });
});

describe('regimes not yet in force', () => {
  it("New York's RAISE Act starts no clock before 1 January 2027, and does from that day", () => {
    const raise = regimesById.get('us-ny-raise')!;
    expect(notYetInForce(raise, '2026-12-31T23:59:59.999Z')).toBe('2027-01-01');
    expect(notYetInForce(raise, '2027-01-01T00:00:00.000Z')).toBeUndefined();
    expect(notYetInForce(regimesById.get('us-ca-sb53')!, '2026-12-02T10:00:00Z')).toBeUndefined();
  });
});
