import { randomUUID } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { recordIncidentOpened, recordIncidentTransition } from '../../services/incident/repository.js';
import type { IncidentState } from '../../services/incident/schema.js';
import { startApi, type RunningApi } from '../support/api.js';
import { createPostgresTestDatabase, eventually, type TestDatabase } from '../support/database.js';
import { projectRoot } from '../support/environment.js';
import { startDevServerWorker, type RunningWorker } from '../support/temporal.js';

/** The incidents the console lists, from its HTML: id and the state shown in the row. */
function listedIncidents(html: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const row of html.split('<tr').slice(1)) {
    const id = /href="\/console\/incidents\/([0-9a-f-]{36})"/.exec(row)?.[1];
    const state = /data-label="State"><div class="cell"><span class="badge state">([^<]*)</.exec(row)?.[1];
    if (id && state) rows.set(id, state);
  }
  return rows;
}

/** The option values of one of the list's filters. */
function optionsOf(html: string, select: string): string[] {
  const body = new RegExp(`<select name="${select}">(.*?)</select>`, 's').exec(html)?.[1] ?? '';
  return [...body.matchAll(/<option value="([^"]*)"/g)].map((m) => m[1]!);
}

describe('console incident list: every open state in the default list, filters from the vocabularies and runbooks', () => {
  let database: TestDatabase;
  let worker: RunningWorker;
  let api: RunningApi;
  let runbooksDir: string;
  let cookie: string;
  const incidentIn = {} as Record<IncidentState, string>;
  let creditSeverities: string[];

  beforeAll(async () => {
    // The shipped frontier-assistant runbook, and credit-scoring with severities of its own naming.
    runbooksDir = await mkdtemp(path.join(os.tmpdir(), 'correx-incident-list-'));
    await copyFile(path.join(projectRoot, 'runbooks', 'frontier-assistant.yaml'), path.join(runbooksDir, 'frontier-assistant.yaml'));
    const credit = (await readFile(path.join(projectRoot, 'runbooks', 'credit-scoring.yaml'), 'utf8')).replace(/\bSEV(\d)\b/g, 'Tier-$1');
    await writeFile(path.join(runbooksDir, 'credit-scoring.yaml'), credit);
    creditSeverities = (parse(credit) as { severities: { id: string }[] }).severities.map((s) => s.id);

    database = await createPostgresTestDatabase();
    worker = await startDevServerWorker(database.db);
    api = await startApi(database.db, worker, { runbooksDir });
    const commander = await api.token('jonas-berg', ['responder']);
    const responder = await api.token('amara-okafor', ['responder']);
    const safetyManager = await api.token('sofia-marquez', ['approver']);

    const open = async (state: IncidentState) => {
      const opened = await api.call('POST', '/v1/incidents', {
        token: commander,
        body: { systemId: 'frontier-assistant', title: `Listed while ${state}`, severity: 'SEV2' },
      });
      expect(opened.status, JSON.stringify(opened.body)).toBe(202);
      incidentIn[state] = opened.body.incidentId as string;
      return incidentIn[state];
    };
    const act = async (id: string, action: 'acknowledge' | 'resolve') => {
      const response = await api.call('POST', `/v1/incidents/${id}/${action}`, { token: commander });
      expect(response.status, JSON.stringify(response.body)).toBe(200);
    };
    const proposeRateLimit = async (id: string) => {
      const proposed = await api.call('POST', `/v1/incidents/${id}/corrections`, {
        token: responder,
        body: { kind: 'rate_limit', scope: { tiers: ['free'] }, parameters: { requestsPerMinute: 10, per: 'user' }, reason: 'Slow the free tier down' },
      });
      expect(proposed.status, JSON.stringify(proposed.body)).toBe(201);
      return proposed.body.correctionId as string;
    };

    // Every open state through the real workflows.
    await open('triggered');
    await act(await open('acknowledged'), 'acknowledge');
    // Mitigating: a correction is proposed and waits on its approver's decision.
    const mitigating = await open('mitigating');
    await act(mitigating, 'acknowledge');
    await proposeRateLimit(mitigating);
    // Mitigated: the correction is approved, applied and verified, so it is in force.
    const mitigated = await open('mitigated');
    await act(mitigated, 'acknowledge');
    const correctionId = await proposeRateLimit(mitigated);
    const approved = await api.call('POST', `/v1/corrections/${correctionId}/decision`, {
      token: safetyManager,
      body: { decision: 'approve', rationale: 'Proportionate while the filter is fixed' },
    });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    const resolved = await open('resolved');
    await act(resolved, 'acknowledge');
    await act(resolved, 'resolve');
    // Closed takes an after-action review and its sign-off through the workflows; the incident
    // repository's own transition records one directly (a row with no workflow behind it).
    const closed = randomUUID();
    incidentIn.closed = closed;
    const openedAt = new Date().toISOString();
    await recordIncidentOpened(database.db, {
      incidentId: closed,
      workflowId: `incident:frontier-assistant:${closed}`,
      systemId: 'frontier-assistant',
      dedupKey: closed,
      title: 'Listed while closed',
      severity: 'SEV2',
      summary: undefined,
      openedBy: 'jonas-berg',
      openedAt,
      runbookVersion: 'sha256:none',
    });
    await recordIncidentTransition(database.db, { incidentId: closed, state: 'closed', actor: 'jonas-berg', at: openedAt });

    for (const [state, id] of Object.entries(incidentIn)) {
      await eventually(
        async () => ((await database.db.selectFrom('incidents').select('state').where('id', '=', id).executeTakeFirst())?.state === state ? true : undefined),
        30_000,
      );
    }

    // Signed in as a browser is: the sign-in form's secret, then the session cookie.
    const form = await fetch(`${api.url}/console/sign-in`);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
    const signIn = await fetch(`${api.url}/console/sign-in`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: form.headers.get('set-cookie')!.split(';')[0]!, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, token: responder, next: '/console' }).toString(),
    });
    expect(signIn.status).toBe(303);
    cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
    expect(cookie).toMatch(/^correx_session=/);
  }, 180_000);

  afterAll(async () => {
    await api?.close();
    await worker?.stop();
    await database?.destroy();
    if (runbooksDir) await rm(runbooksDir, { recursive: true, force: true });
  });

  const consolePage = async (query = '') => {
    const response = await fetch(`${api.url}/console${query}`, { headers: { cookie }, redirect: 'manual' });
    expect(response.status).toBe(200);
    return response.text();
  };

  it('lists an incident in each open state by default, in its state, and leaves the closed one out', async () => {
    const listed = listedIncidents(await consolePage());
    for (const state of ['triggered', 'acknowledged', 'mitigating', 'mitigated', 'resolved'] as const) {
      expect(listed.get(incidentIn[state]), `the ${state} incident`).toBe(state);
    }
    expect(listed.has(incidentIn.closed)).toBe(false);
  });

  it('offers every incident state as a filter, and each lists its incident alone', async () => {
    const html = await consolePage();
    expect(optionsOf(html, 'state')).toEqual(['open', 'all', 'triggered', 'acknowledged', 'mitigating', 'mitigated', 'resolved', 'closed']);
    for (const [state, id] of Object.entries(incidentIn)) {
      expect([...listedIncidents(await consolePage(`?state=${state}`)).keys()], state).toEqual([id]);
    }
    expect(new Set(listedIncidents(await consolePage('?state=all')).keys())).toEqual(new Set(Object.values(incidentIn)));
  });

  it("documents the API list's state filter with the incident states, and takes them repeated or comma-separated", async () => {
    const document = (await api.call('GET', '/openapi.json')).body as {
      paths: Record<string, Record<string, { parameters: { name: string; in: string; schema: unknown }[] }>>;
    };
    const state = document.paths['/v1/incidents']!.get!.parameters.find((p) => p.in === 'query' && p.name === 'state');
    expect(state?.schema).toMatchObject({ type: 'array', items: { enum: ['triggered', 'acknowledged', 'mitigating', 'mitigated', 'resolved', 'closed'] } });
    const token = await api.token('amara-okafor', ['responder']);
    const ids = async (query: string) => {
      const response = await api.call('GET', `/v1/incidents?${query}`, { token });
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      return new Set((response.body.items as { id: string }[]).map((i) => i.id));
    };
    const expected = new Set([incidentIn.mitigating, incidentIn.mitigated]);
    expect(await ids('state=mitigating&state=mitigated')).toEqual(expected);
    expect(await ids('state=mitigating,mitigated')).toEqual(expected);
    const refused = await api.call('GET', '/v1/incidents?state=mitigating,paused', { token });
    expect(refused.status).toBe(400);
  });

  it("offers the runbooks' severities, and refuses one no runbook defines", async () => {
    expect(optionsOf(await consolePage(), 'severity')).toEqual(['', ...creditSeverities, 'SEV1', 'SEV2', 'SEV3', 'SEV4']);
    expect(listedIncidents(await consolePage(`?severity=${creditSeverities[0]}`)).size).toBe(0);
    expect(listedIncidents(await consolePage('?severity=SEV2')).size).toBe(5);
    const unknown = await fetch(`${api.url}/console?severity=SEV9`, { headers: { cookie } });
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('severity: is not a severity of any runbook');
  });
});
