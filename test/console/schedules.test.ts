import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { DateTime } from 'luxon';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onCallAt } from '../../services/schedule/on-call.js';
import { Schedule } from '../../services/schedule/schema.js';
import { expectText, launchChromium } from '../support/browser.js';
import { layoutProblems } from '../support/console.js';
import { projectRoot } from '../support/environment.js';
import type { RunbookContent } from '../support/runbooks.js';
import { useIncidentStack } from '../support/stack.js';

/** Weekdays 08:00 to 20:00 in Berlin, weekly turns, since November; Li Wei covers nights and weekends. */
const daytime = {
  id: 'assistant-daytime',
  name: 'Assistant daytime',
  timeZone: 'Europe/Berlin',
  layers: [
    {
      id: 'weekdays',
      members: ['amara-okafor', 'jonas-berg'],
      start: '2026-11-02T08:00',
      shift: '1w',
      restrictions: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '20:00' }],
    },
  ],
  fallback: 'li-wei',
};
const names: Record<string, string> = { 'amara-okafor': 'Amara Okafor', 'jonas-berg': 'Jonas Berg', 'li-wei': 'Li Wei' };

describe('console: an on-call schedule', () => {
  const stack = useIncidentStack({
    api: true,
    runbookFiles: {
      'frontier-assistant': {
        from: 'frontier-assistant',
        adjust(runbook: RunbookContent) {
          runbook.schedules = [daytime];
        },
      },
    },
  });
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
    await mkdir(path.join(projectRoot, 'test-results'), { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
  });

  async function signIn(page: Page, owner: string, roles: ('responder' | 'compliance')[]): Promise<void> {
    await page.goto(`${stack.api.url}/console/schedules/assistant-daytime`);
    await page.getByLabel('Your personal API token').fill(await stack.api.token(owner, roles));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${stack.api.url}/console/schedules/assistant-daytime`);
  }

  for (const viewport of [
    { width: 390, height: 844 },
    { width: 1366, height: 900 },
  ]) {
    it(`shows who is on call, the next two weeks in both zones, and takes an override (${viewport.width}×${viewport.height})`, async () => {
      const context = await browser.newContext({ viewport, timezoneId: 'America/New_York', locale: 'en-US' });
      try {
        const page = await context.newPage();
        await signIn(page, 'jonas-berg', ['responder']);
        const now = page.locator('section[aria-labelledby="now-h"]');
        const expected = onCallAt(Schedule.parse(daytime), [], new Date());
        await expectText(now, names[expected!.person]!);
        // Times are in Berlin's zone, and the viewer's (New York) under each.
        await expectText(page.locator('main > p.muted').first(), 'Times in Europe/Berlin (and yours, America/New_York, in grey)');
        const firstRow = page.locator('section[aria-labelledby="shifts-h"] tbody tr').first();
        await expectText(firstRow, /GMT\+1/);
        await expectText(firstRow, /EST/);
        await expectText(page.locator('section[aria-labelledby="gaps-h"] tbody tr').first(), 'Li Wei (fallback)');
        expect(await page.evaluate(layoutProblems)).toEqual([]);
        await page.screenshot({ path: path.join(projectRoot, 'test-results', `console-schedule-${viewport.width}.png`), fullPage: true });

        // An override from this minute for two hours, typed in Berlin's time.
        const start = DateTime.now().setZone('Europe/Berlin').startOf('minute');
        const reason = `Covering the release (${viewport.width})`;
        await page.getByLabel('Who is on call instead').selectOption('sofia-marquez');
        await page.getByLabel('From (Europe/Berlin)').fill(start.toFormat("yyyy-LL-dd'T'HH:mm"));
        await page.getByLabel('Until (Europe/Berlin)').fill(start.plus({ hours: 2 }).toFormat("yyyy-LL-dd'T'HH:mm"));
        await page.getByLabel('Why').fill(reason);
        await page.getByRole('button', { name: 'Add override' }).click();
        await page.waitForURL(/done=override$/);
        await expectText(page.locator('p.notice'), 'Override added.');
        await expectText(now, 'Sofía Márquez');
        await expectText(now, `override by Jonas Berg: ${reason}`);
        const overrides = page.locator('section[aria-labelledby="overrides-h"] li.override-item');
        await expectText(overrides.filter({ hasText: reason }), 'Sofía Márquez');
        expect(await page.evaluate(layoutProblems)).toEqual([]);
        await page.screenshot({ path: path.join(projectRoot, 'test-results', `console-schedule-override-${viewport.width}.png`), fullPage: true });

        // A feed to subscribe to, shown once.
        await page.getByRole('button', { name: 'Subscribe to this schedule' }).click();
        const url = await page.locator('p.notice code.feed-url').innerText();
        const feed = await fetch(url);
        expect(feed.headers.get('content-type')).toBe('text/calendar; charset=utf-8');
        expect(await feed.text()).toContain('SUMMARY:Sofía Márquez on call (Assistant daytime)');
        expect(await page.evaluate(layoutProblems)).toEqual([]);

        // Cancelled, the rotation is back.
        await page.goto(`${stack.api.url}/console/schedules/assistant-daytime`);
        await overrides
          .filter({ hasText: reason })
          .getByRole('button', { name: /^Cancel the override of Sofía Márquez/ })
          .click();
        await page.waitForURL(/done=cancelled$/);
        await expectText(page.locator('p.notice'), 'Override cancelled.');
        await expectText(now, names[expected!.person]!);
      } finally {
        await context.close();
      }
    }, 90_000);
  }

  it('refuses an override that ends before it starts, keeping what was typed', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    try {
      const page = await context.newPage();
      await signIn(page, 'jonas-berg', ['responder']);
      await page.getByLabel('Who is on call instead').selectOption('amara-okafor');
      await page.getByLabel('From (Europe/Berlin)').fill('2027-01-10T10:00');
      await page.getByLabel('Until (Europe/Berlin)').fill('2027-01-10T09:00');
      await page.getByLabel('Why').fill('Backwards');
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST'),
        page.getByRole('button', { name: 'Add override' }).click(),
      ]);
      expect(response.status()).toBe(400);
      await expectText(page.locator('p.error'), 'to: must be after from');
      await expect(page.getByLabel('Why').inputValue()).resolves.toBe('Backwards');
      expect(await page.evaluate(layoutProblems)).toEqual([]);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('shows readers the schedule without the override form', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    try {
      const page = await context.newPage();
      await signIn(page, 'hannah-vogel', ['compliance']);
      await expectText(page.locator('section[aria-labelledby="overrides-h"]'), 'Responders and admins can add overrides.');
      await expect(page.getByRole('button', { name: 'Add override' }).count()).resolves.toBe(0);
      await page.goto(`${stack.api.url}/console/schedules`);
      await expectText(page.locator('main table'), 'Assistant daytime');
    } finally {
      await context.close();
    }
  }, 60_000);
});
