import { describe, expect, it } from 'vitest';
import { readDossier } from '../../services/export/dossier.js';
import { printableReport } from '../../services/export/report.js';
import { generateSigningKey } from '../../services/export/signing.js';
import { jsonExport, selectIncidents } from '../../services/export/stream.js';
import { reviewWorkflowId } from '../../services/identity.js';
import { attributionTotals } from '../../services/review/repository.js';
import type { ReviewRecord } from '../../services/review/schema.js';
import { listTimeline } from '../../services/timeline/repository.js';
import { eventually } from '../support/database.js';
import { useIncidentStack } from '../support/stack.js';

const DAY = 86_400_000;

describe('after-action review: tasks with owners and due dates, reminders, overdue escalation, attribution and sign-off (time-skipping server, real SMTP)', () => {
  const stack = useIncidentStack({ temporal: 'time-skipping', mailSink: true, runbooks: ['frontier-assistant'] });

  const review: ReviewRecord = {
    summary: 'The assistant gave harmful dosing advice after a prompt-injection pattern bypassed the safety classifier.',
    impact: 'Three users received unsafe advice over 40 minutes; no confirmed injury.',
    highlights: [{ seq: 1, note: 'Opened by the on-call engineer from a clinician report' }],
    rootCause: 'The safety fine-tuning set lacked multi-turn injection examples in the medical domain.',
    contributingFactors: ['The classifier threshold had been relaxed for latency'],
    attribution: [
      {
        stage: 'alignment-safety-tuning',
        actor: 'upstream-developer',
        confidence: 'high',
        evidence: [{ description: 'Red-team replay of the injection', url: 'https://evals.example/runs/981' }],
      },
      { stage: 'deployment-configuration', actor: 'deployer', confidence: 'medium', evidence: [{ description: 'Classifier threshold change on 2026-11-02' }] },
    ],
    correctiveActions: [{ title: 'Restore the classifier threshold', ownerRole: 'safety-engineering-manager', dueAt: '2026-12-31T00:00:00Z' }],
    runbookChanges: ['Add a SEV2 trigger on classifier threshold changes'],
  };

  it('creates the runbook tasks at resolution, reminds, escalates an overdue one once to the manager role, and closes on sign-off', async () => {
    const incident = await stack.clients.incidents.trigger(
      { systemId: 'frontier-assistant', title: 'Harmful dosing advice', severity: 'SEV3', dedupKey: 'review-1' },
      'amara-okafor',
      { runbookVersion: stack.runbookVersion() },
    );
    await eventually(async () => stack.db.selectFrom('incidents').select('id').where('id', '=', incident.incidentId).executeTakeFirst());
    await stack.clients.incidents.acknowledge(incident.workflowId, { actor: 'jonas-berg', at: new Date().toISOString() });
    const resolvedAt = new Date().toISOString();
    const resolved = await stack.clients.incidents.resolve(incident.workflowId, { actor: 'jonas-berg', at: resolvedAt, reason: 'Classifier restored' });
    expect(resolved.reviewWorkflowId).toBe(reviewWorkflowId(incident.workflowId, incident.incidentId));

    const tasks = await eventually(async () => {
      const rows = await stack.db.selectFrom('tasks').selectAll().where('incident_id', '=', incident.incidentId).orderBy('due_at').orderBy('title').execute();
      return rows.length === 4 ? rows : undefined;
    });
    const byTitle = (prefix: string) => tasks.find((t) => t.title.startsWith(prefix))!;
    const due = (days: number) => new Date(Date.parse(resolvedAt) + days * DAY).toISOString();
    expect(tasks.map((t) => [t.owner_role, t.owner, t.due_at?.toISOString(), t.state])).toEqual([
      ['incident-commander', 'jonas-berg', due(5), 'open'],
      ['safety-engineering-manager', 'sofia-marquez', due(7), 'open'],
      ['on-call-engineer', 'jonas-berg', due(14), 'open'],
      ['head-of-safety', 'daniel-cho', due(14), 'open'],
    ]);
    const reviewId = resolved.reviewWorkflowId!;
    const at = () => new Date().toISOString();

    // Sign-off waits for the review record and for every task.
    await expect(stack.clients.reviews.signOff(reviewId, { actor: 'daniel-cho', at: at() })).rejects.toThrow(
      'submit the review record (with its attribution) before signing it off',
    );
    // The record is what the runbook's "write the review" task asks for: submitting it completes that task.
    const firstRevision = await stack.clients.reviews.submitReview(reviewId, { actor: 'jonas-berg', at: at(), review });
    expect(firstRevision.tasks.find((t) => t.key === 'write-review')).toMatchObject({ state: 'done', owner: 'jonas-berg' });
    await expect(stack.clients.reviews.signOff(reviewId, { actor: 'daniel-cho', at: at() })).rejects.toThrow(/4 tasks are still open/);
    await expect(stack.clients.reviews.signOff(reviewId, { actor: 'amara-okafor', at: at() })).rejects.toThrow(
      /amara-okafor may not sign this review off: that needs one of /,
    );
    const action = await eventually(async () =>
      stack.db.selectFrom('tasks').selectAll().where('incident_id', '=', incident.incidentId).where('origin', '=', 'corrective-action').executeTakeFirst(),
    );
    expect(action).toMatchObject({ title: 'Restore the classifier threshold', owner: 'sofia-marquez', owner_role: 'safety-engineering-manager' });

    await expect(
      stack.clients.reviews.completeTask(reviewId, {
        actor: 'jonas-berg',
        at: at(),
        taskId: byTitle('Write the after-action review').id,
        note: 'Review written',
      }),
    ).rejects.toThrow(`task ${byTitle('Write the after-action review').id} is already done`);
    await stack.clients.reviews.reassignTask(reviewId, { actor: 'sofia-marquez', at: at(), taskId: byTitle('Attribute the root cause').id, to: 'daniel-cho' });
    await stack.clients.reviews.completeTask(reviewId, { actor: 'daniel-cho', at: at(), taskId: byTitle('Attribute the root cause').id });
    await stack.clients.reviews.dropTask(reviewId, {
      actor: 'daniel-cho',
      at: at(),
      taskId: byTitle('Propose runbook changes').id,
      reason: 'Covered by the corrective action',
    });
    await stack.clients.reviews.completeTask(reviewId, { actor: 'sofia-marquez', at: at(), taskId: action.id });
    await expect(stack.clients.reviews.completeTask(reviewId, { actor: 'jonas-berg', at: at(), taskId: action.id })).rejects.toThrow(
      `task ${action.id} is already done`,
    );

    // The evaluation task stays open: reminded a day before it is due, escalated once when overdue.
    const evalTask = byTitle('Add the failure');
    const toJonas = () => stack.mail.to('jonas.berg@meridian.example').filter((m) => m.subject.includes('follow-up due'));
    const toSofia = () => stack.mail.to('sofia.marquez@meridian.example').filter((m) => m.subject.includes('overdue follow-up'));
    /** The task as the review sees it once it has handled every timer due so far and has nothing in flight. */
    const evalTaskOnceSettled = async () => {
      await stack.settled(reviewId, { worker: true });
      return (await stack.clients.reviews.state(reviewId)).tasks.find((t) => t.taskId === evalTask.id)!;
    };
    await stack.environment.sleep(12 * DAY);
    // Day 12, its reminder is due on day 13: not reminded, so no reminder sent or on its way.
    expect(await evalTaskOnceSettled()).toMatchObject({ reminded: false, escalated: false });
    expect(toJonas()).toHaveLength(0);
    await stack.environment.sleep(1.5 * DAY);
    await eventually(async () => (toJonas().length === 1 ? true : undefined));
    expect(toJonas()[0]!.subject).toBe(
      `[Correx SEV3] frontier-assistant: follow-up due ${due(14).slice(0, 10)}: Add the failure to the pre-deployment evaluation suite`,
    );
    expect(toSofia()).toHaveLength(0);
    await stack.environment.sleep(1 * DAY);
    await eventually(async () => (toSofia().length === 1 ? true : undefined));
    expect(toSofia()[0]!.text).toContain('owned by Jonas Berg (on-call-engineer), whom you manage, is overdue');
    await stack.environment.sleep(10 * DAY);
    // Ten days on, everything due has been handled and nothing is in flight: the one escalation was all.
    expect(await evalTaskOnceSettled()).toMatchObject({ reminded: true, escalated: true });
    expect(toSofia()).toHaveLength(1);
    expect(stack.mail.received.filter((m) => m.subject.includes('Write the after-action review'))).toHaveLength(0);
    const escalated = await stack.db.selectFrom('tasks').selectAll().where('id', '=', evalTask.id).executeTakeFirstOrThrow();
    expect(escalated.reminded_at).toBeInstanceOf(Date);
    expect(escalated.escalated_at).toBeInstanceOf(Date);

    await stack.clients.reviews.completeTask(reviewId, { actor: 'jonas-berg', at: at(), taskId: evalTask.id, note: 'Added as eval case 4411' });
    const signed = await stack.clients.reviews.signOff(reviewId, { actor: 'daniel-cho', at: at() });
    expect(signed.signedOff).toMatchObject({ actor: 'daniel-cho', role: 'head-of-safety' });
    await eventually(async () => ((await stack.clients.incidents.state(incident.workflowId)).state === 'closed' ? true : undefined));
    // The live state changes before its activity writes the timeline event: wait for the event itself.
    await eventually(async () => ((await listTimeline(stack.db, incident.incidentId)).some((e) => e.kind === 'incident.closed') ? true : undefined));

    const kinds = (await listTimeline(stack.db, incident.incidentId)).map((e) => [e.kind, e.actor]);
    expect(kinds).toEqual(
      expect.arrayContaining([
        ['task.created', 'system:review'],
        ['review.submitted', 'jonas-berg'],
        ['task.reassigned', 'sofia-marquez'],
        ['task.dropped', 'daniel-cho'],
        ['task.reminded', 'system:review'],
        ['task.overdue_escalated', 'system:review'],
        ['review.signed_off', 'daniel-cho'],
        ['incident.closed', 'daniel-cho'],
      ]),
    );
    expect(kinds.filter(([kind]) => kind === 'task.overdue_escalated')).toHaveLength(1);
    const submitted = (await listTimeline(stack.db, incident.incidentId)).find((e) => e.kind === 'review.submitted')!;
    expect(submitted.data.attribution).toEqual(review.attribution);

    // The attribution travels with the incident: in the verifiable export and in the printable report.
    const rows = await selectIncidents(stack.db, { incidentId: incident.incidentId, format: 'json' });
    let exported = '';
    for await (const chunk of jsonExport(
      stack.db,
      rows,
      { exportId: 'aar', exportedAt: new Date().toISOString(), exportedBy: 'hannah-vogel', selection: {} },
      generateSigningKey(),
    ))
      exported += chunk;
    const events = (JSON.parse(exported) as { incidents: { events: { kind: string; data: { attribution?: unknown } }[] }[] }).incidents[0]!.events;
    expect(events.find((e) => e.kind === 'review.submitted')!.data.attribution).toEqual(review.attribution);
    const html = printableReport(await readDossier(stack.db, rows[0]!), { generatedAt: new Date().toISOString(), generatedBy: 'hannah-vogel' });
    expect(html).toContain(
      '<td>alignment-safety-tuning</td><td>upstream-developer</td><td>high</td><td>Red-team replay of the injection (https://evals.example/runs/981)</td>',
    );
    expect(html).toContain('The safety fine-tuning set lacked multi-turn injection examples in the medical domain.');

    const totals = await attributionTotals(stack.db, { systemId: 'frontier-assistant' });
    expect(totals.items).toEqual([
      { stage: 'alignment-safety-tuning', actor: 'upstream-developer', attributions: 1, incidents: 1, confidence: { high: 1 } },
      { stage: 'deployment-configuration', actor: 'deployer', attributions: 1, incidents: 1, confidence: { medium: 1 } },
    ]);
  }, 120_000);
});
