import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../services/db/connect.js';
import { startApi, type RunningApi } from '../support/api.js';
import { useIncidentStack } from '../support/stack.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

/**
 * An API instance whose PostgreSQL goes away (its connection runs through a forwarder the test cuts):
 * gateways are answered from memory within the 1 s bound, then as each system's runbook says
 * (frontier-assistant fails closed by default; clinical-triage is set to fail open), and normally again
 * once PostgreSQL is back.
 */
describe('decisions while PostgreSQL is away', () => {
  const stack = useIncidentStack({
    runbookFiles: {
      'frontier-assistant': 'frontier-assistant',
      'clinical-triage': {
        from: 'clinical-triage',
        adjust(runbook) {
          runbook.system.enforcement = { adapter: 'policy', failMode: 'open' };
        },
      },
    },
  });
  let proxy: TcpProxy;
  let database: DatabaseHandle;
  let api: RunningApi;
  let gateway: string;

  beforeAll(async () => {
    const target = new URL(stack.database.location);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    database = await openDatabase({ url: proxy.url(stack.database.location) }, { onConnectionLost: () => {} });
    api = await startApi(database.db, stack.worker, { runbooksDir: stack.runbooksDir });
    gateway = await api.token('envoy-edge', ['gateway']);
  });
  afterAll(async () => {
    await proxy?.start();
    await api?.close();
    await database?.close();
    await proxy?.close();
  });

  const decide = (systemId: string) => api.call('POST', '/v1/decide', { token: gateway, body: { systemId, userId: 'u-1' } });
  const envoyCheck = (systemId: string) =>
    fetch(`${api.url}/v1/gateways/envoy/${systemId}/v1/chat/completions`, { method: 'POST', headers: { 'x-correx-gateway-key': gateway } });

  it('answers from memory within the bound, then fails closed or open as each runbook says, and recovers', async () => {
    for (const systemId of ['frontier-assistant', 'clinical-triage']) expect((await decide(systemId)).body).toMatchObject({ decision: 'allow' });
    await proxy.stop();
    const cutAt = Date.now();
    // Within the bound the policy and the token held answer without PostgreSQL; a refusal says the policy
    // was last confirmed longer ago than the bound (a poll cycle slowed by load can age it that far).
    const early = await decide('frontier-assistant');
    if (early.status !== 200) {
      expect(early.status).toBe(503);
      expect(Number(/last confirmed (\d+) ms ago/.exec(early.body.detail)?.[1])).toBeGreaterThan(1_000);
    }
    expect(Date.now() - cutAt).toBeLessThan(1_000);

    await new Promise((resolve) => setTimeout(resolve, 1_300));
    const closed = await decide('frontier-assistant');
    expect(closed.status).toBe(503);
    expect(closed.body.detail).toContain('failMode closed');
    expect((await envoyCheck('frontier-assistant')).status).toBe(503);
    const open = await decide('clinical-triage');
    // /v1/decide says it cannot vouch for the policy; the gateway endpoints let the request through.
    expect(open.status).toBe(503);
    expect(open.body.detail).toContain('failMode open');
    expect((await envoyCheck('clinical-triage')).status).toBe(200);

    await proxy.start();
    const back = Date.now();
    while ((await decide('frontier-assistant')).status !== 200) {
      expect(Date.now() - back, 'decisions did not come back within 5 s of PostgreSQL').toBeLessThan(5_000);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await envoyCheck('frontier-assistant')).status).toBe(200);
  }, 60_000);
});
