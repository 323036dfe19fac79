import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createToken } from '../../services/access/repository.js';
import { resolveTemporalBinaries } from '../../services/temporal/binaries.js';
import { startDevServer, type DevServer } from '../../services/temporal/dev-server.js';
import { listTimeline } from '../../services/timeline/repository.js';
import { freePorts, startCorrex, type LongRunningCorrex } from '../support/cli.js';
import { ControlEndpoint } from '../support/control-endpoint.js';
import { createPostgresTestDatabase, eventually, type TestDatabase } from '../support/database.js';
import { routeFallbacksTo, shippedRunbook } from '../support/runbooks.js';

const secret = 'cluster-webhook-secret-0123456789';
const INCIDENTS = 50;

describe('beyond one machine: a Temporal server process, two workers and two API instances on one PostgreSQL', () => {
  let database: TestDatabase;
  let temporal: DevServer;
  let endpoint: ControlEndpoint;
  let dir: string;
  const processes: LongRunningCorrex[] = [];
  let workers: LongRunningCorrex[];
  let apiProcesses: LongRunningCorrex[];
  let apis: string[];
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'correx-cluster-'));
    database = await createPostgresTestDatabase();
    endpoint = await new ControlEndpoint(secret).start();
    const [temporalPort, uiPort, api1, api2, health1, health2] = await freePorts(6);
    temporal = await startDevServer({
      cli: resolveTemporalBinaries().cli,
      port: temporalPort!,
      uiPort: uiPort!,
      namespace: 'default',
      dbFile: path.join(dir, 'temporal.sqlite'),
    });

    const runbook = await shippedRunbook('frontier-assistant');
    runbook.system.enforcement = { adapter: 'webhook', url: endpoint.url, secretEnv: 'CORREX_TEST_WEBHOOK_SECRET' };
    routeFallbacksTo(runbook, endpoint.url, 'CORREX_TEST_WEBHOOK_SECRET');
    await writeFile(path.join(dir, 'frontier-assistant.yaml'), stringify(runbook));
    await writeFile(path.join(dir, 'signing-key.pem'), generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));

    env = {
      DATABASE_URL: database.location,
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_TASK_QUEUE: 'correx-cluster',
      CORREX_RUNBOOKS: dir,
      CORREX_SIGNING_KEY_FILE: path.join(dir, 'signing-key.pem'),
      CORREX_DATA_DIR: path.join(dir, 'data'),
      CORREX_TEST_WEBHOOK_SECRET: secret,
      // The test polls hard while it waits; the limit itself is tested in test/http/access.test.ts.
      CORREX_RATE_LIMIT: '1000000',
      LOG_LEVEL: 'warn',
    };
    const start = (args: string[], extra: Record<string, string>, ready: RegExp) => {
      const child = startCorrex(args, { ...env, ...extra });
      processes.push(child);
      return child.waitFor(ready).then(() => child);
    };
    workers = await Promise.all([
      start(['worker'], { CORREX_WORKER_HEALTH_PORT: String(health1) }, /correx worker: polling/),
      start(['worker'], { CORREX_WORKER_HEALTH_PORT: String(health2) }, /correx worker: polling/),
    ]);
    apiProcesses = await Promise.all([
      start(['api'], { CORREX_HTTP_PORT: String(api1) }, /correx api: serving/),
      start(['api'], { CORREX_HTTP_PORT: String(api2) }, /correx api: serving/),
    ]);
    apis = [`http://127.0.0.1:${api1}`, `http://127.0.0.1:${api2}`];
    for (const port of [health1, health2]) expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    for (const api of apis) expect((await fetch(`${api}/readyz`)).status).toBe(200);
  }, 180_000);
  afterAll(async () => {
    for (const p of processes) await p.stop('SIGKILL').catch(() => {});
    await temporal?.stop();
    await endpoint?.stop();
    await database?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses the embedded database and a missing signing key for scaled-out processes', async () => {
    const { runCorrex } = await import('../support/cli.js');
    const noDatabase = await runCorrex(['worker'], { ...env, DATABASE_URL: '' });
    expect(noDatabase.code).toBe(1);
    expect(noDatabase.stderr).toMatch(/^correx: correx worker needs DATABASE_URL: the embedded database serves a single process/);
    const noKey = await runCorrex(['api'], { ...env, CORREX_SIGNING_KEY_FILE: '' });
    expect(noKey.stderr).toMatch(/^correx: correx api needs CORREX_SIGNING_KEY_FILE/);
  });

  it(`drives ${INCIDENTS} incidents through both APIs while a worker is killed, each correction applied and lifted once`, async () => {
    const responder = (await createToken(database.db, { owner: 'jonas-berg', roles: ['responder'] })).secret;
    const approver = (await createToken(database.db, { owner: 'sofia-marquez', roles: ['approver'] })).secret;
    // As a careful client: every POST carries an Idempotency-Key, sent again unchanged on each retry,
    // so a retry after a 503 (a worker killed mid-write) never acts twice; Retry-After is honoured.
    const call = async (api: string, method: string, route: string, token: string, body?: unknown) => {
      const key = method === 'POST' ? randomUUID() : undefined;
      const giveUpAt = Date.now() + 180_000;
      for (;;) {
        const response = await fetch(`${api}${route}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(key ? { 'idempotency-key': key } : {}),
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        });
        const text = await response.text();
        if (response.ok) return text ? (JSON.parse(text) as Record<string, unknown>) : {};
        if (response.status >= 500 && Date.now() < giveUpAt) {
          const retryAfter = Number(response.headers.get('retry-after') ?? '1');
          await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
          continue;
        }
        throw new Error(`${method} ${route} via ${api}: ${response.status} ${text}`);
      }
    };

    const drive = async (n: number) => {
      const api = apis[n % 2]!;
      const other = apis[(n + 1) % 2]!;
      const { incidentId } = (await call(api, 'POST', '/v1/incidents', responder, {
        systemId: 'frontier-assistant',
        title: `Cluster incident ${n}`,
        severity: 'SEV3',
        dedupKey: `cluster-${n}`,
      })) as { incidentId: string };
      // 202 means accepted; if the worker that took it was killed, another records it a little later.
      await eventually(
        async () =>
          (await fetch(`${other}/v1/incidents/${incidentId}`, { headers: { authorization: `Bearer ${responder}` } })).status === 200 ? true : undefined,
        120_000,
      );
      await call(other, 'POST', `/v1/incidents/${incidentId}/acknowledge`, responder, {});
      const { correctionId } = (await call(api, 'POST', `/v1/incidents/${incidentId}/corrections`, responder, {
        kind: 'rate_limit',
        scope: { tiers: ['free'] },
        parameters: { requestsPerMinute: 10, per: 'user' },
        reason: `Cluster test ${n}`,
      })) as { correctionId: string };
      await eventually(
        async () =>
          (await fetch(`${other}/v1/corrections/${correctionId}`, { headers: { authorization: `Bearer ${responder}` } })).status === 200 ? true : undefined,
        120_000,
      );
      await call(other, 'POST', `/v1/corrections/${correctionId}/decision`, approver, { decision: 'approve', rationale: 'cluster test' });
      // Lifting is decided by the incident, which hears of the application by signal.
      await eventually(async () => {
        const incident = (await call(api, 'GET', `/v1/incidents/${incidentId}`, responder)) as { live: { corrections?: { id: string; state: string }[] } };
        return incident.live.corrections?.find((c) => c.id === correctionId)?.state === 'active' ? true : undefined;
      }, 120_000);
      await call(other, 'POST', `/v1/corrections/${correctionId}/lift`, approver, { rationale: 'cluster test over' });
      await eventually(async () => ((await call(api, 'GET', `/v1/corrections/${correctionId}`, responder)).state === 'lifted' ? true : undefined), 120_000);
      await call(api, 'POST', `/v1/incidents/${incidentId}/resolve`, responder, { reason: 'done' });
      return { incidentId, correctionId };
    };

    const results: Promise<{ incidentId: string; correctionId: string }>[] = [];
    for (let n = 0; n < INCIDENTS; n++) {
      results.push(drive(n));
      if (n === Math.floor(INCIDENTS / 2)) await workers[0]!.stop('SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const done = await Promise.all(results);

    for (const { incidentId, correctionId } of done) {
      expect(endpoint.applied.filter((key) => key === `${correctionId}:apply`)).toHaveLength(1);
      expect(endpoint.applied.filter((key) => key === `${correctionId}:lift`)).toHaveLength(1);
      const incident = await database.db.selectFrom('incidents').select('state').where('id', '=', incidentId).executeTakeFirstOrThrow();
      expect(incident.state).toBe('resolved');
      const timeline = await listTimeline(database.db, incidentId);
      expect(timeline.map((e) => e.seq)).toEqual(timeline.map((_, i) => i + 1));
      const once = ['incident.opened', 'incident.acknowledged', 'correction.applied', 'correction.lifted', 'incident.resolved'];
      for (const kind of once)
        expect(
          timeline.filter((e) => e.kind === kind),
          `${incidentId} ${kind}`,
        ).toHaveLength(1);
    }
    expect(new Set(endpoint.applied).size).toBe(endpoint.applied.length);
  }, 600_000);

  it('stops gracefully on SIGTERM: the API drains and exits 0, the worker finishes its work and exits 0', async () => {
    const api = apiProcesses[1]!;
    const code = await api.stop('SIGTERM');
    expect(code).toBe(0);
    expect(api.output()).toMatch(/correx api: SIGTERM received: draining[\s\S]*correx api: stopped/);
    await expect(fetch(`${apis[1]}/livez`)).rejects.toThrow();
    expect((await fetch(`${apis[0]}/readyz`)).status).toBe(200);
    const worker = workers[1]!;
    expect(await worker.stop('SIGTERM')).toBe(0);
    expect(worker.output()).toMatch(/correx worker: SIGTERM received[\s\S]*correx worker: stopped/);
  }, 90_000);
});
