import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ActionRefused } from '../../services/errors.js';
import { addOffset } from '../../services/regulatory/calendar.js';
import { listTimeline } from '../../services/timeline/repository.js';
import type { ClockSnapshot } from '../../workflows/regulatory/messages.js';
import { eventually } from '../support/database.js';
import type { RunbookContent } from '../support/runbooks.js';
import { useIncidentStack, type RunbookSource } from '../support/stack.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('regulator clocks on the time-skipping server, with reports delivered to a real SMTP server', () => {
  // Fallbacks and enforcement are not under test here; keep corrections out of the way.
  const withoutConsumers = (from: string): RunbookSource => ({
    from,
    adjust(runbook) {
      (runbook.system as RunbookContent['system']).consumers = [];
    },
  });
  const stack = useIncidentStack({
    temporal: 'time-skipping',
    mailSink: true,
    runbooks: {
      'clinical-triage': withoutConsumers('clinical-triage'),
      'frontier-assistant': withoutConsumers('frontier-assistant'),
      'credit-scoring': withoutConsumers('credit-scoring'),
      'frontier-assistant+sec': {
        from: 'frontier-assistant',
        adjust(sec) {
          (sec.system as { sectors: string[] }).sectors.push('public-company');
          (sec.notifications as { regulators: unknown[] }).regulators.push({
            regime: 'us-sec-8k',
            recipients: [{ name: 'SEC EDGAR filing agent', email: 'filings@sec-agent.example' }],
          });
          (sec.system as RunbookContent['system']).consumers = [];
        },
      },
    },
  });

  const now = async () => stack.environment.currentTimeMs();
  const iso = async () => new Date(await now()).toISOString();
  const sleepUntil = async (ms: number) => {
    const left = ms - (await now());
    if (left > 0) await stack.environment.sleep(left);
  };

  interface Opened {
    incidentId: string;
    workflowId: string;
    openedAt: number;
  }
  async function openIncident(version: string, system: string, commander: string): Promise<Opened> {
    const openedAt = await now();
    const outcome = await stack.clients.incidents.trigger(
      { systemId: system, title: `Regulatory drill ${randomUUID().slice(0, 8)}`, severity: 'SEV1', dedupKey: randomUUID() },
      'system:test',
      {
        runbookVersion: stack.runbookVersion(version),
        now: new Date(openedAt),
      },
    );
    await stack.clients.incidents.acknowledge(outcome.workflowId, { actor: commander, at: await iso() });
    return { ...outcome, openedAt };
  }
  async function classify(incident: Opened, actor: string, classes: string[], reason = 'initial assessment') {
    return stack.clients.incidents.classify(incident.workflowId, { actor, at: await iso(), classes, reason });
  }
  async function clockOf(incident: Opened, regimeId: string) {
    const state = await eventually(async () =>
      (await stack.clients.incidents.state(incident.workflowId)).regulatoryClocks.find((c) => c.regimeId === regimeId),
    );
    return state.workflowId;
  }
  async function drafted(clockWorkflowId: string, clockId: string, occurrence = 1): Promise<ClockSnapshot> {
    return eventually(async () => {
      const clock = (await stack.clients.regulatoryClocks.state(clockWorkflowId)).clocks.find((c) => c.clockId === clockId);
      return clock && clock.state === 'drafted' && clock.occurrence === occurrence ? clock : undefined;
    });
  }
  async function sent(clockWorkflowId: string, clockId: string, occurrence = 1): Promise<ClockSnapshot> {
    return eventually(async () => {
      const clock = (await stack.clients.regulatoryClocks.state(clockWorkflowId)).clocks.find((c) => c.clockId === clockId);
      return clock && clock.submittedAt && clock.occurrence === occurrence ? clock : undefined;
    });
  }
  const mailsTo = (address: string, subject: RegExp) => stack.mail.to(address).filter((m) => subject.test(m.subject));

  /** Sleeps through a clock's window checking its reminder and at-risk escalation, then approves it and checks the report mail. */
  async function throughWindow(o: {
    incident: Opened;
    clockWorkflowId: string;
    clock: ClockSnapshot;
    approver: { id: string; email: string };
    commander: { email: string };
    recipient: string;
    regimeName: string;
    expectFields: string[];
  }) {
    const startMs = Date.parse(o.clock.startAt!);
    const dueMs = Date.parse(o.clock.dueAt!);
    const due = new RegExp(`report to ${o.regimeName.replace(/[().]/g, '\\$&')} due`);
    await sleepUntil(startMs + 0.55 * (dueMs - startMs));
    await eventually(async () => (mailsTo(o.approver.email, due).length > 0 ? true : undefined));
    await sleepUntil(startMs + 0.92 * (dueMs - startMs));
    await eventually(async () => (mailsTo(o.approver.email, /AT RISK/).length > 0 && mailsTo(o.commander.email, /AT RISK/).length > 0 ? true : undefined));
    const events = (await listTimeline(stack.db, o.incident.incidentId)).map((e) => e.kind);
    expect(events).toContain('regulatory.report_at_risk');

    await stack.clients.regulatoryClocks.approveReport(o.clockWorkflowId, {
      actor: o.approver.id,
      at: await iso(),
      clockId: o.clock.clockId,
      edits: { 'root-cause analysis': 'Under investigation' },
    });
    const report = await eventually(async () =>
      stack.mail.to(o.recipient).find((m) => m.subject.includes(`${o.regimeName}: ${o.clock.report} report`) && m.subject.includes(o.incident.incidentId)),
    );
    for (const field of o.expectFields) expect(report.text, field).toContain(field);
    expect(report.subject.startsWith('[LATE]')).toBe(false);
    return sent(o.clockWorkflowId, o.clock.clockId);
  }

  const eline = { id: 'eline-bos', email: 'e.bos@amstelland-mc.example' }; // clinical-triage report approver
  const ingrid = { id: 'ingrid-schouten', email: 'i.schouten@amstelland-mc.example' }; // clinical-triage incident commander
  const hannah = { id: 'hannah-vogel', email: 'hannah.vogel@meridian.example' }; // frontier report approver
  const jonas = { id: 'jonas-berg', email: 'jonas.berg@meridian.example' }; // frontier incident commander

  it('EU high-risk, death: 10 days from awareness, reminded, escalated when at risk, and delivered', async () => {
    const incident = await openIncident('clinical-triage', 'clinical-triage', ingrid.id);
    await classify(incident, ingrid.id, ['death']);
    const clockWorkflowId = await clockOf(incident, 'eu-ai-act-art73');
    const clock = await drafted(clockWorkflowId, 'initial');
    expect(Date.parse(clock.dueAt!) - incident.openedAt).toBe(10 * DAY);
    const submitted = await throughWindow({
      incident,
      clockWorkflowId,
      clock,
      approver: eline,
      commander: ingrid,
      recipient: 'meldingen-ai@igj.example',
      regimeName: 'EU AI Act Art. 73: serious incident, provider of a high-risk AI system',
      expectFields: ['incident class', 'death', 'AI system identity and versions', 'root-cause analysis', 'Under investigation'],
    });
    const row = await stack.db
      .selectFrom('notifications')
      .selectAll()
      .where('regime', '=', 'eu-ai-act-art73')
      .where('incident_id', '=', incident.incidentId)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      state: 'sent',
      late: false,
      approved_by: 'eline-bos',
      message_id: expect.stringMatching(/^<.+@correx>$/),
      content_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(row.sent_at).toBeInstanceOf(Date);
    expect(submitted.state).toBe('sent');
    const delivered = stack.mail.received.filter((m) => m.messageId === row.message_id);
    expect(delivered).toHaveLength(1);
  });

  it('EU high-risk, critical-infrastructure disruption: 2 days', async () => {
    const incident = await openIncident('clinical-triage', 'clinical-triage', ingrid.id);
    await classify(incident, ingrid.id, ['critical-infrastructure']);
    const clockWorkflowId = await clockOf(incident, 'eu-ai-act-art73');
    const clock = await drafted(clockWorkflowId, 'initial');
    expect(Date.parse(clock.dueAt!) - incident.openedAt).toBe(2 * DAY);
    await throughWindow({
      incident,
      clockWorkflowId,
      clock,
      approver: eline,
      commander: ingrid,
      recipient: 'meldingen-ai@igj.example',
      regimeName: 'EU AI Act Art. 73: serious incident, provider of a high-risk AI system',
      expectFields: ['critical-infrastructure'],
    });
  });

  it('GPAI with systemic risk, cybersecurity breach: 5 days', async () => {
    const incident = await openIncident('frontier-assistant', 'frontier-assistant', jonas.id);
    await classify(incident, jonas.id, ['cybersecurity-breach'], 'weights exfiltration confirmed');
    const clockWorkflowId = await clockOf(incident, 'eu-gpai-code-c9');
    const clock = await drafted(clockWorkflowId, 'initial');
    expect(Date.parse(clock.dueAt!) - incident.openedAt).toBe(5 * DAY);
    await throughWindow({
      incident,
      clockWorkflowId,
      clock,
      approver: hannah,
      commander: jonas,
      recipient: 'ai-office-incidents@ec.example',
      regimeName: 'EU AI Act Art. 55 and GPAI Code of Practice Commitment 9: general-purpose model with systemic risk',
      expectFields: ['model involved', 'meridian-4'],
    });
  });

  it('NIS2: early warning 24 h and notification 72 h after awareness; the final report one month after the notification was submitted', async () => {
    const incident = await openIncident('clinical-triage', 'clinical-triage', ingrid.id);
    await classify(incident, ingrid.id, ['significant-incident'], 'ransomware on the triage integration');
    const clockWorkflowId = await clockOf(incident, 'nis2-art23');
    const early = await drafted(clockWorkflowId, 'early-warning');
    const notification = await drafted(clockWorkflowId, 'notification');
    expect(Date.parse(early.dueAt!) - incident.openedAt).toBe(24 * HOUR);
    expect(Date.parse(notification.dueAt!) - incident.openedAt).toBe(72 * HOUR);
    const regimeName = 'NIS2 Art. 23: significant incident';
    await throughWindow({
      incident,
      clockWorkflowId,
      clock: early,
      approver: eline,
      commander: ingrid,
      recipient: 'incidents@z-cert.example',
      regimeName,
      expectFields: ['description'],
    });
    const submittedNotification = await throughWindow({
      incident,
      clockWorkflowId,
      clock: notification,
      approver: eline,
      commander: ingrid,
      recipient: 'incidents@z-cert.example',
      regimeName,
      expectFields: ['severity'],
    });
    const final = await drafted(clockWorkflowId, 'final');
    expect(final.startAt).toBe(submittedNotification.submittedAt);
    expect(final.dueAt).toBe(addOffset(new Date(submittedNotification.submittedAt!), { amount: 1, unit: 'months' }).toISOString());
  });

  it('DORA: the intermediate report is due 72 h after the initial one was submitted', async () => {
    const incident = await openIncident('credit-scoring', 'credit-scoring', 'lukas-hoffmann');
    await classify(incident, 'lukas-hoffmann', ['major-ict-incident'], 'classified major under the RTS criteria');
    const clockWorkflowId = await clockOf(incident, 'dora-art19');
    const initial = await drafted(clockWorkflowId, 'initial');
    expect(Date.parse(initial.dueAt!) - Date.parse(initial.startAt!)).toBe(3 * HOUR); // the bank's own 3 h override of DORA's 4 h
    const approver = { id: 'stefan-braun', email: 'stefan.braun@noordhaven-bank.example' };
    const commander = { email: 'lukas.hoffmann@noordhaven-bank.example' };
    const regimeName = 'DORA Art. 19: major ICT-related incident (EU financial entities)';
    const submittedInitial = await throughWindow({
      incident,
      clockWorkflowId,
      clock: initial,
      approver,
      commander,
      recipient: 'ict-incidents@dnb.example',
      regimeName,
      expectFields: ['EU templates'],
    });
    const intermediate = await drafted(clockWorkflowId, 'intermediate');
    expect(intermediate.startAt).toBe(submittedInitial.submittedAt);
    expect(Date.parse(intermediate.dueAt!) - Date.parse(submittedInitial.submittedAt!)).toBe(72 * HOUR);
    await throughWindow({
      incident,
      clockWorkflowId,
      clock: intermediate,
      approver,
      commander,
      recipient: 'ict-incidents@dnb.example',
      regimeName,
      expectFields: ['EU templates'],
    });
  });

  it('SEC Form 8-K: 4 business days from the materiality determination, across a weekend', async () => {
    // Move the test server's clock to the next Thursday, 10:00 UTC.
    const current = new Date(await now());
    const daysToThursday = (4 - current.getUTCDay() + 7) % 7 || 7;
    await sleepUntil(Date.UTC(current.getUTCFullYear(), current.getUTCMonth(), current.getUTCDate() + daysToThursday, 10));
    const incident = await openIncident('frontier-assistant+sec', 'frontier-assistant', jonas.id);
    const determinedAt = await now();
    expect(new Date(determinedAt).getUTCDay()).toBe(4);
    await classify(incident, jonas.id, ['material-cybersecurity-incident'], 'disclosure committee determined materiality');
    const clockWorkflowId = await clockOf(incident, 'us-sec-8k');
    const clock = await drafted(clockWorkflowId, 'filing');
    // Thursday + 4 business days = the next Wednesday (Fri, Mon, Tue, Wed): 6 calendar days.
    expect(new Date(clock.dueAt!).getUTCDay()).toBe(3);
    expect(Date.parse(clock.dueAt!) - Date.parse(clock.startAt!)).toBe(6 * DAY);
    await throughWindow({
      incident,
      clockWorkflowId,
      clock,
      approver: hannah,
      commander: jonas,
      recipient: 'filings@sec-agent.example',
      regimeName: 'US SEC Form 8-K Item 1.05: material cybersecurity incident',
      expectFields: ['material impact'],
    });
  });

  it('reclassifying mid-incident shortens a clock and adds another, and the timeline says why', async () => {
    const incident = await openIncident('clinical-triage', 'clinical-triage', ingrid.id);
    await classify(incident, ingrid.id, ['serious-harm-to-health'], 'patient harmed by under-triage');
    const art73 = await clockOf(incident, 'eu-ai-act-art73');
    const before = await drafted(art73, 'initial');
    expect(Date.parse(before.dueAt!) - incident.openedAt).toBe(15 * DAY);
    expect((await stack.clients.incidents.state(incident.workflowId)).regulatoryClocks.map((c) => c.regimeId)).not.toContain('gdpr-art33');

    await stack.environment.sleep(DAY);
    await stack.clients.incidents.classify(incident.workflowId, {
      actor: ingrid.id,
      at: await iso(),
      classes: ['serious-harm-to-health', 'death', 'personal-data-breach'],
      reason: 'the patient died; records were exposed',
    });
    const after = await eventually(async () => {
      const clock = (await stack.clients.regulatoryClocks.state(art73)).clocks.find((c) => c.clockId === 'initial');
      return clock && Date.parse(clock.dueAt!) - incident.openedAt === 10 * DAY ? clock : undefined;
    });
    expect(after.startAt).toBe(before.startAt);
    const gdpr = await clockOf(incident, 'gdpr-art33');
    const gdprClock = await drafted(gdpr, 'initial');
    expect(Date.parse(gdprClock.dueAt!) - incident.openedAt).toBe(72 * HOUR);

    const timeline = await eventually(async () => {
      const events = await listTimeline(stack.db, incident.incidentId);
      return events.some((e) => e.kind === 'regulatory.deadline_changed') ? events : undefined;
    });
    const reclassified = timeline.filter((e) => e.kind === 'incident.classified').at(-1)!;
    expect(reclassified).toMatchObject({
      actor: 'ingrid-schouten',
      data: {
        from: ['serious-harm-to-health'],
        to: ['death', 'personal-data-breach', 'serious-harm-to-health'],
        reason: 'the patient died; records were exposed',
      },
    });
    const changed = timeline.find((e) => e.kind === 'regulatory.deadline_changed')!;
    expect(changed.data).toMatchObject({ regime: 'eu-ai-act-art73', clock: 'initial', previousDueAt: before.dueAt, dueAt: after.dueAt });
    expect(changed.seq).toBeGreaterThan(reclassified.seq);
    const row = await stack.db.selectFrom('incidents').select('classification').where('id', '=', incident.incidentId).executeTakeFirstOrThrow();
    expect(row.classification).toEqual(['death', 'personal-data-breach', 'serious-harm-to-health']);
  });

  it('a missed deadline is recorded and paged, and the report still goes out marked late with the reason', async () => {
    const incident = await openIncident('frontier-assistant', 'frontier-assistant', jonas.id);
    await classify(incident, jonas.id, ['personal-data-breach'], 'chat logs exposed');
    const gdpr = await clockOf(incident, 'gdpr-art33');
    const clock = await drafted(gdpr, 'initial');
    await sleepUntil(Date.parse(clock.dueAt!) + HOUR);
    await eventually(async () => ((await listTimeline(stack.db, incident.incidentId)).some((e) => e.kind === 'regulatory.deadline_missed') ? true : undefined));
    await eventually(async () =>
      mailsTo(jonas.email, /DEADLINE MISSED/).length > 0 && mailsTo(hannah.email, /DEADLINE MISSED/).length > 0 ? true : undefined,
    );

    await expect(stack.clients.regulatoryClocks.approveReport(gdpr, { actor: hannah.id, at: await iso(), clockId: 'initial' })).rejects.toThrow(
      `the deadline passed at ${clock.dueAt}: give lateReason, which is sent with the late report`,
    );
    await expect(stack.clients.regulatoryClocks.approveReport(gdpr, { actor: jonas.id, at: await iso(), clockId: 'initial', lateReason: 'x' })).rejects.toThrow(
      ActionRefused,
    );
    await stack.clients.regulatoryClocks.approveReport(gdpr, {
      actor: hannah.id,
      at: await iso(),
      clockId: 'initial',
      lateReason: 'The breach scope was confirmed only after the deadline',
    });
    const report = await eventually(async () => stack.mail.to('breaches@dpc.example').find((m) => m.subject.includes(incident.incidentId)));
    expect(report.subject.startsWith('[LATE] GDPR Art. 33/34: personal data breach')).toBe(true);
    expect(report.text).toContain('Reason: The breach scope was confirmed only after the deadline');
    expect((await sent(gdpr, 'initial')).state).toBe('sent-late');
  });

  it('retries a report while the SMTP server is down and delivers it exactly once when it returns', async () => {
    const incident = await openIncident('frontier-assistant', 'frontier-assistant', jonas.id);
    await classify(incident, jonas.id, ['personal-data-breach'], 'prompt logs leaked');
    const gdpr = await clockOf(incident, 'gdpr-art33');
    await drafted(gdpr, 'initial');
    await stack.mail.stop();
    await stack.clients.regulatoryClocks.approveReport(gdpr, { actor: hannah.id, at: await iso(), clockId: 'initial' });
    // A few failed attempts, as the clock's pending submission records them.
    await eventually(async () => {
      const { raw } = await stack.client.workflow.getHandle(gdpr).describe();
      const submission = raw.pendingActivities?.find((a) => a.activityType?.name === 'submitRegulatoryReport');
      return (submission?.attempt ?? 0) >= 3 ? true : undefined;
    });
    expect((await stack.clients.regulatoryClocks.state(gdpr)).clocks[0]!.state).toBe('approved');
    await stack.mail.start();
    const clock = await sent(gdpr, 'initial');
    expect(clock.state).toBe('sent');
    const row = await stack.db
      .selectFrom('notifications')
      .selectAll()
      .where('regime', '=', 'gdpr-art33')
      .where('incident_id', '=', incident.incidentId)
      .executeTakeFirstOrThrow();
    // Sent, and nothing in flight: no attempt that could still deliver it again.
    await stack.settled(gdpr, { worker: true });
    expect(stack.mail.received.filter((m) => m.messageId === row.message_id)).toHaveLength(1);
    const submitted = (await listTimeline(stack.db, incident.incidentId)).filter((e) => e.kind === 'regulatory.report_submitted');
    expect(submitted).toHaveLength(1);
  });
});
