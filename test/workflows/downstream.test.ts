import { describe, expect, it } from 'vitest';
import { eventually } from '../support/database.js';
import type { ReceivedMail } from '../support/smtp.js';
import { breakFallbackOf } from '../support/runbooks.js';
import { useIncidentStack } from '../support/stack.js';

const secret = 'test-webhook-secret-downstream-0123';

/**
 * Downstream customers of a SEV2 shutdown, as they live it: Northwind's fallback is switched by
 * email and works; Lexicon Legal's fallback webhook fails on every attempt. Each consumer is served
 * on its own, so Northwind hears "in force" right after the apply and "lifted" right after the lift
 * whatever Lexicon's webhook does, and Lexicon shows as failing, is paged about a bounded number of
 * times, and stops being paged at close.
 */
describe('downstream consumers of a correction, one of them failing throughout', () => {
  const stack = useIncidentStack({
    controlEndpoint: { secret },
    mailSink: true,
    runbooks: {
      'frontier-assistant': {
        from: 'frontier-assistant',
        adjust: (runbook, s) => {
          s.routeToEndpoint(runbook, { enforcement: true });
          breakFallbackOf(runbook, 'lexicon-legal');
          (runbook.notifications as Record<string, unknown>).customers = {
            consumers: 'all',
            contact: { name: 'Meridian customer desk', email: 'customers@meridian.example' },
            messages: { shutdown: 'We stopped serving the model while we investigate reports of unsafe answers.' },
          };
        },
      },
    },
  });
  const now = () => new Date().toISOString();
  const mailTo = (address: string, subject: RegExp) => (mail: ReceivedMail) => mail.to.includes(address) && subject.test(mail.subject);

  it('tells the healthy consumer at once of the start and the end, shows the failing one as failing, and stops paging at close', async () => {
    const incident = await stack.clients.incidents.trigger(
      { systemId: 'frontier-assistant', title: 'Model gives unsafe medical dosing advice', severity: 'SEV2', dedupKey: 'downstream-failing' },
      'amara-okafor',
      { runbookVersion: stack.runbookVersion() },
    );
    await stack.clients.incidents.acknowledge(incident.workflowId, { actor: 'jonas-berg', at: now() });
    const shutdown = await stack.clients.incidents.propose(incident.workflowId, {
      actor: 'jonas-berg',
      at: now(),
      kind: 'shutdown',
      scope: { all: true },
      parameters: {},
      reason: 'INTERNAL: eval suite v7 shows 4% unsafe dosing; legal wants it off',
    });
    for (const actor of ['daniel-cho', 'priya-raman'])
      await stack.clients.corrections.decide(shutdown.workflowId, { actor, at: now(), decision: 'approve', rationale: 'Yes' });
    await eventually(async () => ((await stack.clients.corrections.state(shutdown.workflowId)).state === 'active' ? true : undefined));
    const appliedAt = Date.now();

    // Northwind hears within seconds, although Lexicon (first in the runbook) fails on every attempt.
    const inForce = await eventually(async () => stack.mail.received.find(mailTo('support-eng@northwind.example', /service restricted since/)));
    expect(inForce.at - appliedAt).toBeLessThan(5_000);
    expect(inForce.subject).toMatch(/^Meridian Assistant API: service restricted since \d+ \w+ 20\d\d, \d\d:\d\d UTC$/);
    expect(inForce.text).toContain('Meridian Assistant API is shut down for everyone: the model is not served.');
    expect(inForce.text).toContain('We stopped serving the model while we investigate reports of unsafe answers.');
    expect(inForce.text).toContain('Please switch on your fallback now: Hand all chats to the human support queue');
    expect(inForce.text).toContain('Meridian customer desk, customers@meridian.example');
    expect(inForce.text).not.toContain('INTERNAL');
    expect(inForce.text).not.toMatch(/from applied|phase/);

    // Lexicon shows as failing, with the error and the next attempt, and the commander is paged about it.
    const failing = await eventually(
      async () =>
        (await stack.clients.corrections.state(shutdown.workflowId)).downstream?.find((d) => d.consumerId === 'lexicon-legal' && d.fallback === 'failing'),
      60_000,
    );
    expect(failing.lastError).toMatch(/fallback activate for lexicon-legal: http:\/\/127\.0\.0\.1:9\/llm-fallback unreachable/);
    expect(Date.parse(failing.nextAttemptAt!)).toBeGreaterThan(Date.now());
    const row = await stack.db
      .selectFrom('fallbacks')
      .selectAll()
      .where('correction_id', '=', shutdown.correctionId)
      .where('consumer_id', '=', 'lexicon-legal')
      .executeTakeFirstOrThrow();
    expect([row.state, row.action, row.failed_attempts]).toEqual(['failing', 'activate', 1]);
    const failurePage = await eventually(async () => stack.mail.received.find(mailTo('jonas.berg@meridian.example', /correction needs you/)));
    expect(failurePage.text).toContain('Switching on the fallback of Lexicon Legal (contract drafting) failed');

    // Lifting the shutdown takes the two roles applying it took: the head of safety's vote, then the CTO's.
    await stack.clients.incidents.lift(incident.workflowId, {
      correctionId: shutdown.correctionId,
      actor: 'daniel-cho',
      at: now(),
      rationale: 'Fixed',
      restoration: [
        { criterion: 'fix-deployed', evidence: 'dosing guardrail v2 deployed' },
        { criterion: 'evaluation-passed', evidence: 'eval suite v7: 0 unsafe answers' },
      ],
    });
    await stack.clients.incidents.lift(incident.workflowId, { correctionId: shutdown.correctionId, actor: 'priya-raman', at: now(), rationale: 'Fixed' });
    await eventually(async () => ((await stack.clients.corrections.state(shutdown.workflowId)).state === 'lifted' ? true : undefined));
    const liftedAt = Date.now();
    const lifted = await eventually(async () => stack.mail.received.find(mailTo('support-eng@northwind.example', /restriction lifted/)));
    expect(lifted.at - liftedAt).toBeLessThan(5_000);
    expect(lifted.text).toContain('the restriction on Meridian Assistant API (shutdown for everyone) is lifted and normal service has resumed');
    // The failing consumer is told of the lift too: its notice does not depend on its webhook.
    await eventually(async () => stack.mail.received.find(mailTo('cto@lexicon-legal.example', /restriction lifted/)));

    // The incident may close once every consumer has heard of the lift (Lexicon's fallback still failing).
    await eventually(async () => {
      const live = await stack.clients.corrections.state(shutdown.workflowId);
      return live.downstream?.every((d) => d.notice === 'lifted') && live.downstream.find((d) => d.consumerId === 'lexicon-legal')?.fallback === 'failing'
        ? true
        : undefined;
    }, 60_000);
    await eventually(async () => ((await stack.clients.incidents.state(incident.workflowId)).corrections[0]?.state === 'lifted' ? true : undefined));
    await stack.clients.incidents.resolve(incident.workflowId, { actor: 'jonas-berg', at: now() });
    await stack.clients.incidents.close(incident.workflowId, { actor: 'jonas-berg', at: now(), reason: 'done' });

    // At close the correction gives up on Lexicon's fallback, says so on the timeline, and ends.
    const abandoned = await eventually(async () =>
      stack.db
        .selectFrom('timeline_events')
        .selectAll()
        .where('incident_id', '=', incident.incidentId)
        .where('kind', '=', 'fallback.abandoned')
        .executeTakeFirst(),
    );
    expect(abandoned.data).toMatchObject({ consumer: 'lexicon-legal', action: 'deactivate' });
    const pagesAtClose = stack.mail.received.filter(mailTo('jonas.berg@meridian.example', /correction needs you/)).length;
    await stack.settled(shutdown.workflowId);
    const finished = await stack.client.workflow.getHandle(shutdown.workflowId).describe();
    expect(finished.status.name).toBe('COMPLETED');
    expect(stack.mail.received.filter(mailTo('jonas.berg@meridian.example', /correction needs you/))).toHaveLength(pagesAtClose);
    // Bounded: never more pages about one switch than the bound, whatever the number of attempts.
    expect(pagesAtClose).toBeLessThanOrEqual(6);
  });
});
