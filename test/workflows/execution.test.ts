import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidInput } from '../../services/errors.js';
import { listTimeline } from '../../services/timeline/repository.js';
import { eventually } from '../support/database.js';
import { useIncidentStack } from '../support/stack.js';

const secret = 'test-webhook-secret-0123456789';

describe('execution: sign-offs and deployment corrections on real Temporal, PostgreSQL and a webhook listener', () => {
  const stack = useIncidentStack({
    controlEndpoint: { secret },
    runbooks: { 'frontier-assistant': { from: 'frontier-assistant', adjust: (runbook) => stack.routeToEndpoint(runbook, { enforcement: true }) } },
    api: true,
  });
  let gateway: string;

  beforeAll(async () => {
    gateway = await stack.api.token('edge-gateway', ['gateway']);
  });

  const now = () => new Date().toISOString();
  const decideAt = async (question: Record<string, string>) => {
    const response = await fetch(`${stack.api.url}/v1/decide`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${gateway}` },
      body: JSON.stringify({ systemId: 'frontier-assistant', ...question }),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as { decision: string; limit?: { requestsPerMinute: number } };
  };
  /**
   * Gateways are answered from each API instance's policy in memory, which follows a change within its
   * staleness bound (1 s): a correction that just took effect (or was lifted) must show within it.
   */
  const decidesWithinBound = async (question: Record<string, string>, expected: string) => {
    const since = Date.now();
    for (;;) {
      const answer = await decideAt(question);
      if (answer.decision === expected) return answer;
      expect(Date.now() - since, `still ${answer.decision}, not ${expected}, after the 1 s bound`).toBeLessThan(1_000);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  const openIncident = async (dedupKey: string, severity = 'SEV2') => {
    const opened = await stack.clients.incidents.trigger(
      { systemId: 'frontier-assistant', title: `Jailbreaks (${dedupKey})`, severity, dedupKey },
      'amara-okafor',
      { runbookVersion: stack.runbookVersion() },
    );
    return opened;
  };
  const correctionState = (workflowId: string, state: string) =>
    eventually(async () => {
      const snapshot = await stack.clients.corrections.state(workflowId);
      return snapshot.state === state ? snapshot : undefined;
    });

  it('takes a SEV2 from trigger through page, acknowledgement, approval, one application, verification and decide, to lift', async () => {
    const incident = await openIncident('sev2-path');
    const page = await eventually(() =>
      stack.db.selectFrom('pages').selectAll().where('target', '=', 'amara-okafor').where('sent_at', 'is not', null).executeTakeFirst(),
    );
    expect(page.escalation_level).toBe(1);

    await stack.clients.incidents.acknowledge(incident.workflowId, { actor: 'amara-okafor', at: now() });
    const proposed = await stack.clients.incidents.propose(incident.workflowId, {
      actor: 'amara-okafor',
      at: now(),
      kind: 'rate_limit',
      scope: { tiers: ['free'] },
      parameters: { requestsPerMinute: 10, per: 'user' },
      reason: 'Slow the automated jailbreak campaign from free accounts',
    });
    expect((await stack.clients.incidents.state(incident.workflowId)).state).toBe('mitigating');
    expect(stack.endpoint.requests.filter((r) => r.correctionId === proposed.correctionId)).toHaveLength(0);
    expect((await decideAt({ tier: 'free' })).decision).toBe('allow');

    const afterVote = await stack.clients.corrections.decide(proposed.workflowId, {
      actor: 'sofia-marquez',
      at: now(),
      decision: 'approve',
      rationale: 'Contained and reversible',
    });
    expect(afterVote.votes).toEqual([expect.objectContaining({ actor: 'sofia-marquez', role: 'safety-engineering-manager', decision: 'approve' })]);
    await correctionState(proposed.workflowId, 'active');

    expect(stack.endpoint.applied.filter((key) => key === `${proposed.correctionId}:apply`)).toHaveLength(1);
    expect(stack.endpoint.requests.filter((r) => r.correctionId === proposed.correctionId && r.action === 'apply')).toHaveLength(1);
    expect(stack.endpoint.rejectedSignatures).toHaveLength(0);
    expect(await decidesWithinBound({ tier: 'free', userId: 'u1' }, 'throttle')).toMatchObject({
      decision: 'throttle',
      limit: { requestsPerMinute: 10, per: 'user' },
    });
    expect((await decideAt({ tier: 'pro', userId: 'u2' })).decision).toBe('allow');
    await eventually(async () => ((await stack.clients.incidents.state(incident.workflowId)).state === 'mitigated' ? true : undefined));

    const policy = await fetch(`${stack.api.url}/v1/policy/frontier-assistant`, { headers: { authorization: `Bearer ${gateway}` } });
    const etag = policy.headers.get('etag');
    expect(((await policy.json()) as { corrections: { id: string }[] }).corrections.map((c) => c.id)).toEqual([proposed.correctionId]);
    expect(
      (await fetch(`${stack.api.url}/v1/policy/frontier-assistant`, { headers: { 'if-none-match': etag!, authorization: `Bearer ${gateway}` } })).status,
    ).toBe(304);

    const lift = { correctionId: proposed.correctionId, actor: 'sofia-marquez', at: now(), rationale: 'Campaign over; fix deployed' };
    // Lifting is voted like approving: not by the proposer, and only by the rule's roles.
    await expect(stack.clients.incidents.lift(incident.workflowId, { ...lift, actor: 'amara-okafor' })).rejects.toThrow(
      'amara-okafor proposed this correction and cannot lift it (separation of duties)',
    );
    await expect(stack.clients.incidents.lift(incident.workflowId, { ...lift, actor: 'jonas-berg' })).rejects.toThrow(
      'jonas-berg (on-call-engineer, incident-commander) may not lift rate_limit at SEV2: that needs one of safety-engineering-manager',
    );
    // The last correction of a SEV2 (restoration required by the runbook) needs the restoration criteria met.
    await expect(
      stack.clients.incidents.lift(incident.workflowId, { ...lift, restoration: [{ criterion: 'fix-deployed', evidence: 'deploy 4821' }] }),
    ).rejects.toThrow(
      'lifting the last correction of a SEV2 incident restores service: record the restoration criteria as met first (missing: evaluation-passed: The red-team evaluation that found the issue passes on the fixed model)',
    );
    expect(stack.endpoint.applied).not.toContain(`${proposed.correctionId}:lift`);
    await stack.clients.incidents.lift(incident.workflowId, {
      ...lift,
      restoration: [
        { criterion: 'fix-deployed', evidence: 'deploy 4821 of the jailbreak classifier' },
        { criterion: 'evaluation-passed', evidence: 'red-team run 77: 0 of 400 probes succeeded' },
      ],
    });
    await correctionState(proposed.workflowId, 'lifted');
    expect(stack.endpoint.applied).toContain(`${proposed.correctionId}:lift`);
    await decidesWithinBound({ tier: 'free', userId: 'u1' }, 'allow');
    expect(
      (await fetch(`${stack.api.url}/v1/policy/frontier-assistant`, { headers: { 'if-none-match': etag!, authorization: `Bearer ${gateway}` } })).status,
    ).toBe(200);

    const timeline = await listTimeline(stack.db, incident.incidentId);
    expect(timeline.map((e) => e.seq)).toEqual(timeline.map((_, i) => i + 1));
    const kinds = timeline.map((e) => e.kind);
    expect(timeline.find((e) => e.kind === 'incident.restoration_recorded')).toMatchObject({
      actor: 'sofia-marquez',
      data: { correctionId: proposed.correctionId },
    });
    for (const kind of [
      'incident.opened',
      'page.sent',
      'incident.acknowledged',
      'correction.proposed',
      'incident.mitigating',
      'correction.approval_given',
      'correction.approved',
      'correction.applied',
      'correction.verified',
      'incident.mitigated',
      'correction.lift_decided',
      'correction.lifted',
    ]) {
      expect(kinds, kind).toContain(kind);
    }
    expect(kinds.indexOf('correction.approved')).toBeLessThan(kinds.indexOf('correction.applied'));
    expect(kinds.indexOf('correction.applied')).toBeLessThan(kinds.indexOf('correction.verified'));
    expect(timeline.find((e) => e.kind === 'correction.lift_decided')?.actor).toBe('sofia-marquez');
  });

  it('refuses self-approval, an unauthorised role, a duplicate vote and a decision on a closed correction, each with its reason, changing nothing', async () => {
    const incident = await openIncident('refusals');
    await stack.clients.incidents.acknowledge(incident.workflowId, { actor: 'jonas-berg', at: now() });
    await expect(
      stack.clients.incidents.propose(incident.workflowId, {
        actor: 'amara-okafor',
        at: now(),
        kind: 'shutdown',
        scope: { all: true },
        parameters: {},
        reason: 'x',
        breakGlass: true,
      }),
    ).rejects.toThrow('only the incident commander (jonas-berg) may use break-glass');
    await expect(
      stack.clients.incidents.propose(incident.workflowId, {
        actor: 'jonas-berg',
        at: now(),
        kind: 'rate_limit',
        scope: { all: true },
        parameters: { requestsPerMinute: 1 },
        reason: 'x',
        breakGlass: true,
      }),
    ).rejects.toThrow('break-glass is not allowed for rate_limit at SEV2');

    await expect(
      stack.clients.incidents.propose(incident.workflowId, {
        actor: 'jonas-berg',
        at: now(),
        kind: 'rate_limit',
        scope: { tiers: [] },
        parameters: { requestsPerMinute: -5 },
        reason: 'x',
      }),
    ).rejects.toSatisfy(
      (error) =>
        error instanceof InvalidInput &&
        error.errors
          .map((e) => e.path)
          .sort()
          .join(',') === 'parameters.requestsPerMinute,scope.tiers',
    );

    const rateLimit = await stack.clients.incidents.propose(incident.workflowId, {
      actor: 'sofia-marquez',
      at: now(),
      kind: 'rate_limit',
      scope: { orgs: ['acme'] },
      parameters: { requestsPerMinute: 5, per: 'org' },
      reason: 'Abuse from one org',
    });
    const restriction = await stack.clients.incidents.propose(incident.workflowId, {
      actor: 'amara-okafor',
      at: now(),
      kind: 'user_restriction',
      scope: { users: ['attacker-1'] },
      parameters: { mode: 'blocklist' },
      reason: 'Block the account',
    });
    await stack.clients.corrections.decide(restriction.workflowId, {
      actor: 'sofia-marquez',
      at: now(),
      decision: 'reject',
      rationale: 'Account already suspended upstream',
    });
    await correctionState(restriction.workflowId, 'rejected');

    const countVotes = async () =>
      Number(
        (
          await stack.db
            .selectFrom('approvals')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const timelineLength = async () => (await listTimeline(stack.db, incident.incidentId)).length;
    const votesBefore = await countVotes();
    const eventsBefore = await timelineLength();

    await expect(
      stack.clients.corrections.decide(rateLimit.workflowId, { actor: 'sofia-marquez', at: now(), decision: 'approve', rationale: 'ok' }),
    ).rejects.toThrow('sofia-marquez proposed this correction and cannot decide on it (separation of duties)');
    await expect(
      stack.clients.corrections.decide(rateLimit.workflowId, { actor: 'amara-okafor', at: now(), decision: 'approve', rationale: 'ok' }),
    ).rejects.toThrow('amara-okafor (on-call-engineer) may not decide on rate_limit at SEV2: that needs one of safety-engineering-manager');
    await expect(
      stack.clients.corrections.decide(restriction.workflowId, { actor: 'li-wei', at: now(), decision: 'approve', rationale: 'ok' }),
    ).rejects.toThrow(`correction ${restriction.correctionId} is no longer pending a decision (it is rejected)`);

    const shutdown = await stack.clients.incidents.propose(incident.workflowId, {
      actor: 'jonas-berg',
      at: now(),
      kind: 'shutdown',
      scope: { all: true },
      parameters: {},
      reason: 'Stop serving',
    });
    await stack.clients.corrections.decide(shutdown.workflowId, { actor: 'daniel-cho', at: now(), decision: 'approve', rationale: 'Harm is spreading' });
    const votesAfterFirst = await countVotes();
    await expect(
      stack.clients.corrections.decide(shutdown.workflowId, { actor: 'daniel-cho', at: now(), decision: 'approve', rationale: 'again' }),
    ).rejects.toThrow('daniel-cho has already voted on this correction');
    expect(await countVotes()).toBe(votesAfterFirst);
    expect(votesAfterFirst).toBe(votesBefore + 1);
    expect((await stack.clients.corrections.state(rateLimit.workflowId)).votes).toEqual([]);
    const events = await listTimeline(stack.db, incident.incidentId);
    // Only the shutdown's proposal, the pages asking its authority to decide, and its one approval were added;
    // the refused attempts left no trace.
    const added = events.slice(eventsBefore);
    expect(added.filter((e) => e.kind !== 'page.sent').map((e) => e.kind)).toEqual(['correction.proposed', 'correction.approval_given']);
    expect(added.filter((e) => e.kind === 'page.sent').map((e) => (e.data as { reason: string }).reason)).toEqual(
      added.filter((e) => e.kind === 'page.sent').map(() => 'decision-requested'),
    );
  });

  it('refuses to lift the last correction of a SEV1 without the restoration criteria, with a clear message, and lifts it with them', async () => {
    const incident = await openIncident('sev1-restoration', 'SEV1');
    await stack.clients.incidents.acknowledge(incident.workflowId, { actor: 'jonas-berg', at: now() });
    const proposed = await stack.clients.incidents.propose(incident.workflowId, {
      actor: 'jonas-berg',
      at: now(),
      kind: 'capability_restriction',
      scope: { all: true },
      parameters: { filterProfile: 'strict-cbrn', disabledCapabilities: ['code-execution'] },
      reason: 'Contain the uplift while the fix ships',
    });
    await stack.clients.corrections.decide(proposed.workflowId, { actor: 'daniel-cho', at: now(), decision: 'approve', rationale: 'Severe and ongoing' });
    await correctionState(proposed.workflowId, 'active');
    // The incident hears of it by signal: lifting is decided there.
    await eventually(async () => ((await stack.clients.incidents.state(incident.workflowId)).state === 'mitigated' ? true : undefined));
    const lift = { correctionId: proposed.correctionId, actor: 'sofia-marquez', at: now(), rationale: 'Fixed' };
    await expect(stack.clients.incidents.lift(incident.workflowId, lift)).rejects.toThrow(
      'lifting the last correction of a SEV1 incident restores service: record the restoration criteria as met first (missing: fix-deployed: A fix is deployed to the serving stack; evaluation-passed: The red-team evaluation that found the issue passes on the fixed model)',
    );
    expect((await stack.clients.corrections.state(proposed.workflowId)).state).toBe('active');
    await stack.clients.incidents.lift(incident.workflowId, {
      ...lift,
      restoration: [
        { criterion: 'fix-deployed', evidence: 'deploy 5102' },
        { criterion: 'evaluation-passed', evidence: 'red-team run 81 passes' },
      ],
    });
    await correctionState(proposed.workflowId, 'lifted');
  });

  it('does not apply a quorum-2 shutdown after one approval, and applies it once after the second', async () => {
    const incident = await openIncident('shutdown-quorum');
    await stack.clients.incidents.acknowledge(incident.workflowId, { actor: 'jonas-berg', at: now() });
    const shutdown = await stack.clients.incidents.propose(incident.workflowId, {
      actor: 'jonas-berg',
      at: now(),
      kind: 'shutdown',
      scope: { all: true },
      parameters: {},
      reason: 'Weights exfiltration suspected',
    });
    await stack.clients.corrections.decide(shutdown.workflowId, { actor: 'daniel-cho', at: now(), decision: 'approve', rationale: 'Yes' });
    await expect(
      stack.clients.corrections.decide(shutdown.workflowId, { actor: 'erik-lund', at: now(), decision: 'approve', rationale: 'Yes' }),
    ).rejects.toThrow(/erik-lund \(ceo\) may not decide on shutdown at SEV2: that needs one of head-of-safety, cto/);
    // The correction has recorded the one vote and has nothing in flight: one of two approvals leaves it
    // proposed, and no application is on its way.
    await stack.settled(shutdown.workflowId);
    expect((await stack.clients.corrections.state(shutdown.workflowId)).votes).toHaveLength(1);
    const waiting = await stack.clients.corrections.state(shutdown.workflowId);
    expect(waiting.state).toBe('proposed');
    // The workflow says when its approval timer runs out, so the decision card shows the time left exactly.
    const timeout = waiting.rule.approvalTimeoutMs;
    expect(Date.parse(waiting.decideBy!)).toBeGreaterThan(Date.now() + timeout - 60_000);
    expect(Date.parse(waiting.decideBy!)).toBeLessThanOrEqual(Date.now() + timeout);
    expect(stack.endpoint.requests.filter((r) => r.correctionId === shutdown.correctionId)).toHaveLength(0);
    expect((await decideAt({ userId: 'anyone' })).decision).toBe('allow');

    await stack.clients.corrections.decide(shutdown.workflowId, { actor: 'priya-raman', at: now(), decision: 'approve', rationale: 'Agreed' });
    await correctionState(shutdown.workflowId, 'active');
    expect(stack.endpoint.applied.filter((key) => key === `${shutdown.correctionId}:apply`)).toHaveLength(1);
    expect((await stack.clients.corrections.state(shutdown.workflowId)).decideBy).toBeUndefined();
    await decidesWithinBound({ userId: 'anyone' }, 'deny');

    // Both consumers a shutdown interrupts hear of it; the webhook fallback is switched on once, the email one requested.
    const activateKey = `${shutdown.correctionId}:lexicon-legal:fallback-activate`;
    await eventually(async () => (stack.endpoint.fallbackSwitched.includes(activateKey) ? true : undefined));
    const fallbacks = await eventually(async () => {
      const rows = await stack.db.selectFrom('fallbacks').selectAll().where('correction_id', '=', shutdown.correctionId).orderBy('consumer_id').execute();
      return rows.length === 2 && rows.every((r) => r.state === 'active') ? rows : undefined;
    });
    expect(fallbacks.map((r) => [r.consumer_id, r.method])).toEqual([
      ['lexicon-legal', 'webhook'],
      ['northwind-support', 'email'],
    ]);
    const notices = await stack.db
      .selectFrom('notifications')
      .selectAll()
      .where('correction_id', '=', shutdown.correctionId)
      .where('audience', '=', 'downstream')
      .execute();
    expect(notices.map((n) => n.recipient).sort()).toEqual(['cto@lexicon-legal.example', 'support-eng@northwind.example']);
    expect(notices.every((n) => n.sent_at !== null && /^Meridian Assistant API: service restricted since \d+ \w+ 20\d\d, \d\d:\d\d UTC$/.test(n.subject))).toBe(
      true,
    );
    // Customers read what is restricted, in words, and never the internal rationale.
    expect(
      notices.every((n) => n.body.includes('is shut down for everyone: the model is not served') && !n.body.includes('Weights exfiltration suspected')),
    ).toBe(true);

    // Lifting takes the same quorum: the CTO's vote alone leaves the shutdown in force; the head of safety's lifts it.
    const firstVote = await stack.clients.incidents.lift(incident.workflowId, {
      correctionId: shutdown.correctionId,
      actor: 'priya-raman',
      at: now(),
      rationale: 'Contained',
      restoration: [
        { criterion: 'fix-deployed', evidence: 'weights store credentials rotated' },
        { criterion: 'evaluation-passed', evidence: 'access audit clean' },
      ],
    });
    expect(firstVote.lift).toMatchObject({ decided: false, needed: 1, roles: ['head-of-safety'], people: ['daniel-cho'] });
    await stack.settled(incident.workflowId);
    await stack.settled(shutdown.workflowId);
    expect((await stack.clients.corrections.state(shutdown.workflowId)).state).toBe('active');
    expect((await decideAt({ userId: 'anyone' })).decision).toBe('deny');
    await stack.clients.incidents.lift(incident.workflowId, { correctionId: shutdown.correctionId, actor: 'daniel-cho', at: now(), rationale: 'Audit clean' });
    await correctionState(shutdown.workflowId, 'lifted');
    await decidesWithinBound({ userId: 'anyone' }, 'allow');
    await eventually(async () => {
      const rows = await stack.db.selectFrom('fallbacks').select('state').where('correction_id', '=', shutdown.correctionId).execute();
      return rows.every((r) => r.state === 'inactive') ? true : undefined;
    });
    expect(stack.endpoint.fallbackSwitched.filter((key) => key === activateKey)).toHaveLength(1);
    expect(stack.endpoint.fallbackSwitched).toContain(`${shutdown.correctionId}:lexicon-legal:fallback-deactivate`);
    const lifted = await stack.db
      .selectFrom('notifications')
      .select('subject')
      .where('correction_id', '=', shutdown.correctionId)
      .where('subject', 'like', '%restriction lifted, normal service since%')
      .execute();
    expect(lifted).toHaveLength(2);
  });

  it("sends a break-glass shutdown to the enforcer from its incident's workflow task, once, and the correction takes over when that attempt fails", async () => {
    const breakGlass = async (dedupKey: string) => {
      const incident = await openIncident(dedupKey);
      await stack.clients.incidents.acknowledge(incident.workflowId, { actor: 'jonas-berg', at: now() });
      const proposed = await stack.clients.incidents.propose(incident.workflowId, {
        actor: 'jonas-berg',
        at: now(),
        kind: 'shutdown',
        scope: { all: true },
        parameters: {},
        reason: 'Stop serving at once',
        breakGlass: true,
      });
      await correctionState(proposed.workflowId, 'awaiting-ratification');
      const kinds = (await listTimeline(stack.db, incident.incidentId)).map((e) => e.kind);
      expect(kinds.indexOf('correction.proposed')).toBeGreaterThanOrEqual(0);
      expect(kinds.indexOf('correction.proposed')).toBeLessThan(kinds.indexOf('correction.applied'));
      return { kinds, applies: stack.endpoint.requests.filter((r) => r.correctionId === proposed.correctionId && r.action === 'apply'), proposed };
    };

    // The incident's apply takes: the correction only reads it back.
    const once = await breakGlass('break-glass-once');
    expect(once.applies).toHaveLength(1);
    expect(stack.endpoint.inForce(once.proposed.correctionId)).toBe(true);

    // The incident's one attempt is refused: the correction sends it again, and it takes once.
    stack.endpoint.failNextApplies(1);
    const retried = await breakGlass('break-glass-retried');
    expect(retried.applies).toHaveLength(2);
    expect(stack.endpoint.applied.filter((key) => key === `${retried.proposed.correctionId}:apply`)).toHaveLength(1);
    expect(retried.kinds).not.toContain('correction.apply_failed');
  });
});
