import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { correctionWorkflowId } from '../../services/identity.js';
import { expectText, launchChromium } from '../support/browser.js';
import { runCorrex, type CliResult } from '../support/cli.js';
import { eventually } from '../support/database.js';
import { projectRoot } from '../support/environment.js';
import type { ReceivedMail } from '../support/smtp.js';
import { breakFallbackOf } from '../support/runbooks.js';
import { useIncidentStack } from '../support/stack.js';

const secret = 'sev1-journey-webhook-secret-01234567';
const screenshots = path.join(projectRoot, 'test-results', 'journey');

/**
 * Issue #19's journey, played by its people and asserted on what each receives and sees: the on-call
 * engineer triggers and proposes a shutdown in the CLI; each approver is mailed at once with a link
 * that opens the decision in the console; both approve on a phone (390×844), the card showing what
 * the shutdown does, whom it cuts off, the vote still missing and the time left; the healthy customer
 * hears "in force" within seconds of the apply and "lifted" within seconds of the lift whatever the
 * failing one does; the failing one shows as failing and stops paging at close; compliance exports
 * the timeline and the chain verifies.
 */
describe('a SEV1 shutdown of frontier-assistant, from the CLI to the phone to the customer', () => {
  const stack = useIncidentStack({
    api: true,
    mailSink: true,
    controlEndpoint: { secret },
    runbookFiles: {
      'frontier-assistant': {
        from: 'frontier-assistant',
        adjust: (runbook, s) => {
          s.routeToEndpoint(runbook, { enforcement: true });
          breakFallbackOf(runbook, 'lexicon-legal');
        },
      },
    },
  });
  let dir: string;
  let browser: Browser;
  const tokens: Record<string, string> = {};
  let incidentId: string;
  let correctionId: string;

  const as = (person: string, args: string[]) =>
    runCorrex([...args, '--server', stack.api.url], { CORREX_TOKEN: tokens[person]!, CORREX_CONFIG: path.join(dir, 'no-config.json'), CORREX_DATA_DIR: dir });
  const ok = (result: CliResult) => {
    expect(result.code, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`).toBe(0);
    return result.stdout;
  };
  const mailTo = (address: string, subject: RegExp) => (mail: ReceivedMail) => mail.to.includes(address) && subject.test(mail.subject);
  const correctionState = async () => (await stack.api.call('GET', `/v1/corrections/${correctionId}`, { token: tokens['hannah-vogel'] })).body;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'correx-sev1-journey-'));
    await mkdir(screenshots, { recursive: true });
    browser = await launchChromium();
    tokens['jonas-berg'] = await stack.api.token('jonas-berg', ['responder']);
    tokens['daniel-cho'] = await stack.api.token('daniel-cho', ['approver']);
    tokens['priya-raman'] = await stack.api.token('priya-raman', ['approver']);
    tokens['hannah-vogel'] = await stack.api.token('hannah-vogel', ['compliance']);
  });
  afterAll(async () => {
    await browser?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the on-call engineer triggers, acknowledges and proposes a shutdown in the CLI', async () => {
    const triggered = ok(
      await as('jonas-berg', [
        'incident',
        'trigger',
        'frontier-assistant',
        '--severity',
        'SEV1',
        '--title',
        'Model gives step-by-step uplift for a nerve agent',
        '--json',
      ]),
    );
    incidentId = (JSON.parse(triggered) as { incidentId: string }).incidentId;
    ok(await as('jonas-berg', ['incident', 'ack', incidentId]));
    const proposed = ok(
      await as('jonas-berg', [
        'correction',
        'propose',
        incidentId,
        '--kind',
        'shutdown',
        '--reason',
        'INTERNAL: red team repro 3/3, legal wants it off',
        '--customer-message',
        'We paused the assistant while we fix a safety problem in its answers; we expect it back within a day.',
        '--json',
      ]),
    );
    correctionId = (JSON.parse(proposed) as { correctionId: string }).correctionId;
  }, 60_000);

  it('mails each approver at once, with what to decide, a working console link and the CLI command', async () => {
    for (const address of ['daniel.cho@meridian.example', 'priya.raman@meridian.example']) {
      const mail = await eventually(async () => stack.mail.received.find(mailTo(address, /decide on shutdown/)), 15_000);
      expect(mail.subject).toBe('[Correx SEV1] frontier-assistant: decide on shutdown (Model gives step-by-step uplift for a nerve agent)');
      expect(mail.text).toContain(`What to do: Approve or reject the shutdown (${correctionId})`);
      expect(mail.text).toContain(`Open: ${stack.api.url}/console/incidents/${incidentId}#decisions`);
      expect(mail.text).toContain(`correx correction approve ${correctionId} --rationale`);
      expect(mail.text).toContain('frontier-assistant is shut down for everyone: the model is not served');
      expect(mail.text).toMatch(
        /It needs 2 approvals from different roles among head-of-safety, cto\. Without a decision by \d+ \w+ 20\d\d, \d\d:\d\d UTC it is escalated/,
      );
    }
    // The proposer is not asked to decide on their own proposal.
    expect(stack.mail.received.filter(mailTo('jonas.berg@meridian.example', /decide on/))).toEqual([]);
  });

  /** Follows the link in the person's mail on a phone, signing in on the way. */
  const openFromMail = async (person: string, address: string): Promise<Page> => {
    const mail = stack.mail.received.find(mailTo(address, /decide on shutdown/))!;
    const link = /Open: (\S+)/.exec(mail.text)![1]!;
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
    const page = await context.newPage();
    await page.goto(link);
    await page.getByLabel('Your personal API token').fill(tokens[person]!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${stack.api.url}/console/incidents/${incidentId}`);
    return page;
  };

  it('both approve on a phone from the link, the card showing what they decide, the vote missing and the time left', async () => {
    const daniel = await openFromMail('daniel-cho', 'daniel.cho@meridian.example');
    const card = daniel.locator(`article.decision[data-correction="${correctionId}"]`);
    await expectText(card.locator('.what'), 'Meridian Assistant API is shut down for everyone: the model is not served.', { exact: true });
    await expectText(card.locator('[data-consumers]'), 'Lexicon Legal (contract drafting)');
    await expectText(card.locator('[data-consumers]'), 'Northwind customer support chatbot');
    await expectText(card.locator('[data-still-needed]'), '2 more approvals, one from each of head-of-safety (you) and cto (Priya Raman).', { exact: true });
    await expectText(card.locator('.deadline time[data-age="until"]'), /^in 1[45] min/);
    // The internal rationale is shown to approvers, who decide on it; it never reaches customers (below).
    await expectText(card, 'INTERNAL: red team repro 3/3');
    await daniel.screenshot({ path: path.join(screenshots, 'phone-decision-card.png'), fullPage: true });
    await card.getByLabel(/Rationale/).fill('Uplift is live for every user; shutting down is proportionate');
    await card.getByRole('button', { name: 'Approve shutdown' }).click();
    await daniel.waitForURL(/done=approved/);
    await expectText(daniel.locator('.notice'), 'It still needs 1 more approval, from cto (Priya Raman).');
    await daniel.context().close();

    const priya = await openFromMail('priya-raman', 'priya.raman@meridian.example');
    const second = priya.locator(`article.decision[data-correction="${correctionId}"]`);
    await expectText(second.locator('[data-still-needed]'), '1 more approval, from cto (you).', { exact: true });
    await second.getByLabel(/Rationale/).fill('Agreed: stop serving until the filter is fixed');
    await second.getByRole('button', { name: 'Approve shutdown' }).click();
    await priya.waitForURL(/done=approved/);
    await priya.context().close();
    await eventually(async () => ((await correctionState()).live?.state === 'active' ? true : undefined), 30_000);
  }, 120_000);

  it('tells the healthy customer at once, in words, and shows the failing one as failing', async () => {
    const appliedAt = Date.now();
    const inForce = await eventually(async () => stack.mail.received.find(mailTo('support-eng@northwind.example', /service restricted since/)));
    expect(inForce.at - appliedAt).toBeLessThan(5_000);
    expect(inForce.text).toContain('Meridian Assistant API is shut down for everyone: the model is not served.');
    expect(inForce.text).not.toContain('INTERNAL');
    // The proposer's message for customers, not the runbook's default for shutdowns.
    expect(inForce.text).toContain('We paused the assistant while we fix a safety problem in its answers; we expect it back within a day.');
    expect(inForce.text).not.toContain('We have stopped serving the model');
    const failing = await eventually(
      async () =>
        ((await correctionState()).live?.downstream as { consumerId: string; fallback: string; lastError?: string }[] | undefined)?.find(
          (d) => d.consumerId === 'lexicon-legal' && d.fallback === 'failing',
        ),
      60_000,
    );
    expect(failing.lastError).toContain('127.0.0.1:9/llm-fallback unreachable');
    // The commander sees it on the incident page.
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${stack.api.url}/console/incidents/${incidentId}`);
    await page.getByLabel('Your personal API token').fill(tokens['jonas-berg']!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expectText(page.locator('td[data-label="Fallback"]').first(), 'failing to switch on');
    await page.screenshot({ path: path.join(screenshots, 'desktop-failing-fallback.png'), fullPage: true });
    await context.close();
  }, 90_000);

  it('lifts with both approvers, and the healthy customer hears of it within seconds', async () => {
    const restoration = ['--restoration', 'fix-deployed=CBRN filter v3 deployed', '--restoration', 'evaluation-passed=red team repro 0/50'];
    ok(await as('daniel-cho', ['correction', 'lift', correctionId, '--rationale', 'Filter fixed and verified', ...restoration]));
    ok(await as('priya-raman', ['correction', 'lift', correctionId, '--rationale', 'Agreed', ...restoration]));
    await eventually(async () => ((await correctionState()).state === 'lifted' ? true : undefined), 30_000);
    const liftedAt = Date.now();
    const lifted = await eventually(async () => stack.mail.received.find(mailTo('support-eng@northwind.example', /restriction lifted/)));
    expect(lifted.at - liftedAt).toBeLessThan(5_000);
    await eventually(async () => stack.mail.received.find(mailTo('cto@lexicon-legal.example', /restriction lifted/)));
  }, 90_000);

  it('stops paging about the failing fallback at close; compliance exports the timeline and the chain verifies', async () => {
    await eventually(
      async () => ((await stack.clients.incidents.state(await workflowIdOf(incidentId))).corrections[0]?.state === 'lifted' ? true : undefined),
      60_000,
    );
    ok(await as('jonas-berg', ['incident', 'resolve', incidentId, '--reason', 'Filter fixed']));
    const template = ok(await as('jonas-berg', ['review', 'template', incidentId]));
    const file = path.join(dir, 'review.yaml');
    await writeFile(file, template.replaceAll('TODO: ', ''));
    ok(await as('jonas-berg', ['review', 'submit', incidentId, '--file', file]));
    // The follow-up tasks are done (the commander may complete any of them) before the review is signed off.
    const tasks = (await stack.api.call('GET', `/v1/tasks?incidentId=${incidentId}`, { token: tokens['jonas-berg'] })).body.items as {
      id: string;
      state: string;
    }[];
    for (const task of tasks.filter((t) => t.state === 'open')) ok(await as('jonas-berg', ['task', 'done', task.id, '--note', 'done in the review']));
    ok(await as('daniel-cho', ['review', 'sign-off', incidentId]));
    await eventually(async () =>
      (await stack.api.call('GET', `/v1/incidents/${incidentId}`, { token: tokens['hannah-vogel'] })).body.state === 'closed' ? true : undefined,
    );

    await eventually(async () =>
      stack.db.selectFrom('timeline_events').select('seq').where('incident_id', '=', incidentId).where('kind', '=', 'fallback.abandoned').executeTakeFirst(),
    );
    const failurePages = () =>
      stack.mail.received.filter((m) => m.to.includes('jonas.berg@meridian.example') && /fallback of Lexicon Legal/.test(m.text)).length;
    const atClose = failurePages();
    expect(atClose).toBeGreaterThan(0);
    expect(atClose).toBeLessThanOrEqual(6);
    await stack.settled(correctionWorkflowId(await workflowIdOf(incidentId), correctionId));
    expect(failurePages()).toBe(atClose);

    const exported = path.join(dir, 'timeline.json');
    ok(await as('hannah-vogel', ['export', 'timeline', '--incident', incidentId, '-o', exported]));
    const key = path.join(dir, 'signing-key.pem');
    await writeFile(key, await (await fetch(`${stack.api.url}/.well-known/correx-signing-key`)).text());
    const verified = await runCorrex(['audit', 'verify', exported, '--public-key', key], { CORREX_DATA_DIR: dir });
    expect(verified.code, verified.stdout + verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/verified/i);
  }, 120_000);

  const workflowIdOf = async (id: string) =>
    (await stack.db.selectFrom('incidents').select('workflow_id').where('id', '=', id).executeTakeFirstOrThrow()).workflow_id;
});
