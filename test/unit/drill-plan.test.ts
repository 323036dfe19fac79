import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { OpenAPIV3_1 } from 'openapi-types';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../services/access/roles.js';
import { admitVote, findRule, isApproved, type Vote } from '../../services/correction/authority.js';
import { planDrill, stepAccess, type DrillAccess } from '../../services/drill/plan.js';
import { planIncident } from '../../services/incident/plan.js';
import { Runbook } from '../../services/runbook/schema.js';
import { projectRoot } from '../support/environment.js';
import { shippedRunbook, type RunbookContent } from '../support/runbooks.js';

// The roles each step's route admits, read from the published API document, as the API reads its own.
let routes: DrillAccess['routes'];
beforeAll(async () => {
  const document = JSON.parse(await readFile(path.join(projectRoot, 'docs', 'openapi.json'), 'utf8')) as OpenAPIV3_1.Document;
  routes = stepAccess(document);
});

const frontier = async (adjust: (runbook: RunbookContent) => void = () => {}) => {
  const content = await shippedRunbook('frontier-assistant');
  adjust(content);
  return Runbook.parse(content);
};
const everyone = (runbook: Runbook, roles: Role[] = ['responder', 'approver']) => new Map(runbook.people.map((p) => [p.id, roles]));
const shutdownAtSev1 = {
  severity: 'SEV1',
  correction: { kind: 'shutdown' as const, scope: { all: true as const }, parameters: {}, reason: 'drill a shutdown' },
};

