import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../support/cli.js';
import { startEnvoy, startLiteLLM, startModelUpstream, type ModelUpstream, type RunningEnvoy, type RunningLiteLLM } from '../support/gateways.js';

/*
 * The gateway harness (test/support/gateways.ts) against a stub decision service, before any Correx
 * endpoint is involved: what each real gateway sends, and what each answer does to the client's call.
 *
 * Observed here (Envoy 1.40.0, LiteLLM 1.106.12), printed from the stub while writing these tests:
 *
 * Envoy (http ext_authz) asks, for a client's POST /v1/chat/completions:
 *   POST <path_prefix>/v1/chat/completions        (the client's method and path, query string included)
 *   host: <the client's Host>                       content-length: 0 (no body unless with_request_body)
 *   x-correx-user: u-1, x-correx-org: acme          (only the headers in allowed_headers)
 *   x-correx-gateway-key: gw-secret                 (authorization_request.headers_to_add)
 *   x-envoy-internal: true, x-envoy-expected-rq-timeout-ms: 2000
 *   The client's authorization header is sent too unless disallowed_headers lists it (startEnvoy does).
 *   With with_request_body: the JSON body as sent, content-length set, x-envoy-auth-partial-body: false.
 * It reads only the status and headers of the answer: 200 → the call goes on, with the answer's
 * allowed_upstream_headers set on it (replacing a client's own; the harness also strips the client's
 * x-correx-model-version/-filter-profile/-policy-version first); any other status → that status, body
 * and allowed_client_headers to the client; unreachable → 403 (failure_mode_allow false) or the call goes
 * on (true).
 *
 * LiteLLM (generic_guardrail_api, pre_call) asks, before each call:
 *   POST <api_base>/beta/litellm_basic_guardrail_api
 *   x-api-key: <api_key>, content-type: application/json, user-agent: litellm/1.106.12
 *   {"input_type":"request","litellm_call_id":"6f635def-…","litellm_trace_id":"f4fbecb8-…",
 *    "structured_messages":[{"role":"user","content":"What is the capital of France?"}],
 *    "images":null,"tools":null,"texts":["What is the capital of France?"],
 *    "request_data":{"user_api_key_hash":"litellm_proxy_master_key","user_api_key_user_id":"default_user_id",
 *                    "user_api_key_end_user_id":"end-user-7"},
 *    "request_headers":{"host":"127.0.0.1:42011","connection":"keep-alive","content-type":"application/json",
 *                       "x-correx-user":"u-1","x-correx-org":"acme","x-other":"[present]",
 *                       "accept":"…","accept-language":"[present]","sec-fetch-mode":"[present]",
 *                       "user-agent":"node","accept-encoding":"gzip, deflate","content-length":"112"},
 *    "litellm_version":"1.106.12","additional_provider_specific_params":{},"tool_calls":null,
 *    "model":"gpt-mock"}
 *   request_data: user_api_key_end_user_id is the OpenAI `user` field; with virtual keys (database mode)
 *   user_api_key_alias/_team_id/_team_alias/_org_id/_user_email appear too. request_headers: values only
 *   for LiteLLM's allowlist and the guardrail's extra_headers, "[present]" for the rest; authorization
 *   is never there.
 * Answers (HTTP 200 with JSON): {"action":"NONE"} → the call goes on; {"action":"BLOCKED",
 *   "blocked_reason":"…"} → 400 {"error":{"message":"…","type":"invalid_request_error","param":null,
 *   "code":"400"}} to the client; {"action":"GUARDRAIL_INTERVENED","texts":[…]} → the texts are replaced,
 *   but a `model` in the answer is ignored: a guardrail cannot reroute the call or set headers.
 *   A non-2xx answer → 500 ("Generic Guardrail API failed: …"), except 502/503/504, which count as
 *   unreachable like a refused connection or a timeout: 500 with fail_closed, the call goes on with
 *   fail_open.
 */

