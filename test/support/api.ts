import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import type { Kysely } from 'kysely';
import { createToken } from '../../services/access/repository.js';
import type { Role } from '../../services/access/roles.js';
import type { Database } from '../../services/db/schema.js';
import type { CorrexApp } from '../../services/http/app.js';
import { buildHttpService, type HttpServiceDependencies } from '../../services/http/server.js';
import { RunbookCatalogue } from '../../services/runbook/catalogue.js';
import { generateSigningKey, type SigningKey } from '../../services/export/signing.js';

/** One key for every API a test run starts, like one deployment's configured key. */
export const testSigningKey = generateSigningKey();
import type { RunningWorker } from './temporal.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests assert response bodies field by field
type AnyBody = any;

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** The real HTTP service on a random port, over a test's database and worker, with tokens minted on demand. */
export interface RunningApi {
  url: string;
  app: CorrexApp;
  /** The API's runbooks: `refresh()` after writing a runbook file makes the next request see it. */
  runbooks: RunbookCatalogue;
  /** A bearer token for a person with roles (created once per owner and role set). */
  token(owner: string, roles: Role[]): Promise<string>;
  call<T = AnyBody>(method: string, path: string, options?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<ApiResponse<T>>;
  close(): Promise<void>;
}

export async function startApi(
  db: Kysely<Database>,
  worker: RunningWorker,
  options: {
    runbooksDir?: string;
    rateLimit?: HttpServiceDependencies['rateLimit'];
    signingKey?: SigningKey;
    console?: HttpServiceDependencies['console'];
    trustProxy?: HttpServiceDependencies['trustProxy'];
    recordTimeoutMs?: number;
    temporalUiUrl?: string;
  } = {},
): Promise<RunningApi> {
  // As `correx api` does: loaded before serving, reloaded in the background when a file changes.
  const runbooks = new RunbookCatalogue(options.runbooksDir ?? 'runbooks', db);
  await runbooks.current();
  const app = await buildHttpService({
    db,
    databaseBackend: 'postgres',
    temporal: { client: worker.client, connection: worker.connection, address: 'test', taskQueue: worker.taskQueue },
    runbooks,
    signingKey: options.signingKey ?? testSigningKey,
    // A success body that strays from its documented schema fails the test that caused it.
    strictResponses: true,
    ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
    ...(options.console ? { console: options.console } : {}),
    ...(options.trustProxy !== undefined ? { trustProxy: options.trustProxy } : {}),
    ...(options.recordTimeoutMs !== undefined ? { recordTimeoutMs: options.recordTimeoutMs } : {}),
    ...(options.temporalUiUrl ? { temporalUiUrl: options.temporalUiUrl } : {}),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const tokens = new Map<string, Promise<string>>();
  return {
    url,
    app,
    runbooks,
    token(owner, roles) {
      const key = `${owner}:${[...roles].sort().join(',')}`;
      if (!tokens.has(key))
        tokens.set(
          key,
          createToken(db, { owner, roles }).then((t) => t.secret),
        );
      return tokens.get(key)!;
    },
    async call(method, path, callOptions = {}) {
      const headers: Record<string, string> = { ...callOptions.headers };
      if (callOptions.token) headers.authorization = `Bearer ${callOptions.token}`;
      if (callOptions.body !== undefined) headers['content-type'] ??= 'application/json';
      const response = await fetch(`${url}${path}`, {
        method,
        headers,
        ...(callOptions.body !== undefined ? { body: typeof callOptions.body === 'string' ? callOptions.body : JSON.stringify(callOptions.body) } : {}),
      });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: keep the text
      }
      return { status: response.status, headers: response.headers, body: body as AnyBody };
    },
    async close() {
      runbooks.close();
      await app.close();
    },
  };
}

/** A responder triggers an incident through the API and acknowledges it, becoming its commander. Returns the incident's id. */
export async function acknowledgedIncident(api: RunningApi, token: string, trigger: Record<string, unknown>): Promise<string> {
  const opened = await api.call('POST', '/v1/incidents', { token, body: trigger });
  expect(opened.status, JSON.stringify(opened.body)).toBe(202);
  const id = opened.body.incidentId as string;
  const acknowledged = await api.call('POST', `/v1/incidents/${id}/acknowledge`, { token, body: {} });
  expect(acknowledged.status, JSON.stringify(acknowledged.body)).toBe(200);
  return id;
}

/**
 * Where every regulator journey starts: a responder triggers an incident through the API, acknowledges
 * it (becoming its commander) and classifies it. Returns the incident's id.
 */
export async function openClassifiedIncident(
  api: RunningApi,
  token: string,
  trigger: Record<string, unknown>,
  classification: { classes: string[]; reason: string },
): Promise<string> {
  const id = await acknowledgedIncident(api, token, trigger);
  const classified = await api.call('POST', `/v1/incidents/${id}/classify`, { token, body: classification });
  expect(classified.status, JSON.stringify(classified.body)).toBe(200);
  return id;
}

/**
 * A correction proposed by `proposer` and approved by `approver` through the API, waited for until it is
 * in force (verified, so every API instance answers gateways with it). Returns the correction's id.
 */
export async function correctionInForce(
  api: RunningApi,
  incidentId: string,
  proposer: string,
  approver: string,
  proposal: Record<string, unknown>,
): Promise<string> {
  const proposed = await api.call('POST', `/v1/incidents/${incidentId}/corrections`, { token: proposer, body: proposal });
  expect(proposed.status, JSON.stringify(proposed.body)).toBe(201);
  const id = proposed.body.correctionId as string;
  const decided = await api.call('POST', `/v1/corrections/${id}/decision`, {
    token: approver,
    body: { decision: 'approve', rationale: 'Contained and reversible' },
  });
  expect(decided.status, JSON.stringify(decided.body)).toBe(200);
  const deadline = Date.now() + 30_000;
  while ((await api.call('GET', `/v1/corrections/${id}`, { token: approver })).body.state !== 'active') {
    if (Date.now() > deadline) throw new Error(`correction ${id} not in force within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return id;
}

/**
 * A free-tier rate limit proposed by `proposer` and approved by `approver` through the API, waited for
 * until it is in force. Returns the correction's id.
 */
export async function rateLimitInForce(api: RunningApi, incidentId: string, proposer: string, approver: string): Promise<string> {
  return correctionInForce(api, incidentId, proposer, approver, {
    kind: 'rate_limit',
    scope: { tiers: ['free'] },
    parameters: { requestsPerMinute: 10, per: 'user' },
    reason: 'Slow the scraping while the fix ships',
  });
}
