import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { monitorWorkflowId } from '../../services/identity.js';
import { MonitorClient } from '../../services/monitoring/client.js';
import { RunbookCatalogue } from '../../services/runbook/catalogue.js';
import { listTimeline } from '../../services/timeline/repository.js';
import { eventually } from '../support/database.js';
import { recordRunbook, shippedRunbook } from '../support/runbooks.js';
import { useIncidentStack, type RunbookSource } from '../support/stack.js';

const MINUTE = 60_000;

describe('the monitor: durable trigger windows, silences and continue-as-new (dev server, PostgreSQL)', () => {
  /** A shipped runbook whose one trigger opens an incident for 5 jailbreak signals of a model within 10 minutes. */
  const withJailbreakTrigger = (from: string): RunbookSource => ({
    from,
    adjust(runbook) {
      runbook.triggers = [
        {
          id: 'jailbreak-rate',
          description: 'Jailbreak success rate above threshold',
          match: { sources: ['native'], labels: { alertname: 'JailbreakRateHigh' } },
          threshold: { count: 5, window: '10m' },
          groupBy: ['model'],
          severity: 'SEV2',
          onResolved: 'resolve',
        },
      ];
    },
  });
  // The stack's client is its own: the worker (and its connection) is replaced during the tests.
  const stack = useIncidentStack({
    runbooks: { 'frontier-assistant': withJailbreakTrigger('frontier-assistant'), 'clinical-triage': withJailbreakTrigger('clinical-triage') },
    runbookFiles: {}, // no files: the recorded versions serve
  });
  let monitor: MonitorClient;
  const base = Date.parse('2026-11-20T10:00:00.000Z');

  beforeAll(() => {
    monitor = new MonitorClient({
      db: stack.db,
      client: stack.client,
      taskQueue: stack.taskQueue,
      runbooks: new RunbookCatalogue(stack.runbooksDir, stack.db),
      continueAsNewAfter: 5,
    });
  });

  const fire = (systemId: string, model: string, minutes: number, status: 'firing' | 'acknowledged' | 'resolved' = 'firing') =>
    monitor.submit({
      systemId,
      source: 'native',
      status,
      labels: { alertname: 'JailbreakRateHigh', model },
      at: new Date(base + minutes * MINUTE).toISOString(),
    });
  const incidentsOf = (systemId: string) => stack.db.selectFrom('incidents').selectAll().where('system_id', '=', systemId).orderBy('opened_at').execute();
  const processed = (systemId: string, count: number) => eventually(async () => ((await monitor.state(systemId)).processed >= count ? true : undefined));
  /** How many incidents the monitor has opened for a group (after `processed`, what it decided). */
  const openings = async (systemId: string, model: string) => (await monitor.state(systemId)).openings[`jailbreak-rate|model=${model}`] ?? 0;

  it('opens nothing for 4 signals in 9 minutes, survives a worker restart, and opens one incident naming the trigger and the 5 signals on the 5th', async () => {
    const first = [];
    for (const minute of [0, 3, 6, 9]) first.push(await fire('frontier-assistant', 'a', minute));
    await processed('frontier-assistant', 4);
    expect(await openings('frontier-assistant', 'a')).toBe(0);
    expect(await incidentsOf('frontier-assistant')).toHaveLength(0);

    // A new worker takes over the same task queue; the window lives in the workflow, not the process.
    await stack.restartWorker();

    const fifth = await fire('frontier-assistant', 'a', 9.5);
    const [incident] = await eventually(async () => {
      const rows = await incidentsOf('frontier-assistant');
      return rows.length > 0 ? rows : undefined;
    });
    expect(incident).toMatchObject({ severity: 'SEV2', opened_by: 'system:monitor', title: 'Jailbreak success rate above threshold (model=a)' });
    const opened = (await eventually(async () => (await listTimeline(stack.db, incident!.id)).find((e) => e.kind === 'incident.opened')))!;
    const signalIds = [...first, fifth].map((s) => s.signalId);
    expect(opened.data).toMatchObject({ cause: { triggerId: 'jailbreak-rate', group: 'jailbreak-rate|model=a', signalIds } });
    const linked = await eventually(async () => {
      const rows = await stack.db.selectFrom('signals').select('id').where('incident_id', '=', incident!.id).execute();
      return rows.length === 5 ? rows : undefined;
    });
    expect(linked.map((s) => s.id).sort()).toEqual([...signalIds].sort());
    // Linking waits for the incident's row instead of failing on its foreign key first: no attempt of any
    // of the monitor's activities failed, in any of its runs.
    const failed: string[] = [];
    for await (const run of stack.client.workflow.list({ query: `WorkflowId = "${monitorWorkflowId('frontier-assistant')}"` })) {
      const history = await stack.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
      for (const event of history.events ?? [])
        if (event.activityTaskFailedEventAttributes) failed.push(event.activityTaskFailedEventAttributes.failure?.message ?? '');
    }
    expect(failed).toEqual([]);
  });

  it('opens nothing for 5 signals spread over 30 minutes', async () => {
    for (const minute of [0, 7.5, 15, 22.5, 30]) await fire('frontier-assistant', 'b', minute);
    await processed('frontier-assistant', 10);
    expect(await openings('frontier-assistant', 'b')).toBe(0);
    expect((await incidentsOf('frontier-assistant')).filter((i) => i.title.includes('model=b'))).toHaveLength(0);
  });

  it('an acknowledgement at the source acknowledges the incident and stops paging', async () => {
    const [incident] = await incidentsOf('frontier-assistant');
    await fire('frontier-assistant', 'a', 9.8, 'acknowledged');
    await eventually(async () => ((await stack.clients.incidents.state(incident!.workflow_id)).state === 'acknowledged' ? true : undefined));
    // The live state changes before its activity writes the timeline event: wait for the event itself.
    const acknowledged = await eventually(async () => (await listTimeline(stack.db, incident!.id)).find((e) => e.kind === 'incident.acknowledged'));
    expect(acknowledged).toMatchObject({ actor: 'system:monitor' });
  });

  it('counts a sender retry (same idempotency key) once, and resolves the incident on a resolved signal', async () => {
    const retried = await monitor.submit({
      systemId: 'frontier-assistant',
      source: 'native',
      labels: { alertname: 'JailbreakRateHigh', model: 'a' },
      at: new Date(base + 10 * MINUTE).toISOString(),
      idempotencyKey: 'am-1',
    });
    const again = await monitor.submit({
      systemId: 'frontier-assistant',
      source: 'native',
      labels: { alertname: 'JailbreakRateHigh', model: 'a' },
      at: new Date(base + 10 * MINUTE).toISOString(),
      idempotencyKey: 'am-1',
    });
    expect(again).toEqual({ signalId: retried.signalId, duplicate: true });
    await fire('frontier-assistant', 'a', 12, 'resolved');
    const [incident] = await incidentsOf('frontier-assistant');
    await eventually(async () => ((await stack.clients.incidents.state(incident!.workflow_id)).state === 'resolved' ? true : undefined));
    const state = await stack.clients.incidents.state(incident!.workflow_id);
    expect(state.joinedTriggers).toBe(1);
    const resolved = await eventually(async () => (await listTimeline(stack.db, incident!.id)).find((e) => e.kind === 'incident.resolved'));
    expect(resolved.actor).toBe('system:monitor');
  });

  it('re-opens the same incident when the problem fires again within the flap window', async () => {
    const [incident] = await incidentsOf('frontier-assistant');
    await fire('frontier-assistant', 'a', 20); // resolved at minute 12; the flap window is 30 minutes
    await eventually(async () => ((await listTimeline(stack.db, incident!.id)).some((e) => e.kind === 'incident.reopened') ? true : undefined));
    const reopened = (await listTimeline(stack.db, incident!.id)).find((e) => e.kind === 'incident.reopened');
    // Acknowledged at the source (no commander): re-opened as triggered, to be handled again.
    expect(reopened).toMatchObject({ actor: 'system:monitor', data: { state: 'triggered' } });
    expect((await stack.clients.incidents.state(incident!.workflow_id)).state).toBe('triggered');
    expect((await stack.db.selectFrom('incidents').select('state').where('id', '=', incident!.id).executeTakeFirstOrThrow()).state).toBe('triggered');
    expect((await incidentsOf('frontier-assistant')).filter((i) => i.title.includes('model=a'))).toHaveLength(1);
    // Resolved again, it is a second resolution on the timeline, not a lost one.
    await fire('frontier-assistant', 'a', 25, 'resolved');
    await eventually(async () => ((await listTimeline(stack.db, incident!.id)).filter((e) => e.kind === 'incident.resolved').length === 2 ? true : undefined));
  });

  it('a silence suppresses matching signals: no incident, no page, and each suppressed signal is visible', async () => {
    const silence = await monitor.silence('frontier-assistant', {
      owner: 'jonas-berg',
      reason: 'red-team exercise on model c',
      endsAt: new Date(Date.now() + 24 * 60 * MINUTE).toISOString(),
      matchers: { model: 'c' },
    });
    const sent = [];
    for (const minute of [0, 1, 2, 3, 4, 5]) sent.push(await fire('frontier-assistant', 'c', minute));
    await processed('frontier-assistant', 21);
    expect(await openings('frontier-assistant', 'c')).toBe(0);
    expect((await incidentsOf('frontier-assistant')).filter((i) => i.title.includes('model=c'))).toHaveLength(0);
    const rows = await stack.db
      .selectFrom('signals')
      .select(['id', 'suppressed_by'])
      .where(
        'id',
        'in',
        sent.map((s) => s.signalId),
      )
      .execute();
    expect(rows.every((r) => r.suppressed_by === silence.id)).toBe(true);
    expect((await monitor.state('frontier-assistant')).suppressed.filter((s) => s.silenceId === silence.id)).toHaveLength(6);
    await expect(
      monitor.silence('frontier-assistant', { owner: '', reason: 'x', endsAt: new Date(Date.now() + MINUTE).toISOString(), matchers: { model: 'd' } }),
    ).rejects.toThrow('a silence needs an owner');
  });

  it('keeps its windows and its open incidents across continue-as-new', async () => {
    const system = 'clinical-triage';
    // An incident opened before the monitor continues as new…
    for (const minute of [0, 1, 2, 3, 4]) await fire(system, 'open-before', minute);
    const [opened] = await eventually(async () => {
      const rows = await incidentsOf(system);
      return rows.length === 1 ? rows : undefined;
    });
    // …a window four signals deep…
    for (const minute of [0, 1, 2, 3]) await fire(system, 'window', 100 + minute);
    const firstRun = (await stack.client.workflow.getHandle('monitor:clinical-triage').describe()).runId;
    // …then enough unrelated signals to continue as new (every 5) a few times.
    for (let i = 0; i < 12; i++) await fire(system, `noise-${i}`, 200 + i * 20);
    await processed(system, 21);
    expect((await stack.client.workflow.getHandle('monitor:clinical-triage').describe()).runId).not.toBe(firstRun);

    // The window still counts its four: the fifth opens an incident with all five signals.
    await fire(system, 'window', 104);
    const windowIncident = await eventually(async () => (await incidentsOf(system)).find((i) => i.title.includes('model=window')));
    const opening = (await eventually(async () => (await listTimeline(stack.db, windowIncident.id)).find((e) => e.kind === 'incident.opened')))!;
    expect((opening.data as { cause: { signalIds: string[] } }).cause.signalIds).toHaveLength(5);
    // The open incident is still known: a new signal joins it instead of opening another.
    await fire(system, 'open-before', 300);
    await eventually(async () => ((await stack.clients.incidents.state(opened!.workflow_id)).joinedTriggers === 1 ? true : undefined));
    expect((await incidentsOf(system)).filter((i) => i.title.includes('model=open-before'))).toHaveLength(1);
  });

  it('runs a scheduled evaluation at its cadence against a real HTTP listener, and a failing result opens an incident through the triggers', async () => {
    const calls: { at: number; body: string }[] = [];
    const listener = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        calls.push({ at: Date.now(), body });
        const passed = calls.length <= 2;
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ passed, detail: passed ? 'all probes refused' : 'probe 17 answered with synthesis steps' }));
      });
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(listener.address() as AddressInfo).port}/evaluate`;
    const runbook = await shippedRunbook('credit-scoring');
    runbook.triggers = [
      {
        id: 'evaluation-failed',
        description: 'A scheduled evaluation failed',
        match: { sources: ['evaluation'], labels: { result: 'fail' } },
        severity: 'SEV2',
        onResolved: 'resolve',
      },
    ];
    runbook.monitoring = { evaluations: [{ id: 'bias-suite', description: 'Disparate impact probes', url, every: '2s' }] };
    await recordRunbook(stack.db, runbook);
    try {
      // The monitor starts with the system's first signal and creates the schedule to match its runbook.
      await monitor.submit({ systemId: 'credit-scoring', source: 'native', labels: { note: 'monitor start' } });
      const incident = await eventually(async () => (await incidentsOf('credit-scoring'))[0], 60_000);
      // Titled in the evaluation's words: which one, and what it found.
      expect(incident).toMatchObject({
        title: 'Evaluation bias-suite failed: probe 17 answered with synthesis steps',
        severity: 'SEV2',
        opened_by: 'system:monitor',
      });
      expect(calls.length).toBeGreaterThanOrEqual(3);
      expect(JSON.parse(calls[0]!.body)).toEqual({ systemId: 'credit-scoring', evaluationId: 'bias-suite' });
      const schedule = await stack.client.schedule.getHandle('evaluation:credit-scoring:bias-suite').describe();
      expect(schedule.spec.intervals?.[0]?.every).toBe(2000);
      // The cadence is the schedule's: its runs are scheduled on the 2 s grid (a run still going when the
      // next is due skips that one, leaving a gap of 4 s). When each call reaches the listener also depends
      // on how busy the worker is (a late run is followed closely by an on-time one), so the wall clock
      // only shows the calls were not fired back to back.
      const scheduled = schedule.info.recentActions.map((a) => a.scheduledAt.getTime()).sort((a, b) => a - b);
      expect(scheduled.length).toBeGreaterThanOrEqual(3);
      for (let i = 1; i < scheduled.length; i++) {
        const gap = scheduled[i]! - scheduled[i - 1]!;
        expect(gap > 0 && gap % 2000 === 0, `runs scheduled ${gap} ms apart`).toBe(true);
      }
      expect(calls[2]!.at - calls[0]!.at).toBeGreaterThanOrEqual(2000);
      const failing = await eventually(() =>
        stack.db.selectFrom('signals').select(['summary']).where('source', '=', 'evaluation').where('incident_id', '=', incident.id).executeTakeFirst(),
      );
      expect(failing.summary).toBe('Evaluation bias-suite failed: probe 17 answered with synthesis steps');
    } finally {
      await stack.client.schedule
        .getHandle('evaluation:credit-scoring:bias-suite')
        .delete()
        .catch(() => {});
      listener.closeAllConnections();
      await new Promise((resolve) => listener.close(resolve));
    }
  });
});