describe('planDrill: every step cast to someone the real incident admits, by its rules and at its door', () => {
  it('casts a SEV1 shutdown: a commander who proposes, two approvers of different roles, the lift quorum, a sign-off by the authority over shutdowns', async () => {
    const runbook = await frontier();
    const plan = planDrill(runbook, 'v1', shutdownAtSev1, { routes, tokens: everyone(runbook) });
    expect(plan.problems).toEqual([]);
    // The escalation's first level leads; the proposer is never among the approvers.
    expect(plan.commander).toBe('amara-okafor');
    expect([...plan.approvers].sort()).toEqual(['daniel-cho', 'priya-raman']);
    expect(plan.cast!.filter((c) => c.step === 'approve').map((c) => c.role)).toEqual(expect.arrayContaining(['head-of-safety', 'cto']));
    // Each vote, replayed in the planned order through the real check, is admitted, and together they approve.
    const rule = findRule(planIncident(runbook, 'v1').authority, 'shutdown', 'SEV1')!;
    const votes: Vote[] = [];
    for (const actor of plan.approvers) {
      const admitted = admitVote({ rule, escalated: false, proposedBy: plan.commander!, votes }, planIncident(runbook, 'v1').people, {
        actor,
        decision: 'approve',
        rationale: 'drill',
      });
      expect(admitted).toHaveProperty('role');
      votes.push({ actor, role: (admitted as { role: string }).role, decision: 'approve', rationale: 'drill', at: '' });
    }
    expect(isApproved({ rule, escalated: false, proposedBy: plan.commander!, votes })).toBe(true);
    // A shutdown comes off under its own rule: the same quorum of two.
    expect(plan.lifters).toHaveLength(2);
    expect(plan.signOff).toBe('daniel-cho');
    expect(plan.cast).toContainEqual({ step: 'sign off', person: 'daniel-cho', role: 'head-of-safety', token: 'approver' });
  });

  it('orders the approvals so that each counts: the holder of one role first, the holder of both second', async () => {
    // Daniel holds both approver roles and comes first in the runbook; counted first, he would take
    // head-of-safety and leave Priya nothing to add. Only Priya first, then Daniel as cto, approves.
    const runbook = await frontier((content) => {
      const people = content.people as { id: string; roles: string[] }[];
      people.find((p) => p.id === 'daniel-cho')!.roles = ['head-of-safety', 'cto'];
      people.find((p) => p.id === 'priya-raman')!.roles = ['head-of-safety'];
    });
    const plan = planDrill(runbook, 'v1', shutdownAtSev1, { routes, tokens: everyone(runbook) });
    expect(plan.problems).toEqual([]);
    expect(plan.approvers).toEqual(['priya-raman', 'daniel-cho']);
    expect(plan.cast!.filter((c) => c.step === 'approve').map((c) => [c.person, c.role])).toEqual([
      ['priya-raman', 'head-of-safety'],
      ['daniel-cho', 'cto'],
    ]);
  });

  it('signs a rate limit off by the authority over rate limits, not by whoever may approve some other kind', async () => {
    const runbook = await frontier();
    const plan = planDrill(runbook, 'v1', {}, { routes, tokens: everyone(runbook) });
    expect(plan.correction.kind).toBe('rate_limit');
    // Jonas comes first of the people and may approve a user restriction at SEV2, but not a rate limit.
    expect(plan.signOff).toBe('sofia-marquez');
  });

  it('does not cast someone whose token the route would refuse, and says who is missing what', async () => {
    const runbook = await frontier();
    const tokens = everyone(runbook);
    tokens.set('priya-raman', ['responder']);
    const plan = planDrill(runbook, 'v1', shutdownAtSev1, { routes, tokens });
    expect(plan.approvers).toEqual([]);
    expect(plan.cast!.some((c) => c.person === 'priya-raman' && (c.step === 'approve' || c.step === 'lift'))).toBe(false);
    expect(plan.problems).toEqual([
      {
        step: 'approve',
        reason:
          '2 approvals from different people holding different roles of head-of-safety, cto are needed for shutdown at SEV1; their holders are daniel-cho (head-of-safety) and priya-raman (cto; no token for approve: approver or admin): the quorum cannot be met',
      },
      {
        step: 'lift',
        reason:
          '2 votes to lift from different people holding different roles of head-of-safety, cto are needed for shutdown at SEV1; their holders are daniel-cho (head-of-safety) and priya-raman (cto; no token for lift: approver or admin): the quorum cannot be met',
      },
    ]);
  });

  it('fails each step nobody can take when nobody holds a token, saying how to give one', async () => {
    const runbook = await frontier();
    const plan = planDrill(runbook, 'v1', shutdownAtSev1, { routes, tokens: new Map() });
    expect(plan.commander).toBeUndefined();
    expect(plan.problems!.map((p) => p.step)).toEqual(['acknowledge', 'approve', 'lift', 'sign off']);
    expect(plan.problems![0]!.reason).toBe(
      'nobody in the runbook holds a token that may acknowledge, propose, resolve and submit the review (responder or admin): the incident would have no commander; for example: correx token create --owner amara-okafor --role responder',
    );
    expect(plan.problems![3]!.reason).toBe(
      'the review of a shutdown at SEV1 is signed off by a holder of head-of-safety, cto, ceo; their holders are daniel-cho (head-of-safety; no token for sign off: approver or admin), priya-raman (cto; no token for sign off: approver or admin) and erik-lund (ceo; no token for sign off: approver or admin), so nobody can',
    );
  });

  it('says when the runbook has nobody but the proposer for a role the authority needs', async () => {
    const runbook = await frontier((content) => {
      // Only the commander-to-be may approve a rate limit.
      const people = content.people as { id: string; roles: string[] }[];
      people.find((p) => p.id === 'sofia-marquez')!.roles = ['head-of-safety'];
      people.find((p) => p.id === 'amara-okafor')!.roles = ['on-call-engineer', 'safety-engineering-manager'];
    });
    const tokens = new Map<string, Role[]>([['amara-okafor', ['responder', 'approver']]]);
    const plan = planDrill(runbook, 'v1', {}, { routes, tokens });
    expect(plan.commander).toBe('amara-okafor');
    expect(plan.problems).toContainEqual({
      step: 'approve',
      reason:
        '1 approval from a holder of safety-engineering-manager is needed for rate_limit at SEV2; nobody in the runbook but the commander amara-okafor, who proposes it, holds one',
    });
  });
});
