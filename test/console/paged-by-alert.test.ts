import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../services/access/repository.js';
import { startAlertmanager, type RunningAlertmanager } from '../support/alertmanager.js';
import { expectText, launchChromium } from '../support/browser.js';
import { runCorrex } from '../support/cli.js';
import { layoutProblems } from '../support/console.js';
import { eventually } from '../support/database.js';
import { projectRoot } from '../support/environment.js';
import type { ReceivedMail } from '../support/smtp.js';
import { useIncidentStack } from '../support/stack.js';

type Trigger = { id: string; threshold?: unknown };
const screenshots = path.join(projectRoot, 'test-results', 'paged-by-alert');

/**
 * The person on call, paged about an incident that an alert opened (nobody triggered it by hand):
 * the page says what to do, links to the console page where it is done and gives the command; the
 * link, followed on a phone, offers "Acknowledge" and taking it stops the paging; the other person
 * paged, running the command from the same mail, is told who already has command.
 */
describe('paged by an alert: from the mail to an acknowledgement', () => {
  const stack = useIncidentStack({
    api: true,
    mailSink: true,
    runbookFiles: {
      'frontier-assistant': {
        from: 'frontier-assistant',
        adjust(runbook) {
          delete (runbook.triggers as Trigger[]).find((t) => t.id === 'jailbreak-rate')!.threshold;
        },
      },
    },
  });
  let alertmanager: RunningAlertmanager | undefined;
  let browser: Browser | undefined;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'correx-paged-by-alert-'));
    await mkdir(screenshots, { recursive: true });
  });
  afterAll(async () => {
    await alertmanager?.stop();
    await browser?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const pageTo = (address: string) => (mail: ReceivedMail) =>
    mail.to.includes(address) && /^\[Correx SEV\d\] frontier-assistant: /.test(mail.subject) && /you are paged/.test(mail.text);

  it('pages with what to do, a console link and the command; the link acknowledges on a phone; the command then says who has command', async () => {
    const { secret } = await createToken(stack.db, { owner: 'alertmanager', roles: ['ingest'] });
    alertmanager = await startAlertmanager({ webhookUrl: `${stack.api.url}/v1/ingest/alertmanager`, bearerToken: secret, groupBy: ['alertname'] });
    await alertmanager.postAlerts([
      {
        labels: { alertname: 'JailbreakRateHigh', system: 'frontier-assistant', severity: 'critical' },
        annotations: { summary: 'Jailbreak success rate 3.1% on the live classifier' },
      },
    ]);
    const incident = await eventually(
      () => stack.db.selectFrom('incidents').selectAll().where('system_id', '=', 'frontier-assistant').executeTakeFirst(),
      30_000,
    );
    expect(incident.opened_by).not.toBe('amara-okafor');

    // Both on-call engineers get the level-1 page, each with the same three things.
    const mails = await eventually(async () => {
      const amara = stack.mail.received.find(pageTo('amara.okafor@meridian.example'));
      const jonas = stack.mail.received.find(pageTo('jonas.berg@meridian.example'));
      return amara && jonas ? { amara, jonas } : undefined;
    }, 30_000);
    for (const mail of [mails.amara, mails.jonas]) {
      expect(mail.subject).toBe('[Correx SEV2] frontier-assistant: Jailbreak success rate 3.1% on the live classifier (alertname=JailbreakRateHigh)');
      expect(mail.text).toContain(`What to do: Acknowledge incident ${incident.id} to stop the escalation and take command`);
      expect(mail.text).toContain(`Open: ${stack.api.url}/console/incidents/${incident.id}\n`);
      expect(mail.text).toContain(`Or in a terminal: correx incident ack ${incident.id}`);
      expect(mail.html).toContain(`href="${stack.api.url}/console/incidents/${incident.id}"`);
    }

    // Amara follows the link on her phone, signs in on the way, and acknowledges there.
    const token = await stack.api.token('amara-okafor', ['responder']);
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
    const page = await context.newPage();
    await page.goto(/Open: (\S+)/.exec(mails.amara.text)![1]!);
    await page.getByLabel('Your personal API token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${stack.api.url}/console/incidents/${incident.id}`);
    await expectText(page.locator('dl.facts'), 'nobody has acknowledged yet');
    await expectText(page.locator('dl.facts'), /Paging\npaging level by level until someone acknowledges \([12] pages? sent so far\)/);
    await page.screenshot({ path: path.join(screenshots, 'before-acknowledge-390.png'), fullPage: true });
    expect(await page.evaluate(layoutProblems)).toEqual([]);
    await page.getByRole('button', { name: 'Acknowledge and take command' }).click();
    await page.waitForURL(/done=acknowledged/);
    await expectText(page.locator('[role=status], .flash').first(), 'You acknowledged the incident: paging has stopped');
    await expectText(page.locator('dl.facts'), 'Commander\nAmara Okafor');
    await expectText(page.locator('dl.facts'), 'Paging\nstopped by Amara Okafor after 2 pages');
    expect(await page.getByRole('button', { name: 'Acknowledge and take command' }).count()).toBe(0);
    await page.screenshot({ path: path.join(screenshots, 'after-acknowledge-390.png'), fullPage: true });

    // Paging stopped, by her.
    expect((await stack.clients.incidents.state(incident.workflow_id)).escalation).toMatchObject({ state: 'stopped', stoppedBy: 'amara-okafor' });

    // Jonas runs the command from his mail, as written, and is told who has command.
    const command = /Or in a terminal: (.+)/.exec(mails.jonas.text)![1]!.trim().split(/\s+/).slice(1);
    const jonas = await runCorrex([...command, '--server', stack.api.url], {
      CORREX_TOKEN: await stack.api.token('jonas-berg', ['responder']),
      CORREX_CONFIG: path.join(dir, 'no-config.json'),
      CORREX_DATA_DIR: dir,
    });
    expect(jonas.code, jonas.stdout + jonas.stderr).not.toBe(0);
    expect(jonas.stderr).toContain('incident is already acknowledged (commander: amara-okafor)');
  }, 120_000);
});
