import { access, readdir } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCorrex } from '../support/cli.js';
import { eventually } from '../support/database.js';
import { shippedRunbook } from '../support/runbooks.js';
import { useIncidentStack, type RunbookSource } from '../support/stack.js';

const systems = ['frontier-assistant', 'credit-scoring', 'clinical-triage'];
const secret = 'drill-webhook-secret-0123456789';

type Step = { name: string; ms: number; by: string; detail?: string; outcome?: string; reason?: string };

describe('drills: each shipped runbook end to end, touching no real enforcer, mailbox or regulator', () => {
  // The shipped runbooks, with every webhook (enforcement and fallbacks) pointed at a listener that counts calls.
  const pointedAtEndpoint = (systemId: string): RunbookSource => ({
    from: systemId,
    adjust(runbook) {
      const enforcement = runbook.system.enforcement as { adapter: string };
      stack.routeToEndpoint(runbook, { enforcement: enforcement.adapter === 'webhook' });
    },
  });
  const stack = useIncidentStack({
    mailSink: true,
    controlEndpoint: { secret },
    drillOutbox: true,
    runbookFiles: Object.fromEntries(systems.map((systemId) => [systemId, pointedAtEndpoint(systemId)])),
    api: true,
  });
  // The runbooks' people can act as they would in a real incident: each has a token that lets them in.
  beforeAll(async () => {
    for (const systemId of systems)
      for (const person of (await shippedRunbook(systemId)).people as { id: string }[]) await stack.api.token(person.id, ['responder', 'approver']);
  });

  it.each(systems)(
    'drills %s from trigger to a closed incident, timing every step',
    async (systemId) => {
      const lead = await stack.api.token('drill-lead', ['responder']);
      const started = await stack.api.call('POST', '/v1/drills', { token: lead, body: { systemId } });
      expect(started.status, JSON.stringify(started.body)).toBe(202);
      const drillId = started.body.drillId as string;
      const drill = await eventually(async () => {
        const state = await stack.api.call('GET', `/v1/drills/${drillId}`, { token: lead });
        return state.status === 200 && state.body.state !== 'running' ? state.body : undefined;
      }, 150_000);
      expect(drill.failure).toBeUndefined();
      expect(drill.state).toBe('completed');
      const names = (drill.steps as { name: string; ms: number; by: string }[]).map((s) => s.name);
      expect(names[0]).toBe('trigger');
      expect(names).toEqual(
        expect.arrayContaining([
          'acknowledge',
          'approve',
          'applied (dry-run enforcer) and verified',
          'lift with restoration criteria',
          'resolve',
          'submit review',
          'sign off',
          'closed',
        ]),
      );
      const steps = drill.steps as Step[];
      expect(steps.every((s) => typeof s.ms === 'number' && s.ms >= 0)).toBe(true);
      expect(steps.filter((s) => s.outcome !== 'ok')).toEqual([]);
      // Every notice to a consumer is a step that says where the mail went, and the mail is there.
      const notices = steps.filter((s) => s.name.startsWith('notice '));
      expect(notices.length).toBeGreaterThan(0);
      for (const notice of notices) {
        const file = notice.detail!.match(/: written to the drill outbox (.+) as (.+\.eml), not sent$/);
        expect(file, notice.detail).not.toBeNull();
        expect(file![1]).toBe(stack.drillOutbox);
        await access(path.join(stack.drillOutbox, file![2]!));
      }
      // Every fallback switched on and off as a step: webhooks signed and read back at the dry-run receiver.
      const fallbacks = steps.filter((s) => s.name.startsWith('fallback '));
      expect(fallbacks.length).toBe(notices.length);
      for (const fallback of fallbacks)
        expect(fallback.detail).toMatch(
          /^(webhook: signed request to Correx's dry-run receiver, read back (on|off)|(email|manual): the request written to the drill outbox .+, not sent)$/,
        );
      expect(drill.touched).toContain(`mail written to the drill outbox ${stack.drillOutbox}, not sent`);

      const incident = await stack.db.selectFrom('incidents').selectAll().where('id', '=', drill.incidentId).executeTakeFirstOrThrow();
      expect(incident).toMatchObject({ drill: true, state: 'closed', system_id: systemId });
      const corrections = await stack.db.selectFrom('corrections').selectAll().where('incident_id', '=', incident.id).execute();
      expect(corrections.every((c) => c.lifted_at !== null)).toBe(true);
      // No regulator clock ran for a drill.
      expect(
        await stack.db.selectFrom('notifications').select('id').where('incident_id', '=', incident.id).where('audience', '=', 'regulator').execute(),
      ).toHaveLength(0);
    },
    180_000,
  );

  it('touched no real enforcer, fallback or mailbox: everything went to the drill outbox', async () => {
    expect(stack.endpoint.requests).toHaveLength(0);
    expect(stack.endpoint.fallbackRequests).toHaveLength(0);
    expect(stack.mail.received).toHaveLength(0);
    expect((await readdir(stack.drillOutbox)).filter((f) => f.endsWith('.eml')).length).toBeGreaterThan(3);
    const gateway = await stack.api.token('edge', ['gateway']);
    for (const systemId of systems) expect((await stack.api.call('GET', `/v1/policy/${systemId}`, { token: gateway })).body.corrections).toEqual([]);
  });

  it('says, through correx drill, where each notice went and that mail was written to the drill outbox, not sent', async () => {
    const lead = await stack.api.token('drill-lead', ['responder']);
    const run = await runCorrex(['drill', 'frontier-assistant', '--server', stack.api.url, '--token', lead], {}, 170_000);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/notice in force: .+ \(system:notifications\): to .+: written to the drill outbox .+ as .+\.eml, not sent/);
    expect(run.stdout).toMatch(/approve \(sofia-marquez\): as safety-engineering-manager \(token: approver\)/);
    expect(run.stdout).toContain(`touched: no enforcer (the dry-run enforcer stood in)`);
    expect(run.stdout).toContain(`mail written to the drill outbox ${stack.drillOutbox}, not sent`);
    expect(run.stdout).not.toMatch(/no .*mailbox/);
  }, 180_000);

  it('keeps drills out of the metrics', async () => {
    const reader = await stack.api.token('analyst', ['compliance']);
    for (const systemId of systems) {
      const metrics = await stack.api.call('GET', `/v1/systems/${systemId}/metrics`, { token: reader });
      expect(metrics.status).toBe(200);
      expect(metrics.body.incidents.total).toBe(0);
    }
    const scraped = await stack.api.call('GET', '/metrics', { token: await stack.api.token('prometheus', ['gateway']) });
    expect(scraped.status).toBe(200);
    expect(String(scraped.body)).not.toMatch(/^correx_incidents\{/m);
  });

  it('refuses a drill the runbook cannot cast, naming why', async () => {
    const lead = await stack.api.token('drill-lead', ['responder']);
    const refused = await stack.api.call('POST', '/v1/drills', { token: lead, body: { systemId: 'frontier-assistant', scenario: { severity: 'SEV9' } } });
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([{ path: 'body.scenario', message: 'severity SEV9 is not one of SEV1, SEV2, SEV3, SEV4' }]);
  });
});
