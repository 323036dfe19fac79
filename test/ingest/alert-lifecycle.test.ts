import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { createToken } from '../../services/access/repository.js';
import { listTimeline } from '../../services/timeline/repository.js';
import { startAlertmanager, type RunningAlertmanager } from '../support/alertmanager.js';
import { expectText, launchChromium } from '../support/browser.js';
import { layoutProblems, valuesOutOfColumn } from '../support/console.js';
import { projectRoot } from '../support/environment.js';
import { eventually } from '../support/database.js';
import { useIncidentStack } from '../support/stack.js';

type Trigger = { id: string; threshold?: unknown; groupBy?: string[]; onResolved?: string };

/**
 * What an alert's sender means by a resolve, played with the real Alertmanager: each resolve is on the
 * incident's timeline, only the last of its alerts ends it, and then nobody is paged about it any more.
 * The shipped runbook is used as written (so `onResolved` is its default), but for one alert enough to open.
 */
describe('the alert lifecycle: resolves as Alertmanager and PagerDuty mean them', () => {
  const stack = useIncidentStack({
    runbookFiles: {
      'frontier-assistant': {
        from: 'frontier-assistant',
        adjust(runbook) {
          const triggers = runbook.triggers as Trigger[];
          delete triggers.find((t) => t.id === 'jailbreak-rate')!.threshold;
          // The PagerDuty trigger keeps its incident open for people to resolve.
          const weights = triggers.find((t) => t.id === 'weights-access-anomaly')!;
          weights.groupBy = ['dedup_key'];
          weights.onResolved = 'record';
          // A trigger that groups nothing, as a PagerDuty user writes one: each alert is its own incident.
          triggers.push({
            id: 'gateway-errors',
            description: 'Gateway errors reported through PagerDuty',
            match: { sources: ['pagerduty'], labels: { component: 'gateway' } },
            severity: 'SEV3',
          } as Trigger);
        },
      },
    },
    api: true,
  });
  let alertmanager: RunningAlertmanager | undefined;
  let browser: Browser | undefined;
  afterAll(async () => {
    await alertmanager?.stop();
    await browser?.close();
  });

  const incidentTitled = async (fragment: string) => {
    const rows = await stack.db
      .selectFrom('incidents')
      .selectAll()
      .where('system_id', '=', 'frontier-assistant')
      .where('title', 'like', `%${fragment}%`)
      .execute();
    return rows.length === 1 ? rows[0] : undefined;
  };
  /** The escalation of an incident: whether it stopped paging, and who stopped it. */
  const escalationOf = async (incident: { id: string; workflow_id: string }) => (await stack.clients.incidents.state(incident.workflow_id)).escalation;
  /** Paging stopped, and by whom, once the incident has handled what stops it. */
  const stoppedBy = (incident: { id: string; workflow_id: string }) =>
    eventually(async () => {
      const escalation = await escalationOf(incident);
      return escalation?.state === 'stopped' ? escalation.stoppedBy : undefined;
    });

  it('records each resolve of a group, resolves the incident with the last one, and stops its paging', async () => {
    const { secret } = await createToken(stack.db, { owner: 'alertmanager', roles: ['ingest'] });
    alertmanager = await startAlertmanager({
      webhookUrl: `${stack.api.url}/v1/ingest/alertmanager`,
      bearerToken: secret,
      groupBy: ['alertname'],
    });
    const eu = {
      labels: { alertname: 'JailbreakRateHigh', system: 'frontier-assistant', severity: 'critical', region: 'eu' },
      annotations: { summary: 'jailbreak success rate above 2% in eu' },
    };
    const us = { labels: { ...eu.labels, region: 'us' }, annotations: { summary: 'jailbreak success rate above 2% in us' } };
    await alertmanager.postAlerts([eu, us]);
    const incident = await eventually(() => incidentTitled('alertname=JailbreakRateHigh'));
    // Paged: the escalation is running and has sent its first page.
    await eventually(async () => {
      const pages = await stack.db.selectFrom('timeline_events').select('seq').where('incident_id', '=', incident.id).where('kind', '=', 'page.sent').execute();
      return pages.length > 0 ? true : undefined;
    });

    // The incident is named in the sender's words, and its alerts can be read, each as Alertmanager names it.
    expect(incident.title).toMatch(/^jailbreak success rate above 2% in (eu|us) \(alertname=JailbreakRateHigh\)$/);
    const reader = await stack.api.token('lena-vogel', ['responder']);
    const alertsOf = async () => {
      const answer = await stack.api.call('GET', `/v1/incidents/${incident.id}/alerts`, { token: reader });
      expect(answer.status).toBe(200);
      return (answer.body as { items: { alertKey: string; status: string; summary: string; labels: Record<string, string>; signals: number }[] }).items;
    };
    const firing = await eventually(async () => {
      const items = await alertsOf();
      return items.length === 2 ? items : undefined;
    });
    expect(firing.map((a) => [a.labels.region, a.status, a.summary]).sort()).toEqual([
      ['eu', 'firing', 'jailbreak success rate above 2% in eu'],
      ['us', 'firing', 'jailbreak success rate above 2% in us'],
    ]);
    expect(firing.every((a) => /^[0-9a-f]{16}$/.test(a.alertKey) && a.signals === 1)).toBe(true);

    // One of the two alerts is over: on the timeline, and the incident still open and paging.
    await alertmanager.resolveAlerts([eu]);
    const first = await eventually(async () => (await listTimeline(stack.db, incident.id)).find((e) => e.kind === 'alert.resolved'));
    expect(first.actor).toBe('system:monitor');
    expect(first.data).toMatchObject({ source: 'alertmanager', summary: 'jailbreak success rate above 2% in eu', remaining: 1, labels: { region: 'eu' } });
    expect((await stack.db.selectFrom('incidents').select('state').where('id', '=', incident.id).executeTakeFirstOrThrow()).state).toBe('triggered');
    expect((await escalationOf(incident))?.state).toBe('paging');

    // The last one: resolved by the monitor (the runbook's default), and nobody is paged about it any more.
    await alertmanager.resolveAlerts([us]);
    await eventually(async () => {
      const row = await stack.db.selectFrom('incidents').select('state').where('id', '=', incident.id).executeTakeFirstOrThrow();
      return row.state === 'resolved' ? true : undefined;
    }, 30_000);
    const timeline = await listTimeline(stack.db, incident.id);
    // The second alert of the group joined the incident on its timeline (the one that opened it is its cause).
    const joined = timeline.filter((e) => e.kind === 'alert.joined');
    expect(joined).toHaveLength(1);
    expect(joined[0]!.data).toMatchObject({ source: 'alertmanager', summary: expect.stringMatching(/^jailbreak success rate above 2% in (eu|us)$/) });
    const resolves = timeline.filter((e) => e.kind === 'alert.resolved');
    expect(resolves.map((e) => (e.data as { remaining: number }).remaining)).toEqual([1, 0]);
    const resolution = timeline.find((e) => e.kind === 'incident.resolved')!;
    expect(resolution.actor).toBe('system:monitor');
    expect(JSON.stringify(resolution.data)).toMatch(/every alert resolved at its source/);
    expect(await stoppedBy(incident)).toBe('system:monitor');
    // Each alert now stands resolved, its firing and its resolve counted as one alert's signals.
    expect((await alertsOf()).map((a) => [a.labels.region, a.status, a.signals]).sort()).toEqual([
      ['eu', 'resolved', 2],
      ['us', 'resolved', 2],
    ]);

    // The on-call engineer sees the same on the incident's page, on a phone and on a laptop.
    browser = await launchChromium();
    const screenshots = path.join(projectRoot, 'test-results', 'alerts');
    await mkdir(screenshots, { recursive: true });
    for (const [name, viewport] of [
      ['phone', { width: 390, height: 844 }],
      ['desktop', { width: 1366, height: 900 }],
    ] as const) {
      const context = await browser.newContext({ viewport, isMobile: name === 'phone' });
      const page = await context.newPage();
      await page.goto(`${stack.api.url}/console/incidents/${incident.id}`);
      await page.getByLabel('Your personal API token').fill(reader);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${stack.api.url}/console/incidents/${incident.id}`);
      const panel = page.locator('#alerts');
      await expectText(panel.locator('tr[data-alert]').first(), /jailbreak success rate above 2% in (eu|us)/);
      expect(await panel.locator('tr[data-alert]').count()).toBe(2);
      for (const region of ['eu', 'us']) {
        const row = panel.locator('tr[data-alert]', { hasText: `in ${region}` });
        await expectText(row, 'resolved');
        await expectText(row, `region=${region}`);
        await expectText(row, '2 signals');
      }
      expect(await page.evaluate(layoutProblems)).toEqual([]);
      if (name === 'phone') expect((await page.evaluate(valuesOutOfColumn)) as { outside: string[] }).toMatchObject({ outside: [] });
      await panel.screenshot({ path: path.join(screenshots, `${name}-alerts.png`) });
      await context.close();
    }
  }, 120_000);

  it('keeps a PagerDuty incident open under onResolved: record, stops paging, and accepts timestamps without an offset', async () => {
    // A second ago, as Python's datetime.utcnow().isoformat() writes it (microseconds, no offset).
    const observed = new Date(Date.now() - 1000);
    const utcnowIsoformat = `${observed.toISOString().slice(0, -1)}456`;
    const routingKey = (await createToken(stack.db, { owner: 'grafana', roles: ['ingest'], integrationKeyFor: 'frontier-assistant' })).secret;
    const trigger = await stack.api.call('POST', '/v2/enqueue', {
      body: {
        routing_key: routingKey,
        event_action: 'trigger',
        dedup_key: 'weights-lifecycle',
        // As Python's datetime.utcnow().isoformat() writes it: PagerDuty reads it as UTC, and so does Correx.
        payload: {
          summary: 'Unusual read volume on the weights bucket',
          source: 'weights-bucket-7',
          severity: 'critical',
          component: 'weights-store',
          timestamp: utcnowIsoformat,
        },
      },
    });
    expect(trigger.status).toBe(202);
    const incident = await eventually(() => incidentTitled('dedup_key=weights-lifecycle'));
    const signal = await eventually(() => stack.db.selectFrom('signals').select('received_at').where('incident_id', '=', incident.id).executeTakeFirst());
    expect(signal.received_at.toISOString()).toBe(observed.toISOString());

    expect(
      (await stack.api.call('POST', '/v2/enqueue', { body: { routing_key: routingKey, event_action: 'resolve', dedup_key: 'weights-lifecycle' } })).status,
    ).toBe(202);
    const stopped = await eventually(async () => (await listTimeline(stack.db, incident.id)).find((e) => e.kind === 'incident.alerts_resolved'));
    expect(stopped.data).toMatchObject({ paging: 'stopped' });
    expect((await listTimeline(stack.db, incident.id)).find((e) => e.kind === 'alert.resolved')?.data).toMatchObject({
      alertKey: 'weights-lifecycle',
      remaining: 0,
    });
    expect(await stoppedBy(incident)).toBe('system:monitor');
    // Still open for people to resolve.
    expect((await stack.db.selectFrom('incidents').select('state').where('id', '=', incident.id).executeTakeFirstOrThrow()).state).toBe('triggered');
  }, 90_000);

  it('keeps each PagerDuty dedup_key its own incident under a trigger without groupBy, acknowledged and resolved on its own', async () => {
    const routingKey = (await createToken(stack.db, { owner: 'gateway-monitor', roles: ['ingest'], integrationKeyFor: 'frontier-assistant' })).secret;
    const send = async (action: string, dedupKey: string) => {
      const body = {
        routing_key: routingKey,
        event_action: action,
        dedup_key: dedupKey,
        ...(action === 'trigger' ? { payload: { summary: `Gateway 5xx on ${dedupKey}`, source: dedupKey, severity: 'error', component: 'gateway' } } : {}),
      };
      expect((await stack.api.call('POST', '/v2/enqueue', { body })).status).toBe(202);
    };
    const stateOf = async (dedupKey: string) => (await incidentTitled(`dedup_key=${dedupKey}`))?.state;
    await send('trigger', 'gateway-eu');
    await send('trigger', 'gateway-us');
    await eventually(async () => ((await stateOf('gateway-eu')) === 'triggered' && (await stateOf('gateway-us')) === 'triggered' ? true : undefined));
    expect((await incidentTitled('dedup_key=gateway-eu'))!.title).toBe('Gateway 5xx on gateway-eu (dedup_key=gateway-eu)');

    await send('acknowledge', 'gateway-eu');
    await eventually(async () => ((await stateOf('gateway-eu')) === 'acknowledged' ? true : undefined));
    await send('resolve', 'gateway-us');
    await eventually(async () => ((await stateOf('gateway-us')) === 'resolved' ? true : undefined));
    // Each answer reached only its own alert's incident.
    expect(await stateOf('gateway-eu')).toBe('acknowledged');
    const us = (await incidentTitled('dedup_key=gateway-us'))!;
    expect((await listTimeline(stack.db, us.id)).some((e) => e.kind === 'incident.acknowledged')).toBe(false);
  }, 90_000);
});
