import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type RunningApi } from '../support/api.js';
import { launchChromium } from '../support/browser.js';
import { layoutProblems } from '../support/console.js';
import { createPostgresTestDatabase, eventually, type TestDatabase } from '../support/database.js';
import { projectRoot } from '../support/environment.js';
import { startDevServerWorker, testNamespace, type RunningWorker } from '../support/temporal.js';

/**
 * Operators go from an incident to its workflow: the API and the console show the workflow id (free of
 * shell-special characters, even for a dedup key full of them) and, with CORREX_TEMPORAL_UI_URL set, a
 * link into the Temporal web UI. The UI here is a stand-in that records what the browser asked it for.
 */
describe('console: the incident workflow id and its Temporal UI link', () => {
  let database: TestDatabase;
  let worker: RunningWorker;
  let api: RunningApi;
  let plainApi: RunningApi;
  let browser: Browser;
  let ui: http.Server;
  let uiUrl: string;
  const requested: string[] = [];
  let incidentId: string;
  let workflowId: string;
  let namespace: string;
  const dedupKey = 'checkout errors|region=eu west';

  beforeAll(async () => {
    ui = http.createServer((request, response) => {
      requested.push(request.url ?? '');
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>Temporal UI</title><h1>workflow</h1>');
    });
    await new Promise<void>((resolve) => ui.listen(0, '127.0.0.1', resolve));
    uiUrl = `http://127.0.0.1:${(ui.address() as AddressInfo).port}`;
    database = await createPostgresTestDatabase();
    worker = await startDevServerWorker(database.db);
    namespace = await testNamespace();
    // With a trailing slash, as people paste it: the links must not get a double one.
    api = await startApi(database.db, worker, { temporalUiUrl: `${uiUrl}/` });
    plainApi = await startApi(database.db, worker);
    browser = await launchChromium();

    const responder = await api.token('amara-okafor', ['responder']);
    const opened = await api.call('POST', '/v1/incidents', {
      token: responder,
      body: { systemId: 'frontier-assistant', title: 'Checkout answers in the wrong language', severity: 'SEV3', dedupKey },
    });
    expect(opened.status, JSON.stringify(opened.body)).toBe(202);
    incidentId = opened.body.incidentId as string;
    workflowId = opened.body.workflowId as string;
    await eventually(async () => ((await api.call('GET', `/v1/incidents/${incidentId}`, { token: responder })).status === 200 ? true : undefined));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await plainApi?.close();
    await worker?.stop();
    await database?.destroy();
    await new Promise((resolve) => ui?.close(resolve));
  });

  it('shows the workflow id and its Temporal UI address in the API, for one incident and in the list', async () => {
    expect(workflowId).toMatch(/^incident:frontier-assistant:checkout-errors-region-eu-west\.h[0-9a-f]{16}$/);
    const reader = await api.token('hannah-vogel', ['compliance']);
    const expectedUrl = `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
    const shown = await api.call('GET', `/v1/incidents/${incidentId}`, { token: reader });
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ id: incidentId, dedupKey, workflowId, temporalUrl: expectedUrl });
    const listed = await api.call('GET', '/v1/incidents?systemId=frontier-assistant', { token: reader });
    expect((listed.body.items as { id: string }[]).find((i) => i.id === incidentId)).toMatchObject({ workflowId, temporalUrl: expectedUrl });

    // Without the UI's address: the id, and no link.
    const plain = await plainApi.call('GET', `/v1/incidents/${incidentId}`, { token: await plainApi.token('hannah-vogel', ['compliance']) });
    expect(plain.body.workflowId).toBe(workflowId);
    expect(plain.body).not.toHaveProperty('temporalUrl');
  });

  it('shows the workflow id on the incident page, and its link opens that workflow in the Temporal UI', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    try {
      const page = await context.newPage();
      await page.goto(`${api.url}/console/incidents/${incidentId}`);
      await page.getByLabel('Your personal API token').fill(await api.token('jonas-berg', ['responder']));
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${api.url}/console/incidents/${incidentId}`);

      const facts = page.locator('section[aria-labelledby="summary-h"] dl.facts');
      await expect(facts.locator('code.workflow-id').innerText()).resolves.toBe(workflowId);
      const link = facts.getByRole('link', { name: 'open in Temporal UI' });
      const [opened] = await Promise.all([context.waitForEvent('page'), link.click()]);
      await opened.waitForLoadState();
      // The browser asked the UI for this namespace's workflow, by its exact id.
      const asked = new URL(opened.url());
      expect(asked.origin).toBe(uiUrl);
      const [, prefix, ns, kind, id] = asked.pathname.split('/');
      expect([prefix, decodeURIComponent(ns!), kind, decodeURIComponent(id!)]).toEqual(['namespaces', namespace, 'workflows', workflowId]);
      expect(requested.map((r) => decodeURIComponent(r))).toContain(`/namespaces/${namespace}/workflows/${workflowId}`);
      await opened.close();

      // On a phone the long id wraps inside the page.
      expect(await page.evaluate(layoutProblems)).toEqual([]);
      await mkdir(path.join(projectRoot, 'test-results'), { recursive: true });
      await page.screenshot({ path: path.join(projectRoot, 'test-results', 'console-temporal-link.png'), fullPage: true });
    } finally {
      await context.close();
    }
  }, 60_000);

  it('shows the workflow id without a link when the Temporal UI address is not configured', async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(`${plainApi.url}/console/incidents/${incidentId}`);
      await page.getByLabel('Your personal API token').fill(await plainApi.token('jonas-berg', ['responder']));
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${plainApi.url}/console/incidents/${incidentId}`);
      const facts = page.locator('section[aria-labelledby="summary-h"] dl.facts');
      await expect(facts.locator('code.workflow-id').innerText()).resolves.toBe(workflowId);
      await expect(facts.getByRole('link', { name: 'open in Temporal UI' }).count()).resolves.toBe(0);
    } finally {
      await context.close();
    }
  }, 60_000);
});