interface StubRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface StubAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** A decision service that answers whatever the test sets and records what it was asked. */
async function startStub(name = 'stub') {
  const requests: StubRequest[] = [];
  let answer: StubAnswer = { status: 200 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
      const body = answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
      res.writeHead(answer.status, {
        'x-stub': name,
        ...(answer.body !== undefined && typeof answer.body !== 'string' ? { 'content-type': 'application/json' } : {}),
        ...answer.headers,
      });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    answer(next: StubAnswer) {
      answer = next;
    },
    /** Stops listening: connections to its port are refused, as when the service is down. */
    down: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    /** Listens on its port again. */
    up: () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve)),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type Stub = Awaited<ReturnType<typeof startStub>>;

/** A URL nobody listens on: a decision service that is down. */
async function deadUrl() {
  const [port] = await freePorts(1);
  return `http://127.0.0.1:${port}`;
}

const chat = (model: string, extra: Record<string, unknown> = {}) => ({
  model,
  messages: [{ role: 'user', content: 'What is the capital of France?' }],
  ...extra,
});

describe('Envoy ext_authz', () => {
  let upstream: ModelUpstream;
  let stub: Stub;
  let second: Stub;
  let envoy: RunningEnvoy;
  let closedDown: RunningEnvoy;
  let openDown: RunningEnvoy;

  beforeAll(async () => {
    [upstream, stub, second] = await Promise.all([startModelUpstream(), startStub('a'), startStub('b')]);
    const common = {
      upstream: upstream.url,
      pathPrefix: '/v1/gateways/envoy/sys-1',
      credential: 'gw-secret',
      allowedHeaders: ['x-correx-user', 'x-correx-org', 'x-correx-tier', 'x-correx-region', 'x-correx-use-case', 'x-correx-capability'],
    };
    const dead = await deadUrl();
    [envoy, closedDown, openDown] = await Promise.all([
      startEnvoy({ ...common, decisionServices: [stub.url], failureModeAllow: false }),
      startEnvoy({ ...common, decisionServices: [dead], failureModeAllow: false }),
      startEnvoy({ ...common, decisionServices: [dead], failureModeAllow: true }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([envoy?.stop(), closedDown?.stop(), openDown?.stop()]);
    await Promise.all([upstream?.stop(), stub?.stop(), second?.stop()]);
  });

  const call = (gateway: RunningEnvoy, headers: Record<string, string> = {}) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: 'Bearer sk-client',
        'x-correx-user': 'u-1',
        'x-correx-org': 'acme',
        'x-other': 'not-sent',
        ...headers,
      },
      body: JSON.stringify(chat('gpt-mock')),
    });

  it('a 200 lets the call through, with the headers it sets, and sends the listed request headers and the credential', async () => {
    stub.answer({ status: 200, headers: { 'x-correx-model-version': 'v1', 'x-correx-filter-profile': 'strict', 'x-not-allowed': 'dropped' } });
    const before = upstream.requests.length;
    const response = await call(envoy, { 'x-correx-model-version': 'chosen-by-client' });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe('Hello from the mock model.');
    const reached = upstream.requests.slice(before);
    expect(reached).toHaveLength(1);
    expect(reached[0]!.headers['x-correx-model-version']).toBe('v1');
    expect(reached[0]!.headers['x-correx-filter-profile']).toBe('strict');
    expect(reached[0]!.headers['x-not-allowed']).toBeUndefined();
    const asked = stub.requests.at(-1)!;
    expect(asked.method).toBe('POST');
    expect(asked.path).toBe('/v1/gateways/envoy/sys-1/v1/chat/completions');
    expect(asked.headers['x-correx-gateway-key']).toBe('gw-secret');
    expect(asked.headers['x-correx-user']).toBe('u-1');
    expect(asked.headers['x-correx-org']).toBe('acme');
    expect(asked.headers['x-other']).toBeUndefined();
    expect(asked.headers.authorization).toBeUndefined();
    expect(asked.body).toBe('');
  });

  it('a header the client sets itself never reaches the model when the decision service sets none', async () => {
    stub.answer({ status: 200 });
    const before = upstream.requests.length;
    const response = await call(envoy, { 'x-correx-model-version': 'chosen-by-client', 'x-correx-policy-version': 'p0' });
    expect(response.status).toBe(200);
    const reached = upstream.requests.slice(before)[0]!;
    expect(reached.headers['x-correx-model-version']).toBeUndefined();
    expect(reached.headers['x-correx-policy-version']).toBeUndefined();
  });

  it('a 403 with a JSON body reaches the client as it is, and the model is not called', async () => {
    const body = { error: { code: 'correx_shutdown', message: 'This system is shut down by correction c-1.' } };
    stub.answer({ status: 403, headers: { 'x-correx-correction': 'c-1' }, body });
    const before = upstream.requests.length;
    const response = await call(envoy);
    expect(response.status).toBe(403);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('x-correx-correction')).toBe('c-1');
    expect(await response.json()).toEqual(body);
    expect(upstream.requests.length).toBe(before);
  });

  it('a 429 with retry-after reaches the client', async () => {
    stub.answer({ status: 429, headers: { 'retry-after': '30' }, body: { error: { code: 'correx_rate_limited' } } });
    const response = await call(envoy);
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('30');
    expect(await response.json()).toEqual({ error: { code: 'correx_rate_limited' } });
  });

  it('decision service down: 403 with failure_mode_allow false, the model with true', async () => {
    const closed = await call(closedDown);
    expect(closed.status).toBe(403);
    expect(await closed.text()).toBe('');
    const open = await call(openDown);
    expect(open.status).toBe(200);
  });

  it('two decision services behind one Envoy share the checks round robin (with the body, when asked)', async () => {
    const both = await startEnvoy({
      upstream: upstream.url,
      decisionServices: [stub.url, second.url],
      pathPrefix: '/v1/gateways/envoy/sys-2',
      withRequestBodyBytes: 8192,
    });
    try {
      stub.answer({ status: 200 });
      second.answer({ status: 200 });
      const [a, b] = [stub.requests.length, second.requests.length];
      for (let i = 0; i < 6; i++) expect((await call(both)).status).toBe(200);
      expect(stub.requests.length - a).toBeGreaterThan(0);
      expect(second.requests.length - b).toBeGreaterThan(0);
      expect(stub.requests.length - a + second.requests.length - b).toBe(6);
      const asked = stub.requests.at(-1)!;
      expect(JSON.parse(asked.body)).toEqual(chat('gpt-mock'));
      expect(asked.headers['x-correx-gateway-key']).toBeUndefined();
    } finally {
      await both.stop();
    }
  });
});

