import { WorkflowNotFoundError } from '@temporalio/client';
import { afterEach, describe, expect, it } from 'vitest';
import { createToken } from '../../services/access/repository.js';
import { monitorWorkflowId } from '../../services/identity.js';
import { listTimeline } from '../../services/timeline/repository.js';
import { monitorStateQuery, type MonitorState } from '../../workflows/monitoring/messages.js';
import { startAlertmanager, type AlertmanagerAlert, type RunningAlertmanager } from '../support/alertmanager.js';
import { eventually } from '../support/database.js';
import { useIncidentStack } from '../support/stack.js';

const FOR_MS = 6_000;

/**
 * Trigger thresholds as Prometheus and Alertmanager users read them, played with the real Alertmanager
 * re-sending one persistent alert every repeat interval (about 3 s here): "3 in 10m" is three
 * notifications, `counts: alerts` counts the alert once however often it repeats, `for:` opens only
 * if the alert still fires that long after, and two alerts of one group share its window.
 */
describe('trigger thresholds with the real Alertmanager: occurrences, alerts, for, groups', () => {
  const stack = useIncidentStack({
    runbookFiles: {
      'frontier-assistant': {
        from: 'frontier-assistant',
        adjust(runbook) {
          const trigger = (id: string, alertname: string, rest: Record<string, unknown>) => ({
            id,
            description: `${alertname} from Alertmanager`,
            match: { sources: ['alertmanager'], labels: { alertname } },
            groupBy: ['alertname'],
            severity: 'SEV2',
            ...rest,
          });
          runbook.triggers = [
            // As the shipped runbook has it: three notifications within ten minutes (counts: occurrences, the default).
            trigger('repeating', 'RepeatingAlert', { threshold: { count: 3, window: '10m' } }),
            trigger('distinct', 'DistinctAlerts', { threshold: { count: 3, window: '10m', counts: 'alerts' } }),
            // Far out of reach, but it counts occurrences: the API hands DistinctAlerts' repeats to the monitor.
            trigger('distinct-occurrences', 'DistinctAlerts', { threshold: { count: 100, window: '10m' } }),
            trigger('sustained', 'SustainedAlert', { for: `${FOR_MS / 1000}s` }),
            // Two distinct alerts of one group (alertname), whatever their other labels.
            {
              ...trigger('grouped', 'GroupedAlerts', { threshold: { count: 2, window: '10m', counts: 'alerts' } }),
              match: { sources: ['alertmanager'], labels: { scenario: 'grouping' } },
            },
          ];
        },
      },
    },
    api: true,
  });
  let alertmanager: RunningAlertmanager | undefined;
  afterEach(async () => {
    await alertmanager?.stop();
    alertmanager = undefined;
  });

  const start = async () => {
    const { secret } = await createToken(stack.db, { owner: `alertmanager-${Date.now()}`, roles: ['ingest'] });
    // A first notification about 0.5 s after an alert arrives, then a repeat about every 3 s.
    alertmanager = await startAlertmanager({
      webhookUrl: `${stack.api.url}/v1/ingest/alertmanager`,
      bearerToken: secret,
      groupBy: ['alertname'],
      groupWait: '500ms',
      groupInterval: '1s',
      repeatInterval: '2s',
    });
    return alertmanager;
  };
  const alert = (alertname: string, region = 'eu'): AlertmanagerAlert => ({
    labels: { alertname, system: 'frontier-assistant', severity: 'critical', region },
    annotations: { summary: `${alertname} in ${region}` },
  });
  /** The monitor's state, once the first signal has started it. */
  const monitor = async (): Promise<MonitorState | undefined> => {
    try {
      return await stack.client.workflow.getHandle(monitorWorkflowId('frontier-assistant')).query(monitorStateQuery);
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    }
  };
  const incidentsOf = (alertname: string) =>
    stack.db.selectFrom('incidents').selectAll().where('system_id', '=', 'frontier-assistant').where('title', 'like', `%alertname=${alertname})`).execute();
  const signalsOf = (alertname: string) =>
    stack.db
      .selectFrom('signals')
      .select(['id', 'status', 'occurrences', 'incident_id'])
      .where('source', '=', 'alertmanager')
      .where('dedup_key', '=', alertname)
      .orderBy('received_at')
      .execute();
  /** The monitor's window of a group once it holds `receipts` receipts (it has handled them). */
  const windowWith = (key: string, receipts: number) =>
    eventually(async () => {
      const window = (await monitor())?.windows[key];
      return window?.length === receipts ? window : undefined;
    });

  it('opens nothing at the first notification of a persistent alert, and one incident at its third (counts: occurrences)', async () => {
    const am = await start();
    await am.postAlerts([alert('RepeatingAlert')]);
    const key = 'repeating|alertname=RepeatingAlert';

    // The first notification: one receipt in the window, nothing opened.
    const first = await windowWith(key, 1);
    expect(first[0]!.occurrence).toBeUndefined();
    expect(await incidentsOf('RepeatingAlert')).toHaveLength(0);
    // The first repeat (the same alert, the same signal): two receipts, still nothing.
    const second = await windowWith(key, 2);
    expect(second.map((r) => r.signalId)).toEqual([first[0]!.signalId, first[0]!.signalId]);
    expect(second[1]!.occurrence).toBe(2);
    expect(await incidentsOf('RepeatingAlert')).toHaveLength(0);

    // The third notification opens the incident.
    const [incident] = await eventually(async () => {
      const rows = await incidentsOf('RepeatingAlert');
      return rows.length > 0 ? rows : undefined;
    });
    expect(incident).toMatchObject({ severity: 'SEV2', opened_by: 'system:monitor', title: 'RepeatingAlert in eu (alertname=RepeatingAlert)' });
    const [signal] = await signalsOf('RepeatingAlert');
    // One alert, one stored signal, received at least three times by then.
    expect(signal!.occurrences).toBeGreaterThanOrEqual(3);
    expect(signal!.id).toBe(first[0]!.signalId);
    const opened = await eventually(async () => (await listTimeline(stack.db, incident!.id)).find((e) => e.kind === 'incident.opened'));
    expect(opened.data).toMatchObject({ cause: { triggerId: 'repeating', signalIds: [signal!.id] } });
    expect((await monitor())!.windows[key]).toBeUndefined();

    // Its further repeats join nothing new: still one incident, one alert on it.
    await eventually(async () => (((await signalsOf('RepeatingAlert'))[0]?.occurrences ?? 0) >= signal!.occurrences + 2 ? true : undefined));
    expect(await incidentsOf('RepeatingAlert')).toHaveLength(1);
    expect((await listTimeline(stack.db, incident!.id)).filter((e) => e.kind === 'alert.joined')).toHaveLength(0);

    // What a responder reads: one alert, one signal, every notification of it counted, last seen after first.
    const reader = await stack.api.token('lena-vogel', ['responder']);
    const answer = await stack.api.call('GET', `/v1/incidents/${incident!.id}/alerts`, { token: reader });
    expect(answer.status).toBe(200);
    const items = (answer.body as { items: { alertKey: string; signals: number; occurrences: number; firstSeenAt: string; lastSeenAt: string }[] }).items;
    expect(items).toHaveLength(1);
    expect(items[0]!.signals).toBe(1);
    expect(items[0]!.occurrences).toBeGreaterThanOrEqual(signal!.occurrences + 2);
    expect(Date.parse(items[0]!.lastSeenAt)).toBeGreaterThan(Date.parse(items[0]!.firstSeenAt));
  }, 90_000);

  it('never opens for one persistent alert under counts: alerts, however often it repeats', async () => {
    const am = await start();
    await am.postAlerts([alert('DistinctAlerts')]);
    const key = 'distinct|alertname=DistinctAlerts';
    // Past three repeat intervals: four notifications of the alert, every one of them handed to the monitor
    // (another trigger counts its occurrences), which keeps the alert's latest receipt and counts it once.
    const window = await eventually(async () => {
      const w = (await monitor())?.windows[key];
      return w && (w[0]?.occurrence ?? 1) >= 4 ? w : undefined;
    }, 30_000);
    expect(window).toHaveLength(1);
    const [signal] = await signalsOf('DistinctAlerts');
    expect(signal!.occurrences).toBeGreaterThanOrEqual(4);
    expect(await incidentsOf('DistinctAlerts')).toHaveLength(0);
    expect((await monitor())!.openings[key]).toBeUndefined();
    // The same receipts, counted as occurrences by the other trigger: four or more, still short of its 100.
    expect((await monitor())!.windows['distinct-occurrences|alertname=DistinctAlerts']!.length).toBeGreaterThanOrEqual(4);
  }, 90_000);

  it('opens a `for:` trigger only when the alert still fires `for` after it first met the threshold; a resolve meanwhile cancels it', async () => {
    const am = await start();
    const key = 'sustained|alertname=SustainedAlert';
    const brief = alert('SustainedAlert', 'eu');
    await am.postAlerts([brief]);
    const pending = await eventually(async () => (await monitor())?.pending?.[key]);
    expect(Date.parse(pending.dueAt) - Date.parse(pending.metAt)).toBe(FOR_MS);
    expect(await incidentsOf('SustainedAlert')).toHaveLength(0);

    // Resolved before `for` ran out: the group waits no longer, and nothing opens, then or later.
    await am.resolveAlerts([brief]);
    await eventually(async () => ((await monitor())!.pending?.[key] ? undefined : true));
    expect(Date.now()).toBeLessThan(Date.parse(pending.dueAt));
    const resolved = await eventually(async () => (await signalsOf('SustainedAlert')).find((s) => s.status === 'resolved'));
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(pending.dueAt) - Date.now()) + 2_000));
    expect(await incidentsOf('SustainedAlert')).toHaveLength(0);
    expect((await monitor())!.openings[key]).toBeUndefined();
    expect((await signalsOf('SustainedAlert')).map((s) => s.incident_id)).toEqual([null, null]);
    expect(resolved.incident_id).toBeNull();

    // The same alert again, and this time it keeps firing: the incident opens once `for` has passed.
    await am.postAlerts([brief]);
    const again = await eventually(async () => (await monitor())?.pending?.[key]);
    expect(await incidentsOf('SustainedAlert')).toHaveLength(0);
    const [incident] = await eventually(async () => {
      const rows = await incidentsOf('SustainedAlert');
      return rows.length > 0 ? rows : undefined;
    }, 30_000);
    expect(incident!.opened_at.getTime()).toBeGreaterThanOrEqual(Date.parse(again.dueAt));
    expect(incident!.opened_at.getTime() - Date.parse(again.metAt)).toBeGreaterThanOrEqual(FOR_MS);
    expect(incident!.state).toBe('triggered');
    expect((await monitor())!.pending?.[key]).toBeUndefined();
    const opened = await eventually(async () => (await listTimeline(stack.db, incident!.id)).find((e) => e.kind === 'incident.opened'));
    expect(opened.data).toMatchObject({ cause: { triggerId: 'sustained', signalIds: again.signalIds } });
  }, 90_000);

  it('counts two alerts of one group, differing in a label outside groupBy, in one window, whichever started first', async () => {
    const am = await start();
    // Each group's two alerts go out in one notification, in Alertmanager's order (not the order they
    // started in): one group has its later-started alert first, whichever way Alertmanager orders them.
    const startedAgo = (seconds: number) => new Date(Date.now() - seconds * 1000).toISOString();
    const grouped = (alertname: string, region: string, seconds: number): AlertmanagerAlert => {
      const a = alert(alertname, region);
      return { ...a, labels: { ...a.labels, scenario: 'grouping' }, startsAt: startedAgo(seconds) };
    };
    await am.postAlerts(
      [
        grouped('GroupedAlertsEuFirst', 'eu', 60),
        grouped('GroupedAlertsEuFirst', 'us', 20),
        grouped('GroupedAlertsUsFirst', 'us', 60),
        grouped('GroupedAlertsUsFirst', 'eu', 20),
      ],
      { via: 'api' },
    );
    for (const alertname of ['GroupedAlertsEuFirst', 'GroupedAlertsUsFirst']) {
      const [incident] = await eventually(async () => {
        const rows = await incidentsOf(alertname);
        return rows.length > 0 ? rows : undefined;
      });
      const signals = await signalsOf(alertname);
      expect(signals).toHaveLength(2);
      const opened = await eventually(async () => (await listTimeline(stack.db, incident!.id)).find((e) => e.kind === 'incident.opened'));
      expect((opened.data as { cause: { signalIds: string[] } }).cause.signalIds.slice().sort()).toEqual(signals.map((s) => s.id).sort());
      expect((await monitor())!.open[`grouped|alertname=${alertname}`]?.firing).toHaveLength(2);
      expect(await incidentsOf(alertname)).toHaveLength(1);
    }
  }, 60_000);
});
