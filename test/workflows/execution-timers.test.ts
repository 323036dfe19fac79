import { describe, expect, it } from 'vitest';
import { activeCorrections } from '../../services/correction/repository.js';
import { listTimeline } from '../../services/timeline/repository.js';
import { eventually } from '../support/database.js';
import { recordRunbook, shippedRunbook } from '../support/runbooks.js';
import { useIncidentStack } from '../support/stack.js';

const minutes = (n: number) => n * 60_000;

describe('escalations, approval timeouts and break-glass windows (time-skipping server, real SMTP)', () => {
  const stack = useIncidentStack({
    temporal: 'time-skipping',
    mailSink: true,
    controlEndpoint: { secret: 'timers-secret-0123456789' },
    runbooks: { 'frontier-assistant': { from: 'frontier-assistant', adjust: (runbook) => stack.routeToEndpoint(runbook) } },
  });

  const now = () => new Date().toISOString();
  const kinds = async (incidentId: string) => (await listTimeline(stack.db, incidentId)).map((e) => e.kind);
  const open = (dedupKey: string, severity: string) =>
    stack.clients.incidents.trigger({ systemId: 'frontier-assistant', title: `Incident ${dedupKey}`, severity, dedupKey }, 'amara-okafor', {
      runbookVersion: stack.runbookVersion(),
    });

  it('pages level after level by email until someone acknowledges, then stops', async () => {
    const incident = await open('escalation', 'SEV3');
    // The internal list (commanders among them) also hears that the incident opened; pages are the escalation's.
    const pagesTo = (address: string) => stack.mail.to(address).filter((m) => m.subject === '[Correx SEV3] frontier-assistant: Incident escalation');
    await eventually(async () => (pagesTo('amara.okafor@meridian.example').length > 0 && pagesTo('jonas.berg@meridian.example').length > 0 ? true : undefined));
    expect(pagesTo('jonas.berg@meridian.example')).toHaveLength(1);
    expect(pagesTo('li.wei@meridian.example')).toHaveLength(0);
    expect(stack.mail.to('li.wei@meridian.example').map((m) => m.subject)).toEqual([
      '[Correx SEV3] frontier-assistant: incident opened at SEV3 (Incident escalation)',
    ]);

    await stack.environment.sleep(minutes(6)); // level 1's ackTimeout is 5m
    await eventually(async () => (pagesTo('li.wei@meridian.example').length > 0 ? true : undefined));

    await stack.clients.incidents.acknowledge(incident.workflowId, { actor: 'li-wei', at: now() });
    const sentBeforeAck = stack.mail.received.length;
    await stack.environment.sleep(minutes(120));
    // The escalation stopped with the acknowledgement, and the incident has handled the two hours and
    // has nothing in flight: no page is still on its way.
    expect((await stack.clients.incidents.state(incident.workflowId)).escalation).toEqual({ state: 'stopped', stoppedBy: 'li-wei', pagesSent: 4 });
    await stack.settled(incident.workflowId, { worker: true });
    expect(stack.mail.received.length).toBe(sentBeforeAck);

    const pages = await stack.db
      .selectFrom('pages')
      .selectAll()
      .where('incident_id', '=', incident.incidentId)
      .orderBy('escalation_level')
      .orderBy('target')
      .execute();
    expect(pages.map((p) => [p.escalation_level, p.target])).toEqual([
      [1, 'amara-okafor'],
      [1, 'jonas-berg'],
      [2, 'jonas-berg'],
      [2, 'li-wei'],
    ]);
    expect(pages.every((p) => p.sent_at !== null && p.acknowledged_by === 'li-wei')).toBe(true);
    const events = await kinds(incident.incidentId);
    expect(events.filter((k) => k === 'page.sent')).toHaveLength(4);
    expect(events).toContain('incident.acknowledged');
  });

  it('escalates an approval nobody gives in time to the next authority, who approves; the timeline shows both', async () => {
    const incident = await open('approval-timeout', 'SEV2');
    await stack.clients.incidents.acknowledge(incident.workflowId, { actor: 'jonas-berg', at: now() });
    const proposal = await stack.clients.incidents.propose(incident.workflowId, {
      actor: 'amara-okafor',
      at: now(),
      kind: 'rate_limit',
      scope: { tiers: ['free'] },
      parameters: { requestsPerMinute: 20, per: 'user' },
      reason: 'Throttle free tier',
    });
    // Before the timeout only the safety engineering manager may decide.
    await expect(
      stack.clients.corrections.decide(proposal.workflowId, { actor: 'daniel-cho', at: now(), decision: 'approve', rationale: 'early' }),
    ).rejects.toThrow(/may not decide on rate_limit at SEV2: that needs one of safety-engineering-manager$/);

    await stack.environment.sleep(minutes(31)); // rate_limit's approvalTimeout is 30m
    await eventually(async () => ((await kinds(incident.incidentId)).includes('correction.escalated') ? true : undefined));
    await eventually(async () =>
      stack.mail.to('daniel.cho@meridian.example').some((m) => m.subject.includes('rate_limit correction needs you')) ? true : undefined,
    );
    expect((await stack.clients.corrections.state(proposal.workflowId)).escalated).toBe(true);

    await stack.clients.corrections.decide(proposal.workflowId, { actor: 'daniel-cho', at: now(), decision: 'approve', rationale: 'Escalated to me; approve' });
    await eventually(async () => ((await stack.clients.corrections.state(proposal.workflowId)).state === 'active' ? true : undefined));
    const timeline = await listTimeline(stack.db, incident.incidentId);
    const escalated = timeline.find((e) => e.kind === 'correction.escalated')!;
    expect(escalated.data).toMatchObject({ from: ['safety-engineering-manager'], to: ['head-of-safety'] });
    const approval = timeline.find((e) => e.kind === 'correction.approval_given')!;
    expect(approval).toMatchObject({ actor: 'daniel-cho', data: expect.objectContaining({ role: 'head-of-safety' }) });
    expect(escalated.seq).toBeLessThan(approval.seq);
    expect(timeline.find((e) => e.kind === 'correction.approved')?.data).toMatchObject({ escalated: true });
  });

  it('surfaces an enforcement failure on the timeline and by page, keeps retrying, and applies once the system answers', async () => {
    const runbook = await shippedRunbook('frontier-assistant');
    stack.routeToEndpoint(runbook, { enforcement: true });
    const webhookVersion = await recordRunbook(stack.db, runbook);
    const incident = await stack.clients.incidents.trigger(
      { systemId: 'frontier-assistant', title: 'Enforcement outage', severity: 'SEV2', dedupKey: 'enforcement-outage' },
      'amara-okafor',
      {
        runbookVersion: webhookVersion,
      },
    );
    await stack.clients.incidents.acknowledge(incident.workflowId, { actor: 'jonas-berg', at: now() });
    stack.endpoint.failNextApplies(5); // the attempt in the decision's workflow task, then every attempt of the first round
    const proposal = await stack.clients.incidents.propose(incident.workflowId, {
      actor: 'amara-okafor',
      at: now(),
      kind: 'user_restriction',
      scope: { users: ['attacker-7'] },
      parameters: { mode: 'blocklist' },
      reason: 'Block the attacker',
    });
    await stack.clients.corrections.decide(proposal.workflowId, { actor: 'sofia-marquez', at: now(), decision: 'approve', rationale: 'Clear abuse' });

    const failure = await eventually(async () => (await listTimeline(stack.db, incident.incidentId)).find((e) => e.kind === 'correction.apply_failed'), 60_000);
    expect(failure.data).toMatchObject({ attempt: 1, adapter: 'webhook', error: expect.stringContaining('answered 503') });
    await eventually(async () => (stack.mail.to('jonas.berg@meridian.example').some((m) => m.text.includes('Enforcing (apply) failed')) ? true : undefined));

    await stack.environment.sleep(minutes(2)); // the workflow's pause before the next round
    await eventually(async () => ((await stack.clients.corrections.state(proposal.workflowId)).state === 'active' ? true : undefined), 60_000);
    expect(stack.endpoint.applied.filter((key) => key === `${proposal.correctionId}:apply`)).toHaveLength(1);
    expect((await stack.clients.corrections.state(proposal.workflowId)).failures).toBe(1);
  });

  it('applies a break-glass shutdown at once, lifts it when the ratification window ends, and pages the commander', async () => {
    const incident = await open('break-glass', 'SEV1');
    await stack.clients.incidents.acknowledge(incident.workflowId, { actor: 'jonas-berg', at: now() });
    const proposal = await stack.clients.incidents.propose(incident.workflowId, {
      actor: 'jonas-berg',
      at: now(),
      kind: 'shutdown',
      scope: { all: true },
      parameters: {},
      reason: 'Weights exfiltration in progress',
      breakGlass: true,
    });
    await eventually(async () => ((await stack.clients.corrections.state(proposal.workflowId)).state === 'awaiting-ratification' ? true : undefined));
    expect((await activeCorrections(stack.db, 'frontier-assistant')).map((c) => c.id)).toContain(proposal.correctionId);
    const mailsToCommander = stack.mail.to('jonas.berg@meridian.example').length;

    await stack.environment.sleep(minutes(61)); // shutdown's ratificationWindow is 1h
    await eventually(async () => ((await stack.clients.corrections.state(proposal.workflowId)).state === 'lifted' ? true : undefined));
    expect((await activeCorrections(stack.db, 'frontier-assistant')).map((c) => c.id)).not.toContain(proposal.correctionId);

    const events = await kinds(incident.incidentId);
    expect(events).toEqual(expect.arrayContaining(['correction.applied', 'correction.ratification_missed', 'correction.lifted']));
    expect(events.indexOf('correction.ratification_missed')).toBeLessThan(events.indexOf('correction.lifted'));
    const pages = await stack.db
      .selectFrom('pages')
      .select(['target'])
      .where('idempotency_key', 'like', `${proposal.correctionId}:ratification-missed:%`)
      .execute();
    expect(pages.map((p) => p.target)).toContain('jonas-berg');
    await eventually(async () => (stack.mail.to('jonas.berg@meridian.example').length > mailsToCommander ? true : undefined));
  });
});
