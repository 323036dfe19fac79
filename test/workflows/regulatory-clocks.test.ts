import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ActionRefused } from '../../services/errors.js';
import { addOffset } from '../../services/regulatory/calendar.js';
import { regimesById } from '../../services/regulatory/catalogue.js';
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
      // As if New York's law took effect much later: its clock must not start before it does.
      'frontier-assistant+raise-later': {
        from: 'frontier-assistant',
        adjust(runbook) {
          const regulators = (runbook.notifications as { regulators: { regime: string; override?: Record<string, unknown> }[] }).regulators;
          regulators.find((r) => r.regime === 'us-ny-raise')!.override = { inForceFrom: '2099-01-01' };
          (runbook.system as RunbookContent['system']).consumers = [];
        },
      },
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
    // Thursday + 4 business days of New York's calendar (Fri, Mon, Tue, Wed, unless a federal holiday
    // falls between), ending at 17:30 there, when EDGAR stops accepting filings.
    const sec = regimesById.get('us-sec-8k')!;
    expect(clock.dueAt).toBe(addOffset(new Date(clock.startAt!), { amount: 4, unit: 'businessDays' }, sec.calendar).toISOString());
    const inNewYork = new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', weekday: 'long', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    expect(inNewYork.format(new Date(clock.dueAt!))).toMatch(/^(Wednesday|Thursday|Friday|Monday),? 17:30$/);
    expect(Date.parse(clock.dueAt!) - Date.parse(clock.startAt!)).toBeGreaterThan(6 * DAY);
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

  // ---- As the law counts time (issue #21) ----

  const resolve = async (incident: Opened, actor: string) => stack.clients.incidents.resolve(incident.workflowId, { actor, at: await iso() });
  const kinds = async (incident: Opened) => (await listTimeline(stack.db, incident.incidentId)).map((e) => e.kind);

  it('NIS2: resolved before the 72-hour notification was sent, the final report one month after it is still due', async () => {
    const incident = await openIncident('clinical-triage', 'clinical-triage', ingrid.id);
    await classify(incident, ingrid.id, ['significant-incident'], 'ransomware on the triage integration');
    const nis2 = await clockOf(incident, 'nis2-art23');
    await drafted(nis2, 'notification');
    await stack.environment.sleep(5 * HOUR);
    await resolve(incident, ingrid.id);
    await stack.environment.sleep(HOUR);
    // Resolution ends the incident, not the obligation: the final report's clock still waits for the notification.
    expect((await stack.clients.regulatoryClocks.state(nis2)).clocks.find((c) => c.clockId === 'final')!.state).toBe('waiting');
    await stack.clients.regulatoryClocks.approveReport(nis2, { actor: eline.id, at: await iso(), clockId: 'notification' });
    const notification = await sent(nis2, 'notification');
    const final = await drafted(nis2, 'final');
    expect(final.startAt).toBe(notification.submittedAt);
    expect(final.dueAt).toBe(addOffset(new Date(notification.submittedAt!), { amount: 1, unit: 'months' }).toISOString());
    expect(final.startFrom).toBe('the submission of the intermediate report (notification)');
  });

  it('NIS2: a notification made on the CSIRT portal is declared with its real time and evidence, and the final clock runs from then', async () => {
    const incident = await openIncident('clinical-triage', 'clinical-triage', ingrid.id);
    await classify(incident, ingrid.id, ['significant-incident'], 'ransomware on the triage integration');
    const nis2 = await clockOf(incident, 'nis2-art23');
    const notification = await drafted(nis2, 'notification');
    await stack.environment.sleep(10 * HOUR);
    const madeAt = new Date((await now()) - 2 * HOUR).toISOString();
    const declaration = { at: await iso(), clockId: 'notification', submittedAt: madeAt, evidence: 'Z-CERT portal reference ZC-2026-1182' };
    // Only a report approver may declare it, with evidence, for a moment that has passed.
    await expect(stack.clients.regulatoryClocks.declareSubmission(nis2, { ...declaration, actor: ingrid.id })).rejects.toThrow(/may not declare/);
    await expect(stack.clients.regulatoryClocks.declareSubmission(nis2, { ...declaration, actor: eline.id, evidence: ' ' })).rejects.toThrow(/evidence/);
    await expect(
      stack.clients.regulatoryClocks.declareSubmission(nis2, { ...declaration, actor: eline.id, submittedAt: new Date((await now()) + HOUR).toISOString() }),
    ).rejects.toThrow(/in the past/);
    await stack.clients.regulatoryClocks.declareSubmission(nis2, { ...declaration, actor: eline.id });

    const made = await sent(nis2, 'notification');
    expect(made).toMatchObject({
      state: 'sent',
      late: false,
      submittedAt: madeAt,
      submittedElsewhere: { by: eline.id, evidence: 'Z-CERT portal reference ZC-2026-1182' },
    });
    expect(Date.parse(madeAt)).toBeLessThan(Date.parse(notification.dueAt!));
    const final = await drafted(nis2, 'final');
    expect(final.startAt).toBe(madeAt);
    expect(final.dueAt).toBe(addOffset(new Date(madeAt), { amount: 1, unit: 'months' }).toISOString());
    expect(final.startFrom).toBe('the submission of the intermediate report (notification), made outside Correx, declared by eline-bos');
    const declared = (await listTimeline(stack.db, incident.incidentId)).find((e) => e.kind === 'regulatory.submission_declared')!;
    expect(declared).toMatchObject({
      actor: 'eline-bos',
      data: { regime: 'nis2-art23', clock: 'notification', submittedAt: madeAt, evidence: 'Z-CERT portal reference ZC-2026-1182', late: false },
    });
    // Nothing was mailed to the CSIRT for it: it was made elsewhere.
    expect(stack.mail.to('incidents@z-cert.example').filter((m) => m.subject.includes(incident.incidentId) && m.subject.includes('intermediate'))).toEqual([]);
  });

  it('GPAI: intermediate reports keep the four-week cadence of the first, and one drafted when the incident is resolved is withdrawn', async () => {
    const incident = await openIncident('frontier-assistant', 'frontier-assistant', jonas.id);
    await classify(incident, jonas.id, ['cybersecurity-breach'], 'weights exfiltration confirmed');
    const gpai = await clockOf(incident, 'eu-gpai-code-c9');
    await drafted(gpai, 'initial');
    await stack.clients.regulatoryClocks.approveReport(gpai, { actor: hannah.id, at: await iso(), clockId: 'initial' });
    const initial = await sent(gpai, 'initial');
    const first = await drafted(gpai, 'intermediate', 1);
    expect(Date.parse(first.dueAt!) - Date.parse(initial.submittedAt!)).toBe(28 * DAY);
    // Sent three weeks early: the next is still due on the schedule, four weeks after the first was due.
    await stack.environment.sleep(7 * DAY);
    await stack.clients.regulatoryClocks.approveReport(gpai, { actor: hannah.id, at: await iso(), clockId: 'intermediate' });
    const second = await drafted(gpai, 'intermediate', 2);
    expect(second.startAt).toBe(first.dueAt);
    expect(Date.parse(second.dueAt!) - Date.parse(first.dueAt!)).toBe(28 * DAY);
    expect(second.startFrom).toBe('the schedule of the first intermediate report, every 28d');

    await resolve(incident, jonas.id);
    const withdrawn = await eventually(async () => {
      const clock = (await stack.clients.regulatoryClocks.state(gpai)).clocks.find((c) => c.clockId === 'intermediate');
      return clock?.state === 'withdrawn' ? clock : undefined;
    });
    expect(withdrawn.occurrence).toBe(2);
    const event = await eventually(async () => (await listTimeline(stack.db, incident.incidentId)).find((e) => e.kind === 'regulatory.report_withdrawn'));
    expect(event.data).toMatchObject({ regime: 'eu-gpai-code-c9', clock: 'intermediate', occurrence: 2, dueAt: second.dueAt });
    // Nobody is reminded of it any more, and the final report's 60 days run from the resolution.
    const final = await drafted(gpai, 'final');
    expect(final.startFrom).toBe('the resolution of the incident');
    const aboutIt = () => stack.mail.to(hannah.email).filter((m) => /intermediate report/.test(m.subject) && m.text.includes(incident.incidentId)).length;
    const pagedBefore = aboutIt();
    await sleepUntil(Date.parse(second.dueAt!) + HOUR);
    expect(aboutIt()).toBe(pagedBefore);
    expect(await kinds(incident)).not.toContain('regulatory.deadline_missed');
  });

  it('California SB 53: the 24-hour imminent-risk disclosure runs from when imminent risk was found, not from the first classification', async () => {
    const incident = await openIncident('frontier-assistant', 'frontier-assistant', jonas.id);
    await classify(incident, jonas.id, ['critical-safety-incident'], 'model evaded its monitoring');
    const sb53 = await clockOf(incident, 'us-ca-sb53');
    await drafted(sb53, 'initial');
    await stack.environment.sleep(3 * DAY);
    const foundAt = await iso();
    await stack.clients.incidents.classify(incident.workflowId, {
      actor: jonas.id,
      at: foundAt,
      classes: ['critical-safety-incident', 'imminent-risk-of-death-or-injury'],
      reason: 'the evaded monitor guarded a dosing assistant',
    });
    const imminent = await drafted(sb53, 'imminent-risk');
    expect(imminent.startAt).toBe(foundAt);
    expect(Date.parse(imminent.dueAt!) - Date.parse(foundAt)).toBe(24 * HOUR);
    expect(imminent.startFrom).toBe('the determination of imminent-risk-of-death-or-injury');
    // It goes to a public safety agency, not to the office that takes the 15-day report.
    await stack.clients.regulatoryClocks.approveReport(sb53, { actor: hannah.id, at: await iso(), clockId: 'imminent-risk' });
    const notice = await eventually(async () =>
      stack.mail.received.find((m) => m.subject.includes(incident.incidentId) && m.subject.includes('notification report')),
    );
    expect(notice.to).toEqual(['duty-desk@sfpd.example']);
  });

  it('GDPR: awareness set earlier, with who and why, moves the 72 hours; a later moment is refused', async () => {
    const incident = await openIncident('frontier-assistant', 'frontier-assistant', jonas.id);
    await classify(incident, jonas.id, ['personal-data-breach'], 'chat logs exposed');
    const gdpr = await clockOf(incident, 'gdpr-art33');
    const before = await drafted(gdpr, 'initial');
    expect(before.startFrom).toBe('awareness: the incident was opened');
    const awareSince = new Date(incident.openedAt - 30 * HOUR).toISOString();
    await expect(
      stack.clients.incidents.setAwareness(incident.workflowId, {
        actor: jonas.id,
        at: await iso(),
        awareSince: new Date((await now()) + HOUR).toISOString(),
        reason: 'x',
      }),
    ).rejects.toThrow(/at or before the incident was opened/);
    const snapshot = await stack.clients.incidents.setAwareness(incident.workflowId, {
      actor: jonas.id,
      at: await iso(),
      awareSince,
      reason: 'the vendor told our security team by phone the evening before',
    });
    expect(snapshot.awareness).toEqual({ at: awareSince, by: jonas.id, reason: 'the vendor told our security team by phone the evening before' });
    const after = await eventually(async () => {
      const clock = (await stack.clients.regulatoryClocks.state(gdpr)).clocks.find((c) => c.clockId === 'initial');
      return clock?.startAt === awareSince ? clock : undefined;
    });
    expect(Date.parse(after.dueAt!) - Date.parse(awareSince)).toBe(72 * HOUR);
    expect(after.startFrom).toBe('awareness, set by jonas-berg: the vendor told our security team by phone the evening before');
    const timeline = await eventually(async () => {
      const events = await listTimeline(stack.db, incident.incidentId);
      return events.some((e) => e.kind === 'regulatory.deadline_changed') ? events : undefined;
    });
    expect(timeline.find((e) => e.kind === 'incident.awareness_set')).toMatchObject({
      actor: jonas.id,
      data: { awareSince, reason: 'the vendor told our security team by phone the evening before' },
    });
    expect(timeline.find((e) => e.kind === 'regulatory.deadline_changed')?.data).toMatchObject({
      regime: 'gdpr-art33',
      previousDueAt: before.dueAt,
      dueAt: after.dueAt,
    });
  });

  it('a report approved in time but delivered after the deadline is late', async () => {
    const incident = await openIncident('frontier-assistant', 'frontier-assistant', jonas.id);
    await classify(incident, jonas.id, ['personal-data-breach'], 'prompt logs leaked');
    const gdpr = await clockOf(incident, 'gdpr-art33');
    const clock = await drafted(gdpr, 'initial');
    await sleepUntil(Date.parse(clock.dueAt!) - 10 * 60_000);
    await stack.mail.stop();
    await stack.clients.regulatoryClocks.approveReport(gdpr, { actor: hannah.id, at: await iso(), clockId: 'initial' });
    await sleepUntil(Date.parse(clock.dueAt!) + HOUR);
    await stack.mail.start();
    // Judged when the relay took it, on the workflow's clock (time-skipping moves no other clock).
    expect((await sent(gdpr, 'initial')).state).toBe('sent-late');
  });

  it('a regime whose law is not yet in force starts no clock, and the timeline says from when it will apply', async () => {
    const incident = await openIncident('frontier-assistant+raise-later', 'frontier-assistant', jonas.id);
    await classify(incident, jonas.id, ['critical-safety-incident'], 'model evaded its monitoring');
    await clockOf(incident, 'us-ca-sb53');
    const notInForce = await eventually(async () => (await listTimeline(stack.db, incident.incidentId)).find((e) => e.kind === 'regulatory.not_in_force'));
    expect(notInForce.data).toMatchObject({ regime: 'us-ny-raise', inForceFrom: '2099-01-01' });
    expect((await stack.clients.incidents.state(incident.workflowId)).regulatoryClocks.map((c) => c.regimeId)).toEqual(['us-ca-sb53']);
  });

  it('awareness given with the trigger starts the clocks that run from it; a moment in the future is refused at the edge', async () => {
    const openedAt = await now();
    const awareSince = { at: new Date(openedAt - 50 * HOUR).toISOString(), reason: 'a researcher reported it to security@ two days ago' };
    const trigger = { systemId: 'frontier-assistant', title: `Regulatory drill ${randomUUID().slice(0, 8)}`, severity: 'SEV1', dedupKey: randomUUID() };
    const options = { runbookVersion: stack.runbookVersion('frontier-assistant'), now: new Date(openedAt) };
    await expect(
      stack.clients.incidents.trigger({ ...trigger, awareSince: { ...awareSince, at: new Date(openedAt + HOUR).toISOString() } }, jonas.id, options),
    ).rejects.toMatchObject({ errors: [{ path: 'awareSince.at', message: expect.stringContaining('must not be in the future') }] });
    const outcome = await stack.clients.incidents.trigger({ ...trigger, awareSince }, jonas.id, options);
    const incident = { ...outcome, openedAt };
    await stack.clients.incidents.acknowledge(outcome.workflowId, { actor: jonas.id, at: await iso() });
    await classify(incident, jonas.id, ['personal-data-breach'], 'chat logs exposed');
    const clock = await drafted(await clockOf(incident, 'gdpr-art33'), 'initial');
    expect(clock.startAt).toBe(awareSince.at);
    expect(Date.parse(clock.dueAt!) - Date.parse(awareSince.at)).toBe(72 * HOUR);
    expect(clock.startFrom).toBe(`awareness, set by ${jonas.id}: ${awareSince.reason}`);
    const opened = (await listTimeline(stack.db, incident.incidentId)).find((e) => e.kind === 'incident.opened')!;
    expect(opened.data).toMatchObject({ awareness: { at: awareSince.at, by: jonas.id, reason: awareSince.reason } });
  });
});
