import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createMailer } from '../../services/notification/mailer.js';
import { startApi, type RunningApi } from '../support/api.js';
import { ControlEndpoint } from '../support/control-endpoint.js';
import { createPostgresTestDatabase, eventually, type TestDatabase } from '../support/database.js';
import { routeFallbacksTo, shippedRunbook } from '../support/runbooks.js';
import { MailSink } from '../support/smtp.js';
import { startDevServerWorker, type RunningWorker } from '../support/temporal.js';

const systems = ['frontier-assistant', 'credit-scoring', 'clinical-triage'];
const secret = 'drill-webhook-secret-0123456789';

describe('drills: each shipped runbook end to end, touching no real enforcer, mailbox or regulator', () => {
  let database: TestDatabase;
  let mail: MailSink;
  let endpoint: ControlEndpoint;
  let worker: RunningWorker;
  let api: RunningApi;
  let runbooksDir: string;
  let drillOutbox: string;

  beforeAll(async () => {
    database = await createPostgresTestDatabase();
    mail = await new MailSink().start();
    endpoint = await new ControlEndpoint(secret).start();
    drillOutbox = await mkdtemp(path.join(os.tmpdir(), 'correx-drill-outbox-'));
    worker = await startDevServerWorker(database.db, {
      mailer: createMailer({ smtpUrl: mail.url, outboxDir: '/nonexistent', from: 'correx@test.local' }),
      drillMailer: createMailer({ smtpUrl: undefined, outboxDir: drillOutbox, from: 'correx@test.local' }),
      secrets: { CORREX_TEST_WEBHOOK_SECRET: secret },
    });
    // The shipped runbooks, with every webhook (enforcement and fallbacks) pointed at a listener that counts calls.
    runbooksDir = await mkdtemp(path.join(os.tmpdir(), 'correx-drill-runbooks-'));
    for (const systemId of systems) {
      const runbook = await shippedRunbook(systemId);
      const enforcement = runbook.system.enforcement as { adapter: string };
      if (enforcement.adapter === 'webhook') runbook.system.enforcement = { adapter: 'webhook', url: endpoint.url, secretEnv: 'CORREX_TEST_WEBHOOK_SECRET' };
      routeFallbacksTo(runbook, endpoint.url, 'CORREX_TEST_WEBHOOK_SECRET');
      await writeFile(path.join(runbooksDir, `${systemId}.yaml`), stringify(runbook));
    }
    api = await startApi(database.db, worker, { runbooksDir });
  });
  afterAll(async () => {
    await api?.close();
    await worker?.stop();
    await endpoint?.stop();
    await mail?.stop();
    await database?.destroy();
    await rm(runbooksDir, { recursive: true, force: true });
    await rm(drillOutbox, { recursive: true, force: true });
  });

  it.each(systems)('drills %s from trigger to a closed incident, timing every step', async (systemId) => {
    const lead = await api.token('drill-lead', ['responder']);
    const started = await api.call('POST', '/v1/drills', { token: lead, body: { systemId } });
    expect(started.status, JSON.stringify(started.body)).toBe(202);
    const drillId = started.body.drillId as string;
    const drill = await eventually(async () => {
      const state = await api.call('GET', `/v1/drills/${drillId}`, { token: lead });
      return state.status === 200 && state.body.state !== 'running' ? state.body : undefined;
    }, 150_000);
    expect(drill.failure).toBeUndefined();
    expect(drill.state).toBe('completed');
    const names = (drill.steps as { name: string; ms: number; by: string }[]).map((s) => s.name);
    expect(names[0]).toBe('trigger');
    expect(names).toEqual(expect.arrayContaining(['acknowledge', 'approve', 'applied (dry-run enforcer) and verified', 'lift with restoration criteria', 'resolve', 'submit review', 'sign off', 'closed']));
    expect((drill.steps as { ms: number }[]).every((s) => typeof s.ms === 'number' && s.ms >= 0)).toBe(true);

    const incident = await database.db.selectFrom('incidents').selectAll().where('id', '=', drill.incidentId).executeTakeFirstOrThrow();
    expect(incident).toMatchObject({ drill: true, state: 'closed', system_id: systemId });
    const corrections = await database.db.selectFrom('corrections').selectAll().where('incident_id', '=', incident.id).execute();
    expect(corrections.every((c) => c.lifted_at !== null)).toBe(true);
    // No regulator clock ran for a drill.
    expect(await database.db.selectFrom('notifications').select('id').where('incident_id', '=', incident.id).where('audience', '=', 'regulator').execute()).toHaveLength(0);
  }, 180_000);

  it('touched no real enforcer, fallback or mailbox: everything went to the drill outbox', async () => {
    expect(endpoint.requests).toHaveLength(0);
    expect(mail.received).toHaveLength(0);
    expect((await readdir(drillOutbox)).filter((f) => f.endsWith('.eml')).length).toBeGreaterThan(3);
    const gateway = await api.token('edge', ['gateway']);
    for (const systemId of systems) expect((await api.call('GET', `/v1/policy/${systemId}`, { token: gateway })).body.corrections).toEqual([]);
  });

  it('keeps drills out of the metrics', async () => {
    const reader = await api.token('analyst', ['compliance']);
    for (const systemId of systems) {
      const metrics = await api.call('GET', `/v1/systems/${systemId}/metrics`, { token: reader });
      expect(metrics.status).toBe(200);
      expect(metrics.body.incidents.total).toBe(0);
    }
    const scraped = await api.call('GET', '/metrics', { token: await api.token('prometheus', ['gateway']) });
    expect(scraped.status).toBe(200);
    expect(String(scraped.body)).not.toMatch(/^correx_incidents\{/m);
  });

  it('refuses a drill the runbook cannot cast, naming why', async () => {
    const lead = await api.token('drill-lead', ['responder']);
    const refused = await api.call('POST', '/v1/drills', { token: lead, body: { systemId: 'frontier-assistant', scenario: { severity: 'SEV9' } } });
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([{ path: 'body.scenario', message: 'severity SEV9 is not one of SEV1, SEV2, SEV3, SEV4' }]);
  });
});
