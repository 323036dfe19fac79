import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createToken } from '../../services/access/repository.js';
import { listTimeline } from '../../services/timeline/repository.js';
import { startAlertmanager, type RunningAlertmanager } from '../support/alertmanager.js';
import { eventually } from '../support/database.js';
import { startPrometheus, type RunningPrometheus } from '../support/prometheus.js';
import { useIncidentStack } from '../support/stack.js';

type Trigger = { id: string; threshold?: unknown };

/**
 * The whole loop with the real programs: Prometheus evaluates an alerting rule over a metric this test
 * serves, its Alertmanager notifies Correx, an incident opens and pages; the metric recovers, the resolve
 * travels the same way, the incident resolves and nobody is paged any more. The same Prometheus scrapes
 * Correx's own /metrics with a bearer token.
 */
describe('Prometheus, Alertmanager and Correx: the monitoring loop', () => {
  const stack = useIncidentStack({
    runbookFiles: {
      'frontier-assistant': {
        from: 'frontier-assistant',
        adjust(runbook) {
          // One firing alert opens (Alertmanager's repeats of it are the same alert, stored once).
          delete (runbook.triggers as Trigger[]).find((t) => t.id === 'jailbreak-rate')!.threshold;
        },
      },
    },
    api: true,
  });
  let rate = 0.01;
  const metrics = http.createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    response.end(`# TYPE jailbreak_success_rate gauge\njailbreak_success_rate{model="frontier"} ${rate}\n`);
  });
  let alertmanager: RunningAlertmanager | undefined;
  let prometheus: RunningPrometheus | undefined;
  afterAll(async () => {
    await prometheus?.stop();
    await alertmanager?.stop();
    metrics.closeAllConnections();
    await new Promise<void>((resolve) => metrics.close(() => resolve()));
  });

  it('opens and pages on a rule that fires, resolves and stops paging when the metric recovers, and is scraped itself', async () => {
    await new Promise<void>((resolve) => metrics.listen(0, '127.0.0.1', resolve));
    const ingest = (await createToken(stack.db, { owner: 'alertmanager', roles: ['ingest'] })).secret;
    const scraper = (await createToken(stack.db, { owner: 'prometheus', roles: ['gateway'] })).secret;
    alertmanager = await startAlertmanager({ webhookUrl: `${stack.api.url}/v1/ingest/alertmanager`, bearerToken: ingest, groupBy: ['alertname'] });
    prometheus = await startPrometheus({
      alertmanager: new URL(alertmanager.url).host,
      rules: [
        {
          alert: 'JailbreakRateHigh',
          expr: 'jailbreak_success_rate > 0.02',
          labels: { severity: 'critical', system: 'frontier-assistant' },
          annotations: { summary: 'Jailbreak success rate above 2% on the live classifier' },
        },
      ],
      scrape: [
        { job: 'model', target: `127.0.0.1:${(metrics.address() as AddressInfo).port}` },
        { job: 'correx', target: new URL(stack.api.url).host, bearerToken: scraper },
      ],
    });

    // Correx is scraped with its bearer token, and its own metrics are in Prometheus.
    await eventually(async () => {
      const targets = await prometheus!.targets();
      return targets.find((t) => t.labels.job === 'correx')?.health === 'up' ? true : undefined;
    }, 20_000);
    expect((await prometheus.query('up{job="correx"}'))[0]?.value[1]).toBe('1');
    expect((await prometheus.query('count({job="correx"})'))[0]!.value[1]).not.toBe('0');

    // The model misbehaves: the rule fires, and Correx opens an incident in the alert's words and pages.
    rate = 0.05;
    const incident = await eventually(async () => {
      const rows = await stack.db.selectFrom('incidents').selectAll().where('system_id', '=', 'frontier-assistant').execute();
      return rows[0];
    }, 30_000);
    expect(incident.title).toBe('Jailbreak success rate above 2% on the live classifier (alertname=JailbreakRateHigh)');
    expect(incident.opened_by).toBe('system:monitor');
    await eventually(async () => ((await listTimeline(stack.db, incident.id)).some((e) => e.kind === 'page.sent') ? true : undefined));
    const escalation = async () => (await stack.clients.incidents.state(incident.workflow_id)).escalation;
    expect((await escalation())?.state).toBe('paging');

    // It recovers: Prometheus resolves the alert, Alertmanager sends the resolve, the incident resolves.
    rate = 0.01;
    await eventually(
      async () =>
        (await stack.db.selectFrom('incidents').select('state').where('id', '=', incident.id).executeTakeFirstOrThrow()).state === 'resolved'
          ? true
          : undefined,
      30_000,
    );
    const timeline = await listTimeline(stack.db, incident.id);
    expect(timeline.find((e) => e.kind === 'alert.resolved')?.data).toMatchObject({
      source: 'alertmanager',
      remaining: 0,
      labels: { alertname: 'JailbreakRateHigh' },
    });
    expect(timeline.find((e) => e.kind === 'incident.resolved')?.actor).toBe('system:monitor');
    await eventually(async () => ((await escalation())?.state === 'stopped' ? true : undefined));
    expect(await escalation()).toMatchObject({ stoppedBy: 'system:monitor' });
    // One incident for the whole episode, however often Alertmanager repeated the alert.
    expect(await stack.db.selectFrom('incidents').select('id').where('system_id', '=', 'frontier-assistant').execute()).toHaveLength(1);
  }, 120_000);
});