describe('LiteLLM generic guardrail', () => {
  let upstream: ModelUpstream;
  let stub: Stub;
  let openStub: Stub;
  let litellm: RunningLiteLLM;
  let open: RunningLiteLLM;

  beforeAll(async () => {
    [upstream, stub, openStub] = await Promise.all([startModelUpstream(), startStub('closed'), startStub('open')]);
    const common = {
      guardrailApiKey: 'gw-token',
      upstream: `${upstream.url}/v1`,
      models: ['gpt-mock', 'gpt-mock-v0'],
      extraHeaders: ['x-correx-user', 'x-correx-org'],
    };
    [litellm, open] = await Promise.all([
      startLiteLLM({ ...common, guardrailApiBase: `${stub.url}/v1/gateways/litellm/sys-1`, unreachableFallback: 'fail_closed' }),
      startLiteLLM({ ...common, guardrailApiBase: `${openStub.url}/v1/gateways/litellm/sys-1`, unreachableFallback: 'fail_open' }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([litellm?.stop(), open?.stop()]);
    await Promise.all([upstream?.stop(), stub?.stop(), openStub?.stop()]);
  });

  const call = (gateway: RunningLiteLLM, model = 'gpt-mock') =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${gateway.masterKey}`,
        'x-correx-user': 'u-1',
        'x-correx-org': 'acme',
        'x-other': 'secret',
      },
      body: JSON.stringify(chat(model, { user: 'end-user-7' })),
    });

  it('NONE lets the call through to the model; the check carries the listed headers, the end user and the model', async () => {
    stub.answer({ status: 200, body: { action: 'NONE' } });
    const before = upstream.requests.length;
    const response = await call(litellm);
    const text = await response.text();
    expect(response.status, text).toBe(200);
    expect((JSON.parse(text) as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe('Hello from the mock model.');
    expect(upstream.requests.slice(before)).toHaveLength(1);
    const asked = stub.requests.at(-1)!;
    expect(asked.method).toBe('POST');
    expect(asked.path).toBe('/v1/gateways/litellm/sys-1/beta/litellm_basic_guardrail_api');
    expect(asked.headers['x-api-key']).toBe('gw-token');
    const body = JSON.parse(asked.body) as Record<string, unknown> & { request_data: Record<string, unknown>; request_headers: Record<string, string> };
    expect(body).toMatchObject({ input_type: 'request', model: 'gpt-mock', texts: ['What is the capital of France?'] });
    expect(body.request_data.user_api_key_end_user_id).toBe('end-user-7');
    expect(body.request_headers['x-correx-user']).toBe('u-1');
    expect(body.request_headers['x-correx-org']).toBe('acme');
    expect(body.request_headers['x-other']).toBe('[present]');
    expect(body.request_headers.authorization).toBeUndefined();
  });

  it('BLOCKED answers 400 carrying the reason, and the model is not called', async () => {
    stub.answer({ status: 200, body: { action: 'BLOCKED', blocked_reason: 'Shut down by Correx correction c-1' } });
    const before = upstream.requests.length;
    const response = await call(litellm);
    const text = await response.text();
    expect(response.status).toBe(400);
    expect(JSON.parse(text)).toMatchObject({ error: { message: 'Shut down by Correx correction c-1', code: '400' } });
    expect(upstream.requests.length).toBe(before);
  });

  it('GUARDRAIL_INTERVENED can rewrite the texts but not the model the call goes to', async () => {
    stub.answer({ status: 200, body: { action: 'GUARDRAIL_INTERVENED', texts: ['[redacted]'], model: 'gpt-mock-v0' } });
    const before = upstream.requests.length;
    const response = await call(litellm);
    expect(response.status, await response.text()).toBe(200);
    const reached = upstream.requests.slice(before);
    expect(reached).toHaveLength(1);
    const sent = reached[0]!.body as { model: string; messages: { content: string }[] };
    expect(sent.model).toBe('gpt-mock');
    expect(sent.messages[0]!.content).toBe('[redacted]');
  });

  it('a decision service answering 500 blocks the call, with fail_closed and fail_open alike', async () => {
    for (const [gateway, target] of [
      [litellm, stub],
      [open, openStub],
    ] as const) {
      target.answer({ status: 500, body: { error: 'boom' } });
      const response = await call(gateway);
      expect(response.status).toBe(500);
      expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/^Generic Guardrail API failed: Server error '500/);
    }
  });

  it('a decision service answering 503 counts as unreachable: fail_open lets the call through', async () => {
    openStub.answer({ status: 503, body: { error: 'unavailable' } });
    expect((await call(open)).status).toBe(200);
    stub.answer({ status: 503, body: { error: 'unavailable' } });
    expect((await call(litellm)).status).toBe(500);
  });

  it('decision service down: 500 with fail_closed, the model with fail_open', async () => {
    await Promise.all([stub.down(), openStub.down()]);
    try {
      const closed = await call(litellm);
      expect(closed.status).toBe(500);
      expect(((await closed.json()) as { error: { message: string } }).error.message).toMatch(/^Generic Guardrail API failed: Cannot connect/);
      const before = upstream.requests.length;
      const opened = await call(open);
      expect(opened.status, await opened.text()).toBe(200);
      expect(upstream.requests.length).toBe(before + 1);
    } finally {
      await Promise.all([stub.up(), openStub.up()]);
    }
  });

  it('fail_open does not weaken a BLOCKED answer', async () => {
    openStub.answer({ status: 200, body: { action: 'BLOCKED', blocked_reason: 'Restricted by Correx' } });
    expect((await call(open)).status).toBe(400);
  });
});
