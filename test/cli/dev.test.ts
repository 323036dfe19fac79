import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/database.js';
import { freePorts, startCorrex, type LongRunningCorrex } from '../support/cli.js';

describe('correx dev (all-in-one local mode, embedded database)', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let api: string;
  let ui: string;
  let running: LongRunningCorrex | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'correx-dev-'));
    const [temporalPort, uiPort, httpPort] = await freePorts(3);
    env = {
      CORREX_DATA_DIR: dataDir,
      TEMPORAL_DEV_PORT: String(temporalPort),
      TEMPORAL_UI_PORT: String(uiPort),
      CORREX_HTTP_PORT: String(httpPort),
    };
    api = `http://127.0.0.1:${httpPort}`;
    ui = `http://127.0.0.1:${uiPort}`;
  });
  afterAll(async () => {
    await running?.stop('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  let token = '';
  async function start(): Promise<LongRunningCorrex> {
    running = startCorrex(['dev'], env);
    await running.waitFor(/correx dev: press Ctrl-C to stop/);
    token = (await readFile(path.join(dataDir, 'local-admin.token'), 'utf8')).trim();
    return running;
  }
  const authed = (init: RequestInit = {}): RequestInit => ({
    ...init,
    headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` },
  });

  const trigger = { systemId: 'frontier-assistant', title: 'Jailbreak success rate above 2%', severity: 'SEV2', dedupKey: 'jailbreak-rate' };
  const post = (body: unknown) =>
    fetch(`${api}/v1/incidents`, authed({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }));

  it('starts everything, reports both dependencies healthy, and serves the Temporal web UI', async () => {
    const dev = await start();
    expect(dev.output()).toContain(`API          ${api}`);
    expect(dev.output()).toContain(`Temporal UI  ${ui}`);
    expect(token).toMatch(/^crx_/);
    const anonymous = await fetch(`${api}/v1/incidents`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toMatch(/^application\/problem\+json/);

    const health = await fetch(`${api}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({
      status: 'ok',
      temporal: { reachable: true, address: expect.stringMatching(/^127\.0\.0\.1:\d+$/) },
      database: { reachable: true, backend: 'pglite' },
    });
    const page = await fetch(ui);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<html/i);
  });

  it('answers malformed input with problem+json naming the field', async () => {
    const response = await post({ systemId: 'Not A Slug', severity: 'SEV2' });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = (await response.json()) as { errors: { path: string }[] };
    expect(problem.errors.map((e) => e.path).sort()).toEqual(['body.systemId', 'body.title']);

    const badId = await fetch(`${api}/v1/incidents/not-a-uuid`, authed());
    expect(badId.status).toBe(400);
    expect(((await badId.json()) as { errors: { path: string }[] }).errors[0]!.path).toBe('params.id');

    const unknownSystem = await post({ systemId: 'no-such-system', title: 'x', severity: 'SEV2' });
    expect(unknownSystem.status).toBe(400);
    const unknownProblem = (await unknownSystem.json()) as { errors: { path: string; message: string }[] };
    expect(unknownProblem.errors).toEqual([
      { path: 'body.systemId', message: expect.stringMatching(/^no runbook defines system 'no-such-system' \(known: .*frontier-assistant/) },
    ]);

    const unknownSeverity = await post({ systemId: 'frontier-assistant', title: 'x', severity: 'SEV9' });
    expect(unknownSeverity.status).toBe(400);
    expect(((await unknownSeverity.json()) as { errors: { path: string }[] }).errors[0]!.path).toBe('body.severity');

    const badSignal = await fetch(
      `${api}/v1/signals`,
      authed({
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ systemId: 'frontier-assistant', source: 'carrier-pigeon' }),
      }),
    );
    expect(badSignal.status).toBe(400);
    expect(((await badSignal.json()) as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual(['body.source']);

    const notJson = await fetch(`${api}/v1/incidents`, authed({ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }));
    expect(notJson.status).toBe(400);
    expect(notJson.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  let incidentId: string;
  it('opens an incident whose row and timeline appear in the embedded database', async () => {
    const response = await post(trigger);
    expect(response.status).toBe(202);
    const outcome = (await response.json()) as { incidentId: string; joined: boolean };
    expect(outcome.joined).toBe(false);
    incidentId = outcome.incidentId;

    const incident = await eventually(async () => {
      const r = await fetch(`${api}/v1/incidents/${incidentId}`, authed());
      return r.status === 200 ? ((await r.json()) as { state: string }) : undefined;
    });
    expect(incident.state).toBe('triggered');
    const timeline = (await (await fetch(`${api}/v1/incidents/${incidentId}/timeline`, authed())).json()) as { items: { kind: string; actor: string }[] };
    expect(timeline.items[0]).toMatchObject({ kind: 'incident.opened', actor: 'local-admin' });

    const signal = await fetch(
      `${api}/v1/signals`,
      authed({
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ systemId: 'frontier-assistant', source: 'native', labels: { alertname: 'Probe' }, idempotencyKey: 'probe-1' }),
      }),
    );
    expect(signal.status).toBe(202);
    expect(await signal.json()).toEqual({ signalId: expect.any(String), duplicate: false });
  });

  it('stops cleanly on Ctrl-C and keeps the incident, in the database and in Temporal, after a restart', async () => {
    const code = await running!.stop('SIGINT');
    expect(running!.output()).toContain('correx dev: stopped');
    expect(code).toBe(0);
    await expect(fetch(`${api}/healthz`)).rejects.toThrow();

    const before = token;
    const again = await start();
    expect(again.output()).toContain('schema up to date');
    expect(token).toBe(before);
    const kept = await fetch(`${api}/v1/incidents/${incidentId}`, authed());
    expect(kept.status).toBe(200);
    expect(((await kept.json()) as { id: string }).id).toBe(incidentId);

    // The incident workflow survived in Temporal's SQLite file: the same trigger joins it.
    const repeat = (await (await post(trigger)).json()) as { incidentId: string; joined: boolean };
    expect(repeat).toMatchObject({ incidentId, joined: true });
    expect(await again.stop('SIGTERM')).toBe(0);
  });
});
