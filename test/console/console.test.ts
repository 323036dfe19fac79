import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken, revokeToken } from '../../services/access/repository.js';
import { createMailer } from '../../services/notification/mailer.js';
import { startApi, testSigningKey, type RunningApi } from '../support/api.js';
import { expectCount, expectText, launchChromium } from '../support/browser.js';
import { createPostgresTestDatabase, eventually, type TestDatabase } from '../support/database.js';
import { layoutProblems } from '../support/console.js';
import { projectRoot } from '../support/environment.js';
import { startDevServerWorker, type RunningWorker } from '../support/temporal.js';

const run = promisify(execFile);
const screenshots = path.join(projectRoot, 'test-results', 'console');

describe('web console in Chromium, against the real HTTP service, Temporal and PostgreSQL', () => {
  let database: TestDatabase;
  let worker: RunningWorker;
  let api: RunningApi;
  let browser: Browser;
  let incidentId: string;
  const token: Record<string, string> = {};

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

    const opened = await api.call('POST', '/v1/incidents', {
      token: token.commander,
      body: {
        systemId: 'frontier-assistant',
        title: 'Assistant walks users through synthesising a nerve agent precursor',
        severity: 'SEV2',
        summary: 'Red team report, reproduced on production',
      },
    });
    expect(opened.status, JSON.stringify(opened.body)).toBe(202);
    incidentId = opened.body.incidentId;
    const acknowledged = await api.call('POST', `/v1/incidents/${incidentId}/acknowledge`, { token: token.commander });
    expect(acknowledged.status, JSON.stringify(acknowledged.body)).toBe(200);
    const classified = await api.call('POST', `/v1/incidents/${incidentId}/classify`, {
      token: token.commander,
      body: { classes: ['serious-harm-to-health'], reason: 'Could enable mass-casualty harm' },
    });
    expect(classified.status, JSON.stringify(classified.body)).toBe(200);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await worker?.stop();
    await database?.destroy();
  });

  async function signIn(secret: string, options: { viewport?: { width: number; height: number } } = {}): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ ...(options.viewport ? { viewport: options.viewport } : {}), acceptDownloads: true });
    const page = await context.newPage();
    await page.goto(`${api.url}/console/incidents/${incidentId}`);
    // Not signed in: the console asks for a token, then returns to the page that was asked for.
    expect(new URL(page.url()).pathname).toBe('/console/sign-in');
    await page.getByLabel('Your personal API token').fill(secret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${api.url}/console/incidents/${incidentId}`);
    return { context, page };
  }

  /** What people did on the incident (Correx's own retries, such as a fallback webhook failing again, go on in the background). */
  const timelineEvents = () =>
    database.db
      .selectFrom('timeline_events')
      .select(['seq', 'kind', 'actor'])
      .where('incident_id', '=', incidentId)
      .where('actor', 'not like', 'system:%')
      .orderBy('seq')
      .execute();

  it('signs in an approver, shows a shutdown proposal without a reload, takes the approval with its rationale, and shows it applied', async () => {
    const { context, page } = await signIn(token.headOfSafety!);
    try {
      await expectText(page.locator('#waiting-h'), 'Waiting on you', { exact: true });
      await expectText(page.locator('[data-region="waiting"]'), 'Nothing here waits on you');
      // A marker on this document: if the page reloaded, it would be gone.
      await page.evaluate('window.__stillTheSamePage = true');

      const proposed = await api.call('POST', `/v1/incidents/${incidentId}/corrections`, {
        token: token.responder,
        body: { kind: 'shutdown', scope: { all: true }, parameters: {}, reason: 'Stop all access until the CBRN filter is fixed' },
      });
      expect(proposed.status, JSON.stringify(proposed.body)).toBe(201);
      const correctionId = proposed.body.correctionId as string;

      const card = page.locator('article.decision', { hasText: 'shutdown' });
      await card.waitFor({ state: 'visible', timeout: 30_000 });
      expect(await page.evaluate('window.__stillTheSamePage')).toBe(true);
      await expectText(card, '2 approvals, each from a different role among head-of-safety and cto');
      await expectText(card, 'counts for head-of-safety');
      await expectText(card, 'Amara Okafor');

      // The other half of the quorum votes through the API; the console shows the vote.
      const first = await api.call('POST', `/v1/corrections/${correctionId}/decision`, {
        token: token.cto,
        body: { decision: 'approve', rationale: 'Agreed: the harm is severe' },
      });
      expect(first.status, JSON.stringify(first.body)).toBe(200);
      await expectText(page.locator('article.decision', { hasText: 'shutdown' }), 'Priya Raman as cto: approved', { timeoutMs: 30_000 });
      await expectText(page.locator('article.decision', { hasText: 'shutdown' }), '1 more approval, from head-of-safety (you)');
      expect(await page.evaluate('window.__stillTheSamePage')).toBe(true);

      // A rationale is required: the browser will not submit without one.
      expect(await page.getByLabel(/Rationale/).getAttribute('required')).toBe('');
      const rationale = 'Precursor synthesis steps are live for every user; shutting down is the only containment';
      await page.getByLabel(/Rationale/).fill(rationale);
      await page.getByRole('button', { name: 'Approve shutdown' }).click();
      // The second approval completes the quorum: the notice says so, and what follows.
      await expectText(page.locator('.notice'), 'Your approval of the shutdown is recorded');
      await expectText(page.locator('.notice'), 'That completed the decision');

      const row = page.locator(`tr[data-correction="${correctionId}"]`);
      await expectText(row, /active|applied|verifying/, { timeoutMs: 30_000 });
      await expectText(row, 'active', { timeoutMs: 30_000 });
      await expectText(page.locator('[data-region="waiting"]'), 'Nothing here waits on you');

      const approval = page.locator('li[data-kind="correction.approval_given"]', { hasText: 'Daniel Cho' });
      await expectText(approval, rationale);
      const recorded = await database.db
        .selectFrom('approvals')
        .selectAll()
        .where('correction_id', '=', correctionId)
        .where('actor', '=', 'daniel-cho')
        .execute();
      expect(recorded).toMatchObject([{ decision: 'approve', rationale, role: 'head-of-safety' }]);

      // The timeline filters by kind.
      await page.getByLabel('Kind').selectOption('correction.approval_given');
      await page.getByRole('button', { name: 'Show' }).click();
      await expectCount(page.locator('ol.timeline li'), 2);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('shows a responder no approve button, and refuses a forged approval with 403 leaving no trace', async () => {
    const proposed = await api.call('POST', `/v1/incidents/${incidentId}/corrections`, {
      token: token.commander,
      body: { kind: 'rate_limit', scope: { tiers: ['free'] }, parameters: { requestsPerMinute: 5, per: 'user' }, reason: 'Slow probing on the free tier' },
    });
    expect(proposed.status, JSON.stringify(proposed.body)).toBe(201);
    const correctionId = proposed.body.correctionId as string;
    await eventually(async () =>
      (await database.db.selectFrom('corrections').select('state').where('id', '=', correctionId).executeTakeFirst())?.state === 'proposed' ? true : undefined,
    );

    const { context, page } = await signIn(token.responder!);
    try {
      await expectText(page.locator(`tr[data-correction="${correctionId}"]`), 'proposed');
      await expectCount(page.getByRole('button', { name: /approve/i }), 0);
      await page.goto(`${api.url}/console/decisions`);
      await expectCount(page.getByRole('button', { name: /approve/i }), 0);

      const before = await timelineEvents();
      const csrf = await page.locator('input[name="_csrf"]').first().inputValue();
      const forged = await page.request.post(`${api.url}/console/corrections/${correctionId}/decision`, {
        form: { _csrf: csrf, decision: 'approve', rationale: 'forged by a responder' },
        maxRedirects: 0,
      });
      expect(forged.status()).toBe(403);
      expect(await forged.text()).toContain('approver, admin');
      // Without the session's CSRF secret, even an approver's browser is refused.
      const approver = await signIn(token.headOfSafety!);
      try {
        const noCsrf = await approver.page.request.post(`${api.url}/console/corrections/${correctionId}/decision`, {
          form: { decision: 'approve', rationale: 'cross-site' },
          maxRedirects: 0,
        });
        expect(noCsrf.status()).toBe(403);
        const crossSite = await approver.page.request.post(`${api.url}/console/corrections/${correctionId}/decision`, {
          form: { _csrf: await approver.page.locator('input[name="_csrf"]').first().inputValue(), decision: 'approve', rationale: 'cross-site' },
          headers: { origin: 'https://evil.example' },
          maxRedirects: 0,
        });
        expect(crossSite.status()).toBe(403);
        const garbled = await approver.page.request.post(`${api.url}/console/corrections/${correctionId}/decision`, {
          form: { _csrf: await approver.page.locator('input[name="_csrf"]').first().inputValue(), decision: 'approve', rationale: 'cross-site' },
          headers: { origin: 'not an origin' },
          maxRedirects: 0,
        });
        expect(garbled.status()).toBe(403);
      } finally {
        await approver.context.close();
      }

      expect(await timelineEvents()).toEqual(before);
      expect(await database.db.selectFrom('approvals').selectAll().where('correction_id', '=', correctionId).execute()).toEqual([]);
      const live = await api.call('GET', `/v1/corrections/${correctionId}`, { token: token.responder });
      expect(live.body).toMatchObject({ state: 'proposed', live: { votes: [] } });
    } finally {
      await context.close();
    }
  }, 120_000);

  it('lets compliance download the signed JSON export, which `correx audit verify` accepts, and shows each chain verified', async () => {
    const { context, page } = await signIn(token.compliance!);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'correx-console-export-'));
    try {
      await page.locator('[data-chain]').waitFor({ state: 'visible' });
      expect(await page.locator('[data-chain]').innerText()).toMatch(/^Chain verified/);
      await page.getByRole('link', { name: 'Compliance' }).click();
      await page.locator('tr', { hasText: 'nerve agent' }).locator('[data-chain="verified"]').waitFor({ state: 'visible' });

      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.locator('tr', { hasText: 'nerve agent' }).getByRole('link', { name: 'Export JSON (signed)' }).click(),
      ]);
      const file = path.join(dir, download.suggestedFilename());
      expect(download.suggestedFilename()).toMatch(/^correx-export-.+\.json$/);
      await download.saveAs(file);
      const keyFile = path.join(dir, 'signing-key.pem');
      await writeFile(keyFile, testSigningKey.publicKeyPem);
      const verified = await run(process.execPath, ['bin/correx.js', 'audit', 'verify', file, '--public-key', keyFile], { cwd: projectRoot });
      expect(verified.stdout).toMatch(/^verified: 1 incident, \d+ events, signed by key /);

      // The export is on the record, by the person who downloaded it.
      const exported = await database.db
        .selectFrom('timeline_events')
        .select(['actor', 'data'])
        .where('incident_id', '=', incidentId)
        .where('kind', '=', 'timeline.exported')
        .execute();
      expect(exported.map((e) => e.actor)).toContain('hannah-vogel');

      const [csv] = await Promise.all([
        page.waitForEvent('download'),
        page.locator('tr', { hasText: 'nerve agent' }).getByRole('link', { name: 'Export CSV' }).click(),
      ]);
      expect(csv.suggestedFilename()).toMatch(/\.csv$/);
    } finally {
      await context.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('produces screenshots of the incident page at desktop and phone widths with nothing cut off, overlapping or below WCAG AA contrast', async () => {
    // Something pending for the screenshot: another proposal waiting on the head of safety.
    const pending = await api.call('POST', `/v1/incidents/${incidentId}/corrections`, {
      token: token.responder,
      body: {
        kind: 'capability_restriction',
        scope: { tiers: ['free', 'pro'] },
        parameters: { disabledCapabilities: ['web-browsing'] },
        reason: 'Browsing fetches the precursor recipes',
      },
    });
    expect(pending.status, JSON.stringify(pending.body)).toBe(201);
    const problems: string[] = [];
    for (const [name, viewport] of [
      ['desktop', { width: 1366, height: 900 }],
      ['phone', { width: 390, height: 844 }],
    ] as const) {
      const { context, page } = await signIn(token.headOfSafety!, { viewport });
      try {
        await page.locator('article.decision', { hasText: 'capabilities switched off' }).waitFor({ timeout: 30_000 });
        // The regulator clocks the classification started, with their deadlines and states.
        await expectText(page.locator('[data-region="clocks"] tbody'), /EU AI Act[\s\S]*(waiting|drafted)/);
        await page.screenshot({ path: path.join(screenshots, `incident-${name}.png`), fullPage: true });
        await page.screenshot({ path: path.join(screenshots, `incident-${name}-first-screen.png`) });
        problems.push(...((await page.evaluate(layoutProblems)) as string[]).map((p) => `incident page, ${name}: ${p}`));
        for (const [page_, url] of [
          ['incidents', '/console'],
          ['decisions', '/console/decisions'],
        ] as const) {
          await page.goto(`${api.url}${url}`);
          await page.screenshot({ path: path.join(screenshots, `${page_}-${name}.png`), fullPage: true });
          problems.push(...((await page.evaluate(layoutProblems)) as string[]).map((p) => `${page_}, ${name}: ${p}`));
        }
      } finally {
        await context.close();
      }
    }
    expect(problems).toEqual([]);
  }, 120_000);

  it('can be used with the keyboard alone: every control has a name and is reachable', async () => {
    const { context, page } = await signIn(token.headOfSafety!);
    try {
      const unnamed = await page.evaluate(`[...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
        .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !(el.textContent || '').trim())
        .map((el) => el.outerHTML.slice(0, 80))`);
      expect(unnamed).toEqual([]);
      await page.keyboard.press('Tab');
      expect(await page.evaluate('document.activeElement.textContent')).toBe('Skip to content');
      const reached = new Set<string>();
      for (let i = 0; i < 60; i++) {
        await page.keyboard.press('Tab');
        reached.add((await page.evaluate('(document.activeElement.textContent || document.activeElement.getAttribute("name") || "").trim()')) as string);
      }
      expect([...reached]).toEqual(expect.arrayContaining(['Approve capabilities switched off', 'Reject', 'Sign out']));
    } finally {
      await context.close();
    }
  }, 60_000);

  it('keeps the session in an HTTP-only SameSite cookie that ends with sign-out or with its token', async () => {
    const personal = await createToken(database.db, { owner: 'daniel-cho', roles: ['approver'] });
    const { context, page } = await signIn(personal.secret);
    try {
      const [cookie] = (await context.cookies()).filter((c) => c.name === 'correx_session');
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console' });
      expect(await page.evaluate('document.cookie')).not.toContain('correx_session');
      const stored = await database.db.selectFrom('console_sessions').select(['id_hash', 'token_id']).where('token_id', '=', personal.token.id).execute();
      expect(stored).toHaveLength(1);
      expect(stored[0]!.id_hash).not.toBe(cookie!.value);

      await revokeToken(database.db, personal.token.id);
      await page.goto(`${api.url}/console/decisions`);
      expect(new URL(page.url()).pathname).toBe('/console/sign-in');

      const again = await signIn(token.headOfSafety!);
      await again.page.getByRole('button', { name: 'Sign out' }).click();
      await again.page.waitForURL(/\/console\/sign-in$/);
      await again.page.goto(`${api.url}/console`);
      expect(new URL(again.page.url()).pathname).toBe('/console/sign-in');
      await again.context.close();

      // A wrong token is refused with a reason; a machine token cannot sign in.
      await page.getByLabel('Your personal API token').fill('crx_not-a-token');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expectText(page.locator('[role="alert"]'), 'That token is not known.', { exact: true });
      const gateway = await createToken(database.db, { owner: 'edge-proxy', roles: ['gateway'] });
      await page.getByLabel('Your personal API token').fill(gateway.secret);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expectText(page.locator('[role="alert"]'), 'sign in with a personal token');
    } finally {
      await context.close();
    }
  }, 60_000);

  it('lists a new incident without a reload', async () => {
    const { context, page } = await signIn(token.responder!);
    try {
      await page.goto(`${api.url}/console`);
      await page.evaluate('window.__stillTheSamePage = true');
      const opened = await api.call('POST', '/v1/incidents', {
        token: token.responder,
        body: { systemId: 'frontier-assistant', title: 'Refusal rate collapsed on the pro tier', severity: 'SEV3' },
      });
      expect(opened.status).toBe(202);
      const row = page.locator('tr', { hasText: 'Refusal rate collapsed' });
      await row.waitFor({ timeout: 30_000 });
      expect(await page.evaluate('window.__stillTheSamePage')).toBe(true);
      await expectText(row, 'SEV3');
      await expectText(row, 'triggered');
      // Filters narrow the list and survive the live updates.
      await page.getByLabel('Severity').selectOption('SEV2');
      await page.getByRole('button', { name: 'Filter' }).click();
      await expectCount(page.locator('tr', { hasText: 'Refusal rate collapsed' }), 0);
      await expectCount(page.locator('tr', { hasText: 'nerve agent' }), 1);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('sets the Secure flag over HTTPS and refuses to sign in over plain HTTP from another machine', async () => {
    const proxied = await startApi(database.db, worker, { trustProxy: true });
    try {
      const signInAs = async (headers: Record<string, string>) => {
        const form = await fetch(`${proxied.url}/console/sign-in`, { headers });
        const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
        const preSession = form.headers.get('set-cookie')!.split(';')[0]!;
        return fetch(`${proxied.url}/console/sign-in`, {
          method: 'POST',
          redirect: 'manual',
          headers: { ...headers, cookie: preSession, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ _csrf: csrf, token: token.headOfSafety!, next: '/console' }).toString(),
        });
      };
      const overHttps = await signInAs({ 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9' });
      expect(overHttps.status).toBe(303);
      expect(overHttps.headers.get('set-cookie')).toMatch(
        /correx_session=[^;]+;.*HttpOnly.*Secure.*SameSite=Strict|correx_session=[^;]+;.*Secure.*HttpOnly.*SameSite=Strict/,
      );
      const overHttp = await signInAs({ 'x-forwarded-proto': 'http', 'x-forwarded-for': '203.0.113.9' });
      expect(overHttp.status).toBe(400);
      expect(await overHttp.text()).toContain('signs in over HTTPS only');
      expect(overHttp.headers.get('set-cookie') ?? '').not.toContain('correx_session=');
    } finally {
      await proxied.close();
    }
  });

  it('puts follow-up tasks and the review sign-off in the inbox of the people they wait on', async () => {
    const opened = await api.call('POST', '/v1/incidents', {
      token: token.commander,
      body: { systemId: 'frontier-assistant', title: 'Toxic completions in the Dutch locale', severity: 'SEV3' },
    });
    expect(opened.status, JSON.stringify(opened.body)).toBe(202);
    const id = opened.body.incidentId as string;
    expect((await api.call('POST', `/v1/incidents/${id}/acknowledge`, { token: token.commander })).status).toBe(200);
    expect((await api.call('POST', `/v1/incidents/${id}/resolve`, { token: token.commander, body: { reason: 'Filter list updated' } })).status).toBe(200);
    const tasks = await eventually(async () => {
      const rows = await database.db.selectFrom('tasks').selectAll().where('incident_id', '=', id).execute();
      return rows.length === 4 ? rows : undefined;
    });

    const commander = await signIn(token.commander!);
    try {
      await commander.page.getByRole('link', { name: /Decisions/ }).click();
      const card = commander.page.locator('article.decision', { hasText: 'Write the after-action review' });
      await card.waitFor();
      await card.getByLabel('Note (optional)').fill('Draft shared with the safety team');
      await card.getByRole('button', { name: 'Mark done' }).click();
      await expectText(commander.page.locator('.notice'), 'The task is marked done.');
      expect(new URL(commander.page.url()).pathname).toBe('/console/decisions');
      await expectCount(commander.page.locator('article.decision', { hasText: 'Write the after-action review' }), 0);
      const done = tasks.find((t) => t.title === 'Write the after-action review')!;
      expect(await database.db.selectFrom('tasks').select(['state', 'reason']).where('id', '=', done.id).executeTakeFirst()).toEqual({
        state: 'done',
        reason: 'Draft shared with the safety team',
      });
    } finally {
      await commander.context.close();
    }

    const submitted = await api.call('POST', `/v1/incidents/${id}/review`, {
      token: token.commander,
      body: {
        summary: 'A filter list missed Dutch slurs',
        impact: 'Offensive completions to about 40 users',
        rootCause: 'The locale filter list was not updated with the model',
        attribution: [{ stage: 'deployment-configuration', actor: 'deployer', confidence: 'medium', evidence: [{ description: 'filter list diff' }] }],
      },
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(200);
    for (const task of tasks.filter((t) => t.title !== 'Write the after-action review')) {
      const completed = await api.call('POST', `/v1/tasks/${task.id}/done`, { token: token.commander, body: {} });
      expect(completed.status, JSON.stringify(completed.body)).toBe(200);
    }

    const manager = await signIn(await api.token('sofia-marquez', ['approver']));
    try {
      await manager.page.goto(`${api.url}/console/decisions`);
      const signOff = manager.page.locator('article.decision', { hasText: 'Sign off the after-action review' });
      await signOff.waitFor({ timeout: 30_000 });
      await expectText(signOff, 'Toxic completions in the Dutch locale');
      await signOff.getByRole('button', { name: 'Sign off and close' }).click();
      await expectText(manager.page.locator('.notice'), 'The review is signed off');
      await eventually(
        async () =>
          (await database.db.selectFrom('incidents').select('state').where('id', '=', id).executeTakeFirst())?.state === 'closed' ? true : undefined,
        30_000,
      );
      const signed = await database.db.selectFrom('after_action_reviews').select(['signed_off_by']).where('incident_id', '=', id).executeTakeFirst();
      expect(signed?.signed_off_by).toBe('sofia-marquez');
    } finally {
      await manager.context.close();
    }
  }, 120_000);

  it('in local mode signs in as the local administrator only with the printed link, never by address, and shows the outbox', async () => {
    const outboxDir = await mkdtemp(path.join(os.tmpdir(), 'correx-console-outbox-'));
    const admin = await createToken(database.db, { owner: 'local-admin', roles: ['admin'] });
    const key = 'k'.repeat(43);
    const local = await startApi(database.db, worker, { console: { localSignIn: { key, adminToken: () => admin.secret }, outboxDir } });
    const context = await browser.newContext();
    try {
      const mailer = createMailer({ smtpUrl: undefined, outboxDir, from: 'correx@localhost' });
      await mailer.send({
        to: 'lexicon-legal@partner.example',
        subject: 'Access to frontier-assistant is shut down',
        text: 'Your fallback is being activated.',
        idempotencyKey: 'console-test-notice',
      });
      const page = await context.newPage();
      // From this very machine, but without the key: asked to sign in like anyone else (a reverse proxy
      // on this host would make every visitor look local).
      await page.goto(`${local.url}/console`);
      expect(new URL(page.url()).pathname).toBe('/console/sign-in');
      await expectText(page.locator('main'), 'open the sign-in link correx dev printed');
      const wrong = await page.goto(`${local.url}/console/local-sign-in?key=${'x'.repeat(43)}`);
      expect(wrong?.status()).toBe(403);
      await expectText(page.locator('main'), 'That sign-in link is not valid');
      expect((await context.cookies()).some((c) => c.name === 'correx_session')).toBe(false);

      await page.goto(`${local.url}/console/local-sign-in?key=${key}&next=${encodeURIComponent('/console/decisions')}`);
      expect(new URL(page.url()).pathname).toBe('/console/decisions');
      await expectText(page.locator('header .who'), 'local-admin');
      await page.getByRole('link', { name: 'Outbox' }).click();
      await expectText(page.locator('main'), 'Access to frontier-assistant is shut down');
      await expectText(page.locator('main'), 'lexicon-legal@partner.example');
    } finally {
      await context.close();
      await local.close();
      await rm(outboxDir, { recursive: true, force: true });
    }
  }, 60_000);
});
