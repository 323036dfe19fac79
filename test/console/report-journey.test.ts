import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listTimeline } from '../../services/timeline/repository.js';
import { expectCount, expectText, launchChromium } from '../support/browser.js';
import { openClassifiedIncident, rateLimitInForce } from '../support/api.js';
import { layoutProblems } from '../support/console.js';
import { eventually } from '../support/database.js';
import { projectRoot } from '../support/environment.js';
import type { ReceivedMail } from '../support/smtp.js';
import { useIncidentStack } from '../support/stack.js';

const screenshots = path.join(projectRoot, 'test-results', 'report-journey');
const regime = 'GDPR Art. 33/34: personal data breach';
const regulator = 'breaches@dpc.example'; // frontier-assistant's GDPR recipient (the Irish DPC)
const compliance = 'hannah.vogel@meridian.example'; // the runbook's report approver (compliance-officer)

/**
 * Issue #21's acceptance journey: a personal data breach starts the GDPR 72-hour clock; compliance is
 * mailed at once with a console link; from it, in Chromium, she finds the draft with the fields Correx
 * could not fill marked, is refused while one is empty (what she typed kept), fills them, approves; the
 * regulator's mailbox receives the filled report exactly once, before its deadline, with no placeholder.
 */
describe('compliance completes and sends a GDPR report from the mail, in the console', () => {
  const stack = useIncidentStack({ api: true, mailSink: true });
  let browser: Browser;
  let hannah: string;
  let incidentId: string;
  let reportId: string;
  let drafted: ReceivedMail;

  beforeAll(async () => {
    await mkdir(screenshots, { recursive: true });
    browser = await launchChromium();
    hannah = await stack.api.token('hannah-vogel', ['compliance']);
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('classifying the incident as a personal data breach tells compliance of the clock by mail, with a console link', async () => {
    const jonas = await stack.api.token('jonas-berg', ['responder']);
    incidentId = await openClassifiedIncident(
      stack.api,
      jonas,
      { systemId: 'frontier-assistant', title: 'Chat titles of other tenants shown in the sidebar', severity: 'SEV2', dedupKey: 'report-journey' },
      { classes: ['personal-data-breach'], reason: 'conversation titles of other tenants were readable' },
    );

    drafted = await eventually(async () => stack.mail.to(compliance).find((m) => m.subject.includes(`notification report to ${regime}`)), 30_000);
    expect(drafted.text).toContain(`What to do: Review, complete and approve the notification report to ${regime} before`);
    expect(drafted.text).toContain(`Open: ${stack.api.url}/console/incidents/${incidentId}#decisions`);
    reportId = (await stack.api.call('GET', `/v1/incidents/${incidentId}/reports`, { token: hannah })).body.items[0].id;

    // After the draft was made, a correction comes into force: the draft follows the incident.
    const sofia = await stack.api.token('sofia-marquez', ['approver']);
    await rateLimitInForce(stack.api, incidentId, jonas, sofia);
  }, 90_000);

  const openFromMail = async (viewport: { width: number; height: number }): Promise<Page> => {
    const context = await browser.newContext({ viewport, ...(viewport.width < 500 ? { isMobile: true } : {}) });
    const page = await context.newPage();
    await page.goto(/Open: (\S+)/.exec(drafted.text)![1]!);
    await page.getByLabel('Your personal API token').fill(hannah);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(new RegExp(`/console/incidents/${incidentId}`));
    return page;
  };
  const card = (page: Page) => page.locator(`article.decision[data-report="${reportId}"]`);
  const field = (page: Page, name: string) => card(page).locator(`.field[data-field="${name}"]`);

  it('the link opens the draft: every field of the regime, the ones Correx could not fill marked missing; approving is refused', async () => {
    const page = await openFromMail({ width: 1366, height: 900 });
    const report = card(page);
    await expectText(report.locator('h3'), 'Approve and send regulator report');
    await expectText(report.locator('dl.facts').first(), regime);
    await expectText(report.locator('dl.facts').first(), 'notification');
    await expectText(report.locator('dl.facts').first(), regulator);
    await expectText(
      report.locator('[data-report-status]'),
      '3 required fields are empty: categories and numbers of people and records, DPO contact and likely consequences.',
    );
    for (const name of ['nature of the breach', 'categories and numbers of people and records', 'DPO contact', 'likely consequences', 'measures taken']) {
      await expectCount(field(page, name), 1);
    }
    await expectCount(report.locator('.field[data-missing]'), 3);
    expect(await field(page, 'nature of the breach').locator('textarea').inputValue()).toBe('Chat titles of other tenants shown in the sidebar');
    await expectText(field(page, 'DPO contact'), 'missing');
    // The correction applied after drafting is in the draft, marked as a change since it was made.
    expect(await field(page, 'measures taken').locator('textarea').inputValue()).toMatch(
      /^Meridian Assistant API accepts at most \d+ requests a minute per (user|organisation) from the tier free: in force since .+ UTC\.$/,
    );
    await expectText(field(page, 'measures taken'), 'changed since drafted');
    await expectText(field(page, 'measures taken').locator('dl.facts'), 'When drafted\nnone yet (no correction has been proposed)');
    await page.screenshot({ path: path.join(screenshots, 'draft-1366.png'), fullPage: true });
    await report.screenshot({ path: path.join(screenshots, 'draft-1366-card.png') });
    expect(await page.evaluate(layoutProblems)).toEqual([]);

    await report.getByRole('button', { name: 'Approve and send' }).click();
    await expectText(page.locator('.error'), 'The report was not sent:');
    await expectText(
      page.locator('.error'),
      "the required fields 'categories and numbers of people and records', 'DPO contact' and 'likely consequences' are empty",
    );
    await page.screenshot({ path: path.join(screenshots, 'refused-1366.png'), fullPage: true });

    // She saves the DPO's contact for now: it is kept as her edit, on the timeline.
    await field(page, 'DPO contact').locator('textarea').fill('Data Protection Officer, dpo@meridian.example, +353 1 555 0100');
    await card(page).getByRole('button', { name: 'Save fields' }).click();
    await page.waitForURL(/done=report-saved/);
    await expectText(page.locator('.notice'), 'Your changes to the report are saved');
    await expectText(field(page, 'DPO contact'), 'edited');
    await expectCount(card(page).locator('.field[data-missing]'), 2);
    await page.context().close();
    expect(stack.mail.to(regulator)).toEqual([]);
  }, 60_000);

  it('on a phone: refused while a field is still empty, with what was typed kept; filled, it is approved and sent', async () => {
    const page = await openFromMail({ width: 390, height: 844 });
    expect(await field(page, 'DPO contact').locator('textarea').inputValue()).toBe('Data Protection Officer, dpo@meridian.example, +353 1 555 0100');
    await page.screenshot({ path: path.join(screenshots, 'draft-390.png'), fullPage: true });
    await card(page).screenshot({ path: path.join(screenshots, 'draft-390-card.png') });
    expect(await page.evaluate(layoutProblems)).toEqual([]);

    const people = 'Conversation titles of about 1,200 users in 37 customer organisations; no message content';
    await field(page, 'categories and numbers of people and records').locator('textarea').fill(people);
    await card(page).getByRole('button', { name: 'Approve and send' }).click();
    await expectText(page.locator('.error'), 'The report was not sent: the notification report to GDPR Art. 33/34: personal data breach is not complete');
    await expectText(page.locator('.error'), "the required field 'likely consequences' is empty");
    // What she typed is still there.
    expect(await field(page, 'categories and numbers of people and records').locator('textarea').inputValue()).toBe(people);
    await page.screenshot({ path: path.join(screenshots, 'refused-390.png'), fullPage: true });
    // What the phone shows first: the refusal, above the card.
    await page.screenshot({ path: path.join(screenshots, 'refused-390-first-screen.png') });
    await card(page).screenshot({ path: path.join(screenshots, 'refused-390-card.png') });
    expect(await page.evaluate(layoutProblems)).toEqual([]);
    expect(stack.mail.to(regulator)).toEqual([]);

    const consequences = 'Low: titles may reveal topics of conversations; no credentials or content exposed';
    await field(page, 'likely consequences').locator('textarea').fill(consequences);
    await card(page).getByRole('button', { name: 'Approve and send' }).click();
    await page.waitForURL(/done=report-approved/);
    await expectText(page.locator('.notice'), 'The report is approved and on its way to the regulator.');
    await expectCount(card(page), 0);
    await page.screenshot({ path: path.join(screenshots, 'approved-390.png'), fullPage: true });
    await page.screenshot({ path: path.join(screenshots, 'approved-390-first-screen.png') });
    expect(await page.evaluate(layoutProblems)).toEqual([]);
    await page.context().close();

    // The regulator receives the filled report, once, before its deadline, with no placeholder.
    const mail = await eventually(async () => stack.mail.to(regulator)[0], 30_000);
    const sent = (await stack.api.call('GET', `/v1/reports/${reportId}`, { token: hannah })).body;
    expect(mail.at).toBeLessThan(Date.parse(sent.dueAt));
    expect(mail.subject).toContain(`${regime}: notification report on incident ${incidentId}`);
    for (const text of [
      'Chat titles of other tenants shown in the sidebar',
      people,
      'Data Protection Officer, dpo@meridian.example, +353 1 555 0100',
      consequences,
      'requests a minute per user from the tier free: in force since',
    ])
      expect(mail.text).toContain(text);
    expect(mail.text).not.toMatch(/to be completed|Incomplete|\(missing\)/);
    // The proposer's internal reason is not the regulator's to read.
    expect(mail.text).not.toContain('Slow the scraping while the fix ships');
    const clock = (await stack.api.call('GET', `/v1/incidents/${incidentId}`, { token: hannah })).body.live.regulatoryClocks[0].workflowId as string;
    await stack.settled(clock);
    expect(stack.mail.to(regulator)).toHaveLength(1);
    expect(sent.sent).toMatchObject({ text: mail.text });

    const events = (await listTimeline(stack.db, incidentId)).filter((e) => e.kind.startsWith('regulatory.report_'));
    expect(events.map((e) => [e.kind, e.actor])).toEqual([
      ['regulatory.report_drafted', 'system:regulatory'],
      ['regulatory.report_edited', 'hannah-vogel'],
      ['regulatory.report_edited', 'hannah-vogel'],
      ['regulatory.report_approved', 'hannah-vogel'],
      ['regulatory.report_submitted', 'system:regulatory'],
    ]);
  }, 90_000);
});
