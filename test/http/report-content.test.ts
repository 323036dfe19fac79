import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listTimeline } from '../../services/timeline/repository.js';
import { runCorrex, type CliResult } from '../support/cli.js';
import { openClassifiedIncident, rateLimitInForce } from '../support/api.js';
import { eventually } from '../support/database.js';
import { useIncidentStack } from '../support/stack.js';

const gdprFields = ['nature of the breach', 'categories and numbers of people and records', 'DPO contact', 'likely consequences', 'measures taken'];

interface Field {
  name: string;
  value: string | null;
  source: string;
  missing: boolean;
  derived: string | null;
  drafted: string | null;
  changedSinceDrafted: boolean;
}

/**
 * Issue #21: a regulator report's content. Required fields, none sent as a placeholder; edits to the
 * regime's fields only; a draft derived again from the incident until approved, compliance's edits
 * kept apart and winning; the API, the CLI, and what reaches the regulator's mailbox.
 */
describe("a regulator report's content, through the API and the CLI", () => {
  const stack = useIncidentStack({ api: true, mailSink: true });
  let dir: string;
  let hannah: string;
  let daniel: string;
  let amara: string;
  let sofia: string;
  let incidentId: string;
  let reportId: string;

  const as = (token: string, args: string[]) =>
    runCorrex([...args, '--server', stack.api.url], { CORREX_TOKEN: token, CORREX_CONFIG: path.join(dir, 'no-config.json'), CORREX_DATA_DIR: dir });
  const ok = (result: CliResult) => {
    expect(result.code, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`).toBe(0);
    return result.stdout;
  };
  const report = async () => {
    const answer = await stack.api.call('GET', `/v1/reports/${reportId}`, { token: hannah });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body as {
      fields: Field[];
      missing: string[];
      live: boolean;
      state: string;
      approvable: boolean;
      sent: { text: string; contentHash: string } | null;
    };
  };
  const field = (fields: Field[], name: string) => fields.find((f) => f.name === name)!;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'correx-report-content-'));
    hannah = await stack.api.token('hannah-vogel', ['compliance']);
    daniel = await stack.api.token('daniel-cho', ['compliance']);
    amara = await stack.api.token('amara-okafor', ['responder']);
    sofia = await stack.api.token('sofia-marquez', ['approver']);
    incidentId = await openClassifiedIncident(
      stack.api,
      amara,
      { systemId: 'frontier-assistant', title: 'Chat logs readable across tenants', severity: 'SEV2', dedupKey: 'report-content' },
      { classes: ['personal-data-breach'], reason: 'other tenants read the logs' },
    );
    // GDPR Art. 33: notified within 72 h; drafted as soon as the class is known, its clock drafted too.
    reportId = await eventually(async () => {
      const answer = await stack.api.call('GET', `/v1/incidents/${incidentId}/reports`, { token: hannah });
      const drafted = (answer.body.clocks as { regimeId: string; clocks?: { state: string }[] }[]).find((c) => c.regimeId === 'gdpr-art33');
      return drafted?.clocks?.[0]?.state === 'drafted'
        ? (answer.body.items as { id: string; regime: string }[]).find((r) => r.regime === 'gdpr-art33')?.id
        : undefined;
    }, 30_000);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('drafts every field of the regime, marks what Correx could not fill as missing, and stores no placeholder', async () => {
    const r = await report();
    expect(r.fields.map((f) => f.name)).toEqual(gdprFields);
    expect(field(r.fields, 'nature of the breach')).toMatchObject({ value: 'Chat logs readable across tenants', source: 'derived', missing: false });
    expect(r.missing).toEqual(['categories and numbers of people and records', 'DPO contact', 'likely consequences']);
    expect(field(r.fields, 'DPO contact')).toMatchObject({ value: null, source: 'missing', missing: true });
    expect(r).toMatchObject({ live: true, state: 'drafted', approvable: false, sent: null });
    const row = await stack.db.selectFrom('notifications').select('fields').where('id', '=', reportId).executeTakeFirstOrThrow();
    expect(JSON.stringify(row.fields)).not.toContain('to be completed');
  });

  it('refuses to approve while a required field is empty, naming each (409)', async () => {
    const refused = await stack.api.call('POST', `/v1/reports/${reportId}/approve`, { token: hannah, body: {} });
    expect(refused.status).toBe(409);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.body.detail).toContain(
      "the required fields 'categories and numbers of people and records', 'DPO contact' and 'likely consequences' are empty",
    );
    // Filling some of them is not enough.
    const partly = await stack.api.call('POST', `/v1/reports/${reportId}/approve`, {
      token: hannah,
      body: { edits: { 'DPO contact': 'dpo@meridian.example' } },
    });
    expect(partly.status).toBe(409);
    expect(partly.body.detail).toContain("'categories and numbers of people and records' and 'likely consequences' are empty");
    expect(partly.body.detail).not.toContain('DPO contact');
    // Nothing was sent, approved or edited by the refusals.
    expect(stack.mail.to('breaches@dpc.example')).toEqual([]);
    expect((await report()).missing).toContain('DPO contact');
  });

  it('refuses an edit of a field the regime does not have (400, at its path, with the fields there are)', async () => {
    for (const route of ['fields', 'approve']) {
      const answer = await stack.api.call('POST', `/v1/reports/${reportId}/${route}`, { token: hannah, body: { edits: { respnse: 'typo' } } });
      expect(answer.status, route).toBe(400);
      expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(answer.body.errors).toEqual([
        { path: 'body.edits.respnse', message: expect.stringContaining(`its fields are: ${gdprFields.map((f) => `'${f}'`).join(', ')}`) },
      ]);
    }
    const row = await stack.db.selectFrom('notifications').select(['edits', 'state']).where('id', '=', reportId).executeTakeFirstOrThrow();
    expect(row).toEqual({ edits: {}, state: 'drafted' });
  });

  it("keeps compliance's edits apart, on the timeline, and only from the runbook's report approvers", async () => {
    const edited = await stack.api.call('POST', `/v1/reports/${reportId}/fields`, {
      token: hannah,
      body: { edits: { 'DPO contact': 'dpo@meridian.example' } },
    });
    expect(edited.status, JSON.stringify(edited.body)).toBe(200);
    expect(field(edited.body.fields, 'DPO contact')).toMatchObject({ value: 'dpo@meridian.example', source: 'edited', missing: false });
    const events = (await listTimeline(stack.db, incidentId)).filter((e) => e.kind === 'regulatory.report_edited');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      actor: 'hannah-vogel',
      data: { regime: 'gdpr-art33', fields: ['DPO contact'], values: { 'DPO contact': 'dpo@meridian.example' } },
    });

    // A compliance token is not enough: Daniel is not one of the runbook's report approvers.
    const stranger = await stack.api.call('POST', `/v1/reports/${reportId}/fields`, { token: daniel, body: { edits: { 'DPO contact': 'someone else' } } });
    expect(stranger.status).toBe(409);
    expect(stranger.body.detail).toContain("daniel-cho may not edit regulator reports: that needs one of the runbook's report approvers (hannah-vogel)");
  });

  it('derives the draft again from the incident: a correction applied after drafting appears, and the edits are kept over it', async () => {
    const before = await report();
    expect(field(before.fields, 'measures taken')).toMatchObject({ value: expect.stringMatching(/^none yet/), changedSinceDrafted: false });

    await rateLimitInForce(stack.api, incidentId, amara, sofia);

    const after = await report();
    const measures = field(after.fields, 'measures taken');
    expect(measures).toMatchObject({ source: 'derived', changedSinceDrafted: true, drafted: expect.stringMatching(/^none yet/) });
    // In words, without the proposer's internal reason.
    expect(measures.value).toMatch(
      /^Meridian Assistant API accepts at most \d+ requests a minute per (user|organisation) from the tier free: in force since .+ UTC\.$/,
    );
    // The edit made before is kept over the draft derived again.
    expect(field(after.fields, 'DPO contact')).toMatchObject({ value: 'dpo@meridian.example', source: 'edited' });

    // An edit of a derived field wins; what Correx derives is still shown beside it.
    const edited = await stack.api.call('POST', `/v1/reports/${reportId}/fields`, {
      token: hannah,
      body: { edits: { 'measures taken': 'Free tier rate-limited to 10 requests a minute; tenant isolation being fixed' } },
    });
    expect(field(edited.body.fields, 'measures taken')).toMatchObject({
      value: 'Free tier rate-limited to 10 requests a minute; tenant isolation being fixed',
      source: 'edited',
      derived: measures.value,
    });
  }, 90_000);

  it('the CLI shows the report, refuses an unknown field with the valid ones and an incomplete approval, and edits', async () => {
    const shown = ok(await as(hannah, ['report', 'show', reportId]));
    expect(shown).toContain('GDPR Art. 33/34: personal data breach: notification report (clock initial)');
    expect(shown).toMatch(/content +incomplete: 'categories and numbers of people and records', 'likely consequences' empty; approving is refused/);
    expect(shown).toContain('DPO contact [edited]\n    dpo@meridian.example');
    expect(shown).toContain('likely consequences [MISSING]\n    -');
    expect(shown).toContain('nature of the breach [from the incident]\n    Chat logs readable across tenants');
    expect(JSON.parse(ok(await as(hannah, ['report', 'show', reportId, '--json'])))).toMatchObject({ id: reportId, missing: expect.any(Array) });

    const typo = await as(hannah, ['report', 'edit', reportId, '--set', 'respnse=typo']);
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toContain("body.edits.respnse: is not a field of GDPR Art. 33/34: personal data breach; its fields are: 'nature of the breach'");

    const incomplete = await as(hannah, ['report', 'approve', reportId]);
    expect(incomplete.code).not.toBe(0);
    expect(incomplete.stderr).toContain("'categories and numbers of people and records' and 'likely consequences' are empty");
    const typoOnApproval = await as(hannah, ['report', 'approve', reportId, '--edit', 'likely consequnces=low']);
    expect(typoOnApproval.code).not.toBe(0);
    expect(typoOnApproval.stderr).toContain('body.edits.likely consequnces: is not a field of GDPR Art. 33/34: personal data breach (did you mean');

    const edited = ok(
      await as(hannah, ['report', 'edit', reportId, '--set', 'categories and numbers of people and records=Chat titles of 212 users in 9 organisations']),
    );
    expect(edited).toContain('1 field set');
    expect(edited).toContain("incomplete: 'likely consequences' empty");
  }, 60_000);

  it('sends the completed report once, with every field and no placeholder; what was sent is kept and shown', async () => {
    ok(await as(hannah, ['report', 'approve', reportId, '--edit', 'likely consequences=Low: titles only, no message content']));
    const mail = await eventually(async () => stack.mail.to('breaches@dpc.example')[0], 30_000);
    expect(mail.subject).toContain('GDPR Art. 33/34: personal data breach: notification report');
    for (const text of [
      'nature of the breach:',
      'Chat logs readable across tenants',
      'Chat titles of 212 users in 9 organisations',
      'DPO contact:',
      'dpo@meridian.example',
      'Low: titles only, no message content',
      'Free tier rate-limited to 10 requests a minute; tenant isolation being fixed',
    ])
      expect(mail.text).toContain(text);
    expect(mail.text).not.toContain('to be completed');
    expect(mail.text).not.toContain('Incomplete');

    const sent = await eventually(async () => {
      const r = await report();
      return r.sent ? r : undefined;
    }, 30_000);
    expect(sent).toMatchObject({ live: false, state: 'sent', missing: [] });
    expect(sent.sent!.text.trim()).toBe(mail.text.trim());
    expect(sent.sent!.contentHash).toBe(createHash('sha256').update(sent.sent!.text).digest('hex'));
    expect(field(sent.fields, 'likely consequences')).toMatchObject({ value: 'Low: titles only, no message content', source: 'edited' });

    // An approved report is no longer edited.
    const late = await stack.api.call('POST', `/v1/reports/${reportId}/fields`, { token: hannah, body: { edits: { 'DPO contact': 'x' } } });
    expect(late.status).toBe(409);
    const kinds = (await listTimeline(stack.db, incidentId)).map((e) => e.kind);
    expect(kinds.filter((k) => k === 'regulatory.report_edited')).toHaveLength(4);
    expect(kinds.indexOf('regulatory.report_approved')).toBeGreaterThan(kinds.lastIndexOf('regulatory.report_edited'));
    expect(stack.mail.to('breaches@dpc.example')).toHaveLength(1);

    // The printable report names each regulator report's type, and keeps the text sent.
    const printable = await stack.api.call('GET', `/v1/incidents/${incidentId}/report`, { token: hannah });
    expect(printable.status).toBe(200);
    const table = /<h2>Regulator reports<\/h2><table>(.*?)<\/table>/s.exec(printable.body as string)![1]!;
    expect(table).toContain('<th scope="col">Regime</th><th scope="col">Report</th><th scope="col">Recipient</th>');
    expect(table).toContain('<td>gdpr-art33</td><td>notification (clock initial)</td><td>breaches@dpc.example</td>');
    expect(printable.body).toContain('<h2>Regulator reports as sent</h2>');
    expect(printable.body).toContain(sent.sent!.contentHash);
    expect(printable.body).toContain('Chat titles of 212 users in 9 organisations');
  }, 60_000);

  it('an EU AI Act Art. 73 initial report may go out incomplete, and says which fields will follow', async () => {
    const eline = await stack.api.token('eline-bos', ['compliance']);
    const ingrid = await stack.api.token('ingrid-schouten', ['responder']);
    const opened = await stack.api.call('POST', '/v1/incidents', {
      token: ingrid,
      body: { systemId: 'clinical-triage', title: 'Chest pain triaged as non-urgent; patient died', severity: 'SEV1', dedupKey: 'report-content-art73' },
    });
    expect(opened.status, JSON.stringify(opened.body)).toBe(202);
    const id: string = opened.body.incidentId;
    await eventually(async () => ((await stack.api.call('GET', `/v1/incidents/${id}`, { token: ingrid })).status === 200 ? true : undefined));
    expect((await stack.api.call('POST', `/v1/incidents/${id}/acknowledge`, { token: ingrid, body: {} })).status).toBe(200);
    expect(
      (await stack.api.call('POST', `/v1/incidents/${id}/classify`, { token: ingrid, body: { classes: ['death'], reason: 'a patient died' } })).status,
    ).toBe(200);
    const art73 = await eventually(async () => {
      const answer = await stack.api.call('GET', `/v1/incidents/${id}/reports`, { token: eline });
      const clock = (answer.body.clocks as { regimeId: string; clocks?: { state: string }[] }[]).find((c) => c.regimeId === 'eu-ai-act-art73');
      return clock?.clocks?.[0]?.state === 'drafted'
        ? (answer.body.items as { id: string; regime: string }[]).find((r) => r.regime === 'eu-ai-act-art73')?.id
        : undefined;
    }, 30_000);
    const draft = (await stack.api.call('GET', `/v1/reports/${art73}`, { token: eline })).body;
    expect(draft).toMatchObject({
      reportType: 'initial',
      incompleteInitialAllowed: true,
      approvable: true,
      missing: ['effects', 'patients affected', 'root-cause analysis'],
    });

    const approved = await stack.api.call('POST', `/v1/reports/${art73}/approve`, {
      token: eline,
      body: { edits: { effects: 'One patient died after a delayed triage' } },
    });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    const mail = await eventually(
      async () => stack.mail.to('meldingen-ai@igj.example').find((m) => m.subject.includes('EU AI Act Art. 73') && m.subject.includes(id)),
      30_000,
    );
    expect(mail.text).toMatch(/Incomplete initial report: +patients affected and root-cause analysis will follow\./);
    expect(mail.text).toContain('One patient died after a delayed triage');
    expect(mail.text).not.toContain('to be completed');
    expect(mail.text).not.toMatch(/^root-cause analysis:/m);
  }, 90_000);
});
