import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUnavailable, openDatabase, type DatabaseHandle } from '../../services/db/connect.js';
import { startApi, type RunningApi } from '../support/api.js';
import { useIncidentStack } from '../support/stack.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

const withCode = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('databaseUnavailable', () => {
  it('recognises a database that does not answer', () => {
    for (const error of [
      withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'),
      withCode('57P01', 'terminating connection due to administrator command'),
      withCode('57P03', 'the database system is starting up'),
      withCode('ETIMEDOUT'),
      new Error('Connection terminated unexpectedly'),
      new Error('Connection terminated'),
      new Error('timeout exceeded when trying to connect'),
      new AggregateError([withCode('ECONNREFUSED')], ''),
      new Error('query failed', { cause: withCode('ECONNRESET') }),
    ]) {
      expect(databaseUnavailable(error), String(error)).toBe(true);
    }
  });

  it('leaves other errors alone', () => {
    for (const error of [
      withCode('23505', 'duplicate key value violates unique constraint'),
      withCode('42P01', 'relation "x" does not exist'),
      new Error('boom'),
      'text',
      undefined,
      null,
    ]) {
      expect(databaseUnavailable(error), String(error)).toBe(false);
    }
  });
});

// The API's own connection to PostgreSQL goes through a forwarder the test can cut, as a database
// restart would; the worker keeps its own direct connection.
describe('the API while PostgreSQL is down', () => {
  const stack = useIncidentStack();
  let proxy: TcpProxy;
  let apiDatabase: DatabaseHandle;
  let api: RunningApi;
  let token: string;

  beforeAll(async () => {
    const target = new URL(stack.database.location);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    apiDatabase = await openDatabase({ url: proxy.url(stack.database.location) }, { onConnectionLost: () => {} });
    api = await startApi(apiDatabase.db, stack.worker);
    token = await api.token('jonas-berg', ['responder']);
  });
  afterAll(async () => {
    await api?.close();
    await apiDatabase?.close();
    await proxy?.close();
  });

  it('answers 503 problem+json with Retry-After, then recovers when it is back', async () => {
    expect((await api.call('GET', '/v1/incidents', { token })).status).toBe(200);

    await proxy.stop();
    try {
      for (const [method, path, body] of [
        ['GET', '/v1/incidents', undefined],
        ['POST', '/v1/incidents', { systemId: 'frontier-assistant', title: 'Jailbreak rate', severity: 'SEV2', dedupKey: 'outage' }],
      ] as const) {
        const response = await api.call(method, path, { token, ...(body ? { body } : {}) });
        expect(response.status, `${method} ${path}: ${JSON.stringify(response.body)}`).toBe(503);
        expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(response.headers.get('retry-after')).toBe('5');
        expect(response.body).toMatchObject({ title: 'Service unavailable', status: 503, detail: 'the database does not answer; retry shortly' });
      }
    } finally {
      await proxy.start();
    }

    expect((await api.call('GET', '/v1/incidents', { token })).status).toBe(200);
  });
});
