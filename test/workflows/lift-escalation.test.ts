import { describe, expect, it } from 'vitest';
import { listTimeline } from '../../services/timeline/repository.js';
import { eventually } from '../support/database.js';
import { useIncidentStack } from '../support/stack.js';

const MINUTE = 60_000;

/**
 * A lift escalates like an approval: once its quorum has waited the lift rule's approvalTimeout, the
 * escalation authority is paged and any one of them may lift alone (time-skipping server, real SMTP).
 */
describe('a lift short of its quorum escalates after the approval timeout', () => {
  const stack = useIncidentStack({ temporal: 'time-skipping', mailSink: true, runbooks: ['frontier-assistant'] });
  const now = () => new Date().toISOString();

  it('lets the CEO lift a shutdown alone only after the CTO has not voted within 15 minutes of the first lift vote', async () => {
    const incident = await stack.clients.incidents.trigger(
      { systemId: 'frontier-assistant', title: 'Weights access anomaly', severity: 'SEV2', dedupKey: 'lift-escalation' },
      'amara-okafor',
      { runbookVersion: stack.runbookVersion() },
    );
    await eventually(() => stack.db.selectFrom('incidents').select('id').where('id', '=', incident.incidentId).executeTakeFirst());
    await stack.clients.incidents.acknowledge(incident.workflowId, { actor: 'jonas-berg', at: now() });
    const shutdown = await stack.clients.incidents.propose(incident.workflowId, {
      actor: 'jonas-berg',
      at: now(),
      kind: 'shutdown',
      scope: { all: true },
      parameters: {},
      reason: 'Unknown host read the weights',
    });
    for (const actor of ['daniel-cho', 'priya-raman'])
      await stack.clients.corrections.decide(shutdown.workflowId, { actor, at: now(), decision: 'approve', rationale: 'Stop it' });
    await eventually(async () => ((await stack.clients.incidents.state(incident.workflowId)).corrections[0]?.state === 'active' ? true : undefined));

    const first = await stack.clients.incidents.lift(incident.workflowId, {
      correctionId: shutdown.correctionId,
      actor: 'daniel-cho',
      at: now(),
      rationale: 'Host identified as a backup job',
      restoration: [
        { criterion: 'fix-deployed', evidence: 'backup job moved to its own credentials' },
        { criterion: 'evaluation-passed', evidence: 'access review 17 clean' },
      ],
    });
    expect(first.lift).toMatchObject({ decided: false, escalated: false, roles: ['cto'], escalateTo: ['ceo'] });
    expect(Date.parse(first.lift.escalatesAt!) - Date.parse(first.lift.votes[0]!.at)).toBe(15 * MINUTE);
    const ceoLift = { correctionId: shutdown.correctionId, actor: 'erik-lund', at: now(), rationale: 'Restore service' };
    await expect(stack.clients.incidents.lift(incident.workflowId, ceoLift)).rejects.toThrow(
      'erik-lund (ceo) may not lift shutdown at SEV2: that needs one of head-of-safety, cto',
    );

    await stack.environment.sleep(14 * MINUTE);
    await stack.settled(incident.workflowId, { worker: true });
    const escalated = async () => (await listTimeline(stack.db, incident.incidentId)).find((e) => e.kind === 'correction.lift_escalated');
    expect(await escalated()).toBeUndefined();
    await stack.environment.sleep(2 * MINUTE);
    const event = await eventually(escalated);
    expect(event).toMatchObject({
      actor: 'system:authority',
      data: {
        correctionId: shutdown.correctionId,
        from: ['head-of-safety', 'cto'],
        to: ['ceo'],
        afterMs: 15 * MINUTE,
        votes: [{ actor: 'daniel-cho', role: 'head-of-safety' }],
      },
    });
    const page = await eventually(async () => stack.mail.to('erik.lund@meridian.example').find((m) => m.text.includes('It is escalated to you')));
    expect(page.text).toContain('daniel-cho (head-of-safety) voted to lift this correction, and its quorum of 2 was not met within 15 minutes');

    const decided = await stack.clients.incidents.lift(incident.workflowId, { ...ceoLift, at: now() });
    expect(decided.lift).toMatchObject({ decided: true, escalated: true, votes: [{ actor: 'daniel-cho' }, { actor: 'erik-lund', role: 'ceo' }] });
    await eventually(async () => ((await stack.clients.corrections.state(shutdown.workflowId)).state === 'lifted' ? true : undefined));
  }, 120_000);
});
