import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type RunningApi } from '../support/api.js';
import { expectCount, expectText, launchChromium } from '../support/browser.js';
import { layoutProblems, valuesOutOfColumn } from '../support/console.js';
import { createPostgresTestDatabase, eventually, type TestDatabase } from '../support/database.js';
import { projectRoot } from '../support/environment.js';
import { startDevServerWorker, type RunningWorker } from '../support/temporal.js';

const screenshots = path.join(projectRoot, 'test-results', 'console');
/** A moment as the console writes it: `2 December 2026, 09:30 UTC`. */
const momentPattern = String.raw`\d{1,2} (January|February|March|April|May|June|July|August|September|October|November|December) \d{4}, \d{2}:\d{2} UTC`;

/**
 * The decision journey as an approver sees it in Chromium: a SEV1 incident on frontier-assistant with
 * a proposed capability restriction (a filter profile and disabled capabilities) and a quorum-2
 * shutdown, the incident list around it, at desktop and phone widths, before and after one vote.
 */
describe('decision card and incident list, as the head of safety sees them', () => {
  let database: TestDatabase;
  let worker: RunningWorker;
  let api: RunningApi;
  let browser: Browser;
  const token: Record<string, string> = {};
  const incident: Record<'sev1' | 'sev2' | 'sev3', string> = { sev1: '', sev2: '', sev3: '' };
  const correction: Record<'capability' | 'shutdown', string> = { capability: '', shutdown: '' };

  beforeAll(async () => {
    database = await createPostgresTestDatabase();
    worker = await startDevServerWorker(database.db);
    api = await startApi(database.db, worker);
    browser = await launchChromium();
    await mkdir(screenshots, { recursive: true });
    token.commander = await api.token('jonas-berg', ['responder']);
    token.responder = await api.token('amara-okafor', ['responder']);
    token.headOfSafety = await api.token('daniel-cho', ['approver']);
    token.cto = await api.token('priya-raman', ['approver']);
    token.compliance = await api.token('hannah-vogel', ['compliance']);

    const open = async (title: string, severity: string) => {
      const opened = await api.call('POST', '/v1/incidents', { token: token.commander, body: { systemId: 'frontier-assistant', title, severity } });
      expect(opened.status, JSON.stringify(opened.body)).toBe(202);
      return opened.body.incidentId as string;
    };
    const propose = async (id: string, body: Record<string, unknown>) => {
      const proposed = await api.call('POST', `/v1/incidents/${id}/corrections`, { token: token.responder, body });
      expect(proposed.status, JSON.stringify(proposed.body)).toBe(201);
      return proposed.body.correctionId as string;
    };
    // Opened oldest first, so that newest-first and most-severe-first are different orders.
    incident.sev1 = await open('Assistant gives uplift for a nerve agent precursor', 'SEV1');
    expect((await api.call('POST', `/v1/incidents/${incident.sev1}/acknowledge`, { token: token.commander })).status).toBe(200);
    correction.capability = await propose(incident.sev1, {
      kind: 'capability_restriction',
      scope: { all: true },
      parameters: { filterProfile: 'strict-cbrn', disabledCapabilities: ['code-execution', 'web-browsing'] },
      reason: 'Contain dangerous capabilities while the incident is assessed',
    });
    correction.shutdown = await propose(incident.sev1, {
      kind: 'shutdown',
      scope: { all: true },
      parameters: {},
      reason: 'Stop serving the model if containment does not hold',
    });
    incident.sev3 = await open('Refusal rate collapsed on the pro tier', 'SEV3');
    incident.sev2 = await open('Jailbreak success rate above 2%', 'SEV2');
    expect((await api.call('POST', `/v1/incidents/${incident.sev2}/acknowledge`, { token: token.commander })).status).toBe(200);
    await propose(incident.sev2, {
      kind: 'rate_limit',
      scope: { tiers: ['free'] },
      parameters: { requestsPerMinute: 10, per: 'user' },
      reason: 'Slow probing',
    });
    for (const id of [incident.sev1, incident.sev2]) {
      await eventually(
        async () =>
          (await database.db.selectFrom('incidents').select('state').where('id', '=', id).executeTakeFirst())?.state === 'mitigating' ? true : undefined,
        30_000,
      );
    }
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await worker?.stop();
    await database?.destroy();
  });

  async function signIn(secret: string, viewport: { width: number; height: number }, next = '/console'): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport });
    const page = await context.newPage();
    await page.goto(`${api.url}/console/sign-in?next=${encodeURIComponent(next)}`);
    await page.getByLabel('Your personal API token').fill(secret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${api.url}${next}`);
    return { context, page };
  }

  const listedIds = (page: Page) => page.locator('[data-region="incidents"] tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-incident')));
  const card = (page: Page, id: string) => page.locator(`article.decision[data-correction="${id}"]`);

  it('lists every open incident by default, mitigating ones with the decisions they wait on, newest first or most severe first, with times in UTC', async () => {
    const { context, page } = await signIn(token.headOfSafety!, { width: 1366, height: 900 });
    try {
      expect(await listedIds(page)).toEqual([incident.sev2, incident.sev3, incident.sev1]);
      const sev1 = page.locator(`tr[data-incident="${incident.sev1}"]`);
      await expectText(sev1.locator('td[data-label="State"]'), 'mitigating');
      await expectText(sev1.locator('td[data-label="State"]'), '2 corrections await a decision');
      await expectText(page.locator(`tr[data-incident="${incident.sev2}"] td[data-label="State"]`), /mitigating\s+1 correction awaits a decision/);
      // The age, and the moment with its zone.
      await expectText(sev1.locator('td[data-label="Opened"]'), new RegExp(String.raw`^\d+ (s|min) ago \(${momentPattern}\)$`));

      await page.getByLabel('Sort').selectOption('severity');
      await page.getByRole('button', { name: 'Filter' }).click();
      await page.waitForURL(/sort=severity/);
      expect(await listedIds(page)).toEqual([incident.sev1, incident.sev2, incident.sev3]);
      await expectText(page.locator('main .caption'), 'Open (every state but closed), most severe first, then newest.');
      expect(await page.locator('th[aria-sort="descending"]').innerText()).toMatch(/severity/i);
      // The order survives the live updates.
      await page.waitForTimeout(2500);
      expect(await listedIds(page)).toEqual([incident.sev1, incident.sev2, incident.sev3]);
      await page.screenshot({ path: path.join(screenshots, 'decision-list-desktop.png'), fullPage: true });
    } finally {
      await context.close();
    }
  }, 60_000);

  it('says what the approver decides on: the kind and every parameter in words, the scope, the consumers affected, the rule, the votes missing and the time left', async () => {
    const { context, page } = await signIn(token.headOfSafety!, { width: 1366, height: 900 }, `/console/incidents/${incident.sev1}`);
    try {
      const capability = card(page, correction.capability);
      await expectText(capability.locator('h3'), 'Approve or reject: capabilities switched off', { exact: true });
      await expectText(
        capability.locator('.what'),
        'Meridian Assistant API runs with restricted capabilities for everyone (filter profile: strict-cbrn; capabilities switched off: code-execution and web-browsing).',
        { exact: true },
      );
      await expectText(capability.locator('[data-parameter="Filter profile"]'), 'strict-cbrn', { exact: true });
      await expectText(capability.locator('[data-parameter="Capabilities switched off"]'), 'code-execution and web-browsing', { exact: true });
      // Only the consumers the runbook says a capability restriction affects, with their fallbacks.
      await expectText(
        capability.locator('[data-consumers]'),
        'Lexicon Legal (contract drafting): falls back to “Route drafting requests to the self-hosted open-weights model”',
      );
      expect(await capability.locator('[data-consumers]').innerText()).not.toContain('Northwind');
      await expectText(
        capability.locator('[data-still-needed]'),
        '1 more approval, from any one of safety-engineering-manager (Sofía Márquez) or head-of-safety (you).',
        {
          exact: true,
        },
      );

      const shutdown = card(page, correction.shutdown);
      await expectText(shutdown.locator('.what'), 'Meridian Assistant API is shut down for everyone: the model is not served.', { exact: true });
      await expectText(shutdown, 'none (a shutdown has none)');
      await expectText(shutdown.locator('[data-consumers]'), 'Lexicon Legal (contract drafting)');
      await expectText(
        shutdown.locator('[data-consumers]'),
        'Northwind customer support chatbot: falls back to “Hand all chats to the human support queue” (Correx asks for it by mail)',
      );
      await expectText(shutdown.locator('[data-still-needed]'), '2 more approvals, one from each of head-of-safety (you) and cto (Priya Raman).', {
        exact: true,
      });
      await expectText(
        shutdown,
        '2 approvals, each from a different role among head-of-safety and cto (a vote counts once per role). One rejection rejects it.',
      );
      await expectText(shutdown, 'Undecided after 15 minutes, it is escalated to ceo');
      await expectText(
        shutdown,
        'Lexicon Legal (contract drafting) and Northwind customer support chatbot are interrupted: Correx tells them and switches on their fallbacks.',
      );

      // The time left: when the workflow's own approval timer runs out (15 minutes from when it began
      // waiting, just after the proposal was recorded), counting down without a reload.
      const proposedAt = (await database.db.selectFrom('corrections').select('proposed_at').where('id', '=', correction.shutdown).executeTakeFirstOrThrow())
        .proposed_at;
      const left = shutdown.locator('.deadline time[data-age="until"]');
      const shownDeadline = Date.parse((await left.getAttribute('datetime'))!);
      expect(shownDeadline - proposedAt.getTime()).toBeGreaterThanOrEqual(15 * 60_000);
      expect(shownDeadline - proposedAt.getTime()).toBeLessThan(15 * 60_000 + 10_000);
      const shownFirst = await left.innerText();
      expect(shownFirst).toMatch(new RegExp(String.raw`^in 1[45] min \d+ s \(${momentPattern}\)$`));
      await expectText(left, new RegExp(`^(?!${shownFirst.replace(/[()]/g, '\\$&')}$)in 1[45] min`), { timeoutMs: 3_000 });
      await expectText(
        shutdown.locator('dd', { has: page.locator('.deadline') }),
        'then, undecided, it is escalated to ceo (Erik Lund), who may decide alone.',
      );
      await page.screenshot({ path: path.join(screenshots, 'decision-card-desktop.png'), fullPage: true });
      expect((await page.evaluate(layoutProblems)) as string[]).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('after one of two votes says whose vote is still missing and the time left, and follows the decision live', async () => {
    const { context, page } = await signIn(token.headOfSafety!, { width: 1366, height: 900 }, `/console/incidents/${incident.sev1}`);
    try {
      const shutdown = card(page, correction.shutdown);
      await shutdown.getByLabel(/Rationale/).fill('Uplift is live for every user; shutting down is proportionate');
      await shutdown.getByRole('button', { name: 'Approve shutdown' }).click();
      await page.waitForURL(/done=approved/);

      const notice = page.locator('.notice');
      await expectText(notice, 'Your approval of the shutdown is recorded on the timeline (it counts for head-of-safety).');
      await expectText(notice, 'It still needs 1 more approval, from cto (Priya Raman).');
      await expectText(notice.locator('time[data-age="until"]'), /^in 1[45] min/);
      await expectText(notice, 'then, undecided, it is escalated to ceo (Erik Lund)');

      // The card moves from what waits on you to what waits on others, with the vote and who must still give one.
      await expectCount(page.locator(`[data-region="waiting"] article[data-correction="${correction.shutdown}"]`), 0);
      const waiting = page.locator(`[data-region="others"] article[data-correction="${correction.shutdown}"]`);
      await expectText(waiting.locator('h3'), 'Awaiting decision: shutdown', { exact: true });
      await expectText(waiting.locator('[data-still-needed]'), '1 more approval, from cto (Priya Raman).', { exact: true });
      await expectText(waiting, 'Daniel Cho (you) as head-of-safety: approved');
      await expectText(waiting, 'you approved it (as head-of-safety)');
      await expectCount(waiting.getByRole('button'), 0);
      await page.screenshot({ path: path.join(screenshots, 'decision-after-vote-desktop.png'), fullPage: true });

      // The CTO's vote completes the quorum: the card leaves without a reload, and the correction goes into force.
      await page.evaluate('window.__stillTheSamePage = true');
      const second = await api.call('POST', `/v1/corrections/${correction.shutdown}/decision`, {
        token: token.cto,
        body: { decision: 'approve', rationale: 'Agreed' },
      });
      expect(second.status, JSON.stringify(second.body)).toBe(200);
      await expectCount(page.locator(`article[data-correction="${correction.shutdown}"]`), 0, 30_000);
      await expectText(page.locator(`tr[data-correction="${correction.shutdown}"]`), 'active', { timeoutMs: 30_000 });
      expect(await page.evaluate('window.__stillTheSamePage')).toBe(true);
    } finally {
      await context.close();
    }
  }, 90_000);

  it('on a phone keeps every value in its column, in the list and on the incident page', async () => {
    const { context, page } = await signIn(token.headOfSafety!, { width: 390, height: 844 });
    try {
      const problems: string[] = [];
      let multiLine = 0;
      for (const [name, url] of [
        ['list', '/console?sort=severity'],
        ['incident', `/console/incidents/${incident.sev1}`],
      ] as const) {
        await page.goto(`${api.url}${url}`);
        await page.locator('table.stack').first().waitFor();
        const measured = (await page.evaluate(valuesOutOfColumn)) as { outside: string[]; multiLine: number };
        problems.push(...measured.outside.map((p) => `${name}: ${p}`));
        multiLine += measured.multiLine;
        problems.push(...((await page.evaluate(layoutProblems)) as string[]).map((p) => `${name}: ${p}`));
        await page.screenshot({ path: path.join(screenshots, `decision-${name}-phone.png`), fullPage: true });
      }
      // Values long enough to wrap were measured (an opened time, a correction with its parameters).
      expect(multiLine).toBeGreaterThan(0);
      expect(problems).toEqual([]);

      // The decision card's facts: each label above its value, the value as wide as the card.
      const capability = card(page, correction.capability);
      const label = await capability.locator('dt', { hasText: 'Capabilities switched off' }).boundingBox();
      const value = await capability.locator('[data-parameter="Capabilities switched off"]').boundingBox();
      const box = await capability.boundingBox();
      expect(value!.y).toBeGreaterThanOrEqual(label!.y + label!.height - 1);
      expect(value!.x).toBeLessThanOrEqual(label!.x + 1);
      expect(value!.width).toBeGreaterThan(box!.width * 0.8);
      await capability.screenshot({ path: path.join(screenshots, 'decision-card-phone.png') });
    } finally {
      await context.close();
    }
  }, 60_000);

  it("keeps compliance's “Chain verified” through live updates", async () => {
    const { context, page } = await signIn(token.compliance!, { width: 1366, height: 900 }, `/console/incidents/${incident.sev1}`);
    try {
      const chain = page.locator('[data-region="chain"]');
      await expectText(chain, /^Chain verified: \d+ events/);
      await page.evaluate('window.__stillTheSamePage = true');
      const classified = await api.call('POST', `/v1/incidents/${incident.sev1}/classify`, {
        token: token.commander,
        body: { classes: ['serious-harm-to-health'], reason: 'Could enable mass-casualty harm' },
      });
      expect(classified.status, JSON.stringify(classified.body)).toBe(200);
      // A live update brought the new events in; the chain's verdict stays.
      await page.locator('li[data-kind="incident.classified"]').waitFor({ timeout: 30_000 });
      await page.waitForTimeout(2500);
      expect(await page.evaluate('window.__stillTheSamePage')).toBe(true);
      await expectText(chain, /^Chain verified: \d+ events, head \w+… \(checked \d{1,2} \w+ \d{4}, \d{2}:\d{2} UTC; reload to check again\)$/);
      await page.reload();
      await expectText(page.locator('[data-region="chain"]'), /^Chain verified/);
    } finally {
      await context.close();
    }
  }, 60_000);
});
