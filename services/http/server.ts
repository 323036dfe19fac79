import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import type { Client, Connection } from '@temporalio/client';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, jsonSchemaTransform, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import type { OpenAPIV3_1 } from 'openapi-types';
import { authenticate } from '../access/repository.js';
import { allows, type Access } from '../access/roles.js';
import { accessRoutes } from '../access/routes.js';
import { consoleRoutes, type ConsoleOptions } from '../console/routes.js';
import { messagePage } from '../console/pages.js';
import { correctionRoutes } from '../correction/routes.js';
import { databaseReachable, databaseUnavailable } from '../db/connect.js';
import { drillRoutes } from '../drill/routes.js';
import { exportRoutes } from '../export/routes.js';
import type { SigningKey } from '../export/signing.js';
import type { Database } from '../db/schema.js';
import { ActionRefused, InvalidInput, type FieldError } from '../errors.js';
import { incidentRoutes } from '../incident/routes.js';
import { metricsRoutes } from '../metrics/routes.js';
import { ingestRoutes } from '../ingest/routes.js';
import { pagerDutyInvalid } from '../ingest/pagerduty.js';
import { MonitorClient } from '../monitoring/client.js';
import { monitoringRoutes } from '../monitoring/routes.js';
import { regulatoryRoutes } from '../regulatory/routes.js';
import type { RunbookCatalogue } from '../runbook/catalogue.js';
import { reviewRoutes } from '../review/routes.js';
import { scheduleRoutes } from '../schedule/routes.js';
import { taskRoutes } from '../task/routes.js';
import { workflowClients } from '../temporal/clients.js';
import { temporalReachable } from '../temporal/connect.js';
import { registerGatewayRoutes } from '../correction/gateways.js';
import { LivePolicy } from '../correction/live-policy.js';
import { RateLimitCounter, dropPastWindows } from '../correction/rate-limit.js';
import { NotFound, NotRecordedYet, type CorrexApp, type RouteDependencies } from './app.js';
import { ApiContract, contractSerializer, maxPathSegment } from './contract.js';
import { HealthReport, Liveness, Readiness } from './health.js';
import { sendProblem, type Problem } from './problem.js';

export interface HttpServiceDependencies {
  db: Kysely<Database>;
  databaseBackend: 'postgres' | 'pglite';
  temporal: { client: Client; connection: Connection; address: string; taskQueue: string };
  runbooks: RunbookCatalogue;
  /** Signs export manifests; its public half is served at /.well-known/correx-signing-key. */
  signingKey: SigningKey;
  /** Requests per minute per token; alert senders (`ingest`) get their own, larger budget. */
  rateLimit?: { perMinute: number; ingestPerMinute: number };
  logLevel?: string;
  /** False while the process starts or drains (SIGTERM): `/readyz` then answers 503 so traffic goes elsewhere. */
  accepting?: () => boolean;
  /** The web console's local-mode extras (auto sign-in as the local administrator, the outbox page). */
  console?: ConsoleOptions;
  /** Behind a load balancer: whose X-Forwarded-For to believe (rate limits of keyless senders go by client address). */
  trustProxy?: boolean | number | string[];
  /** How long a write waits for its workflow to record the row it answers with, before answering 503 (10 s by default). */
  recordTimeoutMs?: number;
  /** The Temporal web UI (`CORREX_TEMPORAL_UI_URL`): incidents in the API and the console link their workflow there. */
  temporalUiUrl?: string;
  /** A success body that does not match its documented schema answers 500 (tests), instead of being logged and sent. */
  strictResponses?: boolean;
}

const validationParts: Record<string, string> = { body: 'body', querystring: 'query', params: 'params', headers: 'headers' };

function describeAccess(access: Access): string {
  if (access === 'public') return 'No token needed.';
  if (access === 'integration-key') return 'Authenticated by the integration key in the body (routing_key).';
  if ('session' in access) return `Console session (cookie) of a token with one of the roles: ${access.session.join(', ')}.`;
  return `Bearer token with one of the roles: ${access.join(', ')}.`;
}

/**
 * The first string (or key) in a request that PostgreSQL could not store: NUL, which text cannot hold,
 * or a lone UTF-16 surrogate (a string cut in the middle of an emoji), which jsonb refuses. Let through,
 * either fails later in an activity that retries forever, so nobody is paged.
 */
function illFormedText(value: unknown, at: (string | number)[]): FieldError | undefined {
  const problem = (text: string) =>
    text.includes('\u0000')
      ? 'must not contain NUL characters'
      : text.isWellFormed()
        ? undefined
        : 'must be well-formed Unicode (it has a lone UTF-16 surrogate)';
  if (typeof value === 'string') {
    const message = problem(value);
    return message ? { path: at.join('.'), message } : undefined;
  }
  if (value === null || typeof value !== 'object' || at.length > 32) return undefined;
  for (const [key, inner] of Object.entries(value)) {
    const message = problem(key);
    if (message) return { path: [...at, JSON.stringify(key).slice(1, -1)].join('.'), message };
    const found = illFormedText(inner, [...at, key]);
    if (found) return found;
  }
  return undefined;
}

/** The versioned HTTP API: every route declares who may call it, validates with zod, and answers errors as problem+json. */
export async function buildHttpService(deps: HttpServiceDependencies): Promise<CorrexApp> {
  const app = Fastify({
    logger: { level: deps.logLevel ?? 'warn' },
    bodyLimit: 1024 * 1024,
    routerOptions: { maxParamLength: maxPathSegment },
    ...(deps.trustProxy === undefined
      ? {}
      : { trustProxy: typeof deps.trustProxy === 'number' ? (_address: string, hop: number) => hop < (deps.trustProxy as number) : deps.trustProxy }),
    // A malformed URL (`%ZZ`) or an over-long path segment never reaches a route: answer it as every other
    // invalid request. An over-long segment is a 400, not a 414: the document bounds each path parameter
    // to maxPathSegment, so it is a parameter that breaks its schema, as a client reading the schema expects.
    frameworkErrors: (error, request, reply) => {
      const overLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
      // A person following a mangled console link gets the console's page, not JSON.
      if (request.url.startsWith('/console')) {
        (reply as FastifyReply)
          .code(400)
          .type('text/html; charset=utf-8')
          .send(
            messagePage({
              title: 'Invalid link',
              message: overLong ? 'This link has a part longer than any id Correx uses: it was cut or joined by mistake.' : 'This link is not a valid address.',
              back: '/console',
            }),
          );
        return;
      }
      sendProblem(reply, {
        title: overLong ? 'Invalid request' : 'Bad request',
        status: 400,
        detail: overLong
          ? `a path segment is longer than ${maxPathSegment} characters, longer than any id Correx uses`
          : 'the URL is not valid (a malformed %-escape?)',
        ...(overLong ? { errors: [{ path: 'params', message: `must be at most ${maxPathSegment} characters` }] } : {}),
      });
    },
    // Errors Node's HTTP parser meets before Fastify sees a request (headers or URL too large, bad framing).
    clientErrorHandler: (error, socket) => {
      if (!socket.writable) return socket.destroy(error);
      const code = (error as NodeJS.ErrnoException).code;
      const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
      const body = JSON.stringify({
        type: 'about:blank',
        title: status === 431 ? 'Request header fields too large' : 'Bad request',
        status,
        detail: status === 431 ? 'the URL and headers together exceed 16 KiB' : 'the request is not valid HTTP',
      });
      socket.end(
        `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : 'Bad Request'}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    },
  }).withTypeProvider<ZodTypeProvider>();
  // JSON bodies must be valid UTF-8: the default parser would store invalid bytes as U+FFFD, silently.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      done(new InvalidInput([{ path: 'body', message: 'is not valid UTF-8 (send JSON encoded as UTF-8)' }]), undefined);
      return;
    }
    // Fastify's default JSON parser is the callback form: it answers through done, synchronously, and
    // returns nothing. Its type also admits the promise-returning form, which it never is.
    void parseJson(request, text, done);
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(contractSerializer({ strict: deps.strictResponses ?? false, log: () => app.log }));
  const contract = new ApiContract();

  app.addHook('onRoute', (route) => {
    const access = route.config?.access;
    if (!access) throw new Error(`route ${route.method} ${route.url} does not declare who may call it (config.access)`);
    route.schema = {
      ...route.schema,
      description: [route.schema?.description, describeAccess(access)].filter(Boolean).join('\n\n'),
      // OpenAPI 3.1 lets a bearer scheme list the role names an operation requires.
      security: access === 'public' || access === 'integration-key' || 'session' in access ? [] : [{ bearer: [...access] }],
    };
    contract.add(route);
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Correx API',
        version: process.env.npm_package_version ?? '0.1.0',
        description: 'Incident response for deployed AI systems. Errors are RFC 9457 application/problem+json with the failing field paths in `errors`.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A Correx API token (crx_…) from `correx token create`' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: (document) => contract.complete(('openapiObject' in document ? document.openapiObject : {}) as OpenAPIV3_1.Document),
  });

  // Gateways ask before every model request: their credentials and decisions come from memory (LivePolicy).
  const livePolicy = new LivePolicy(deps.db);
  // Authentication runs first, so an unauthenticated or forbidden request learns nothing about its input.
  app.addHook('onRequest', async (request, reply) => {
    const access = request.routeOptions.config.access;
    // Console pages authenticate by their session cookie (services/console).
    if (!access || access === 'public' || access === 'integration-key' || 'session' in access) return;
    const header = request.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) {
      reply.header('www-authenticate', 'Bearer realm="correx"');
      return sendProblem(reply, {
        title: 'Unauthenticated',
        status: 401,
        detail: 'send an API token as `Authorization: Bearer <token>` (create one with `correx token create`)',
      });
    }
    const result = request.routeOptions.config.gateway ? await livePolicy.authenticate(match[1]!) : await authenticate(deps.db, match[1]!);
    if ('refused' in result) {
      reply.header('www-authenticate', 'Bearer realm="correx", error="invalid_token"');
      const why = { unknown: 'the token is not known', revoked: 'the token was revoked', expired: 'the token has expired' }[result.refused];
      return sendProblem(reply, { title: 'Unauthenticated', status: 401, detail: why });
    }
    request.principal = result.principal;
    if (!allows(access, result.principal)) {
      return sendProblem(reply, {
        title: 'Forbidden',
        status: 403,
        detail: `this needs one of the roles ${access.join(', ')}; the token of ${result.principal.owner} has ${result.principal.roles.join(', ') || 'none'}`,
      });
    }
  });

  app.addHook('preValidation', async (request) => {
    for (const [part, value] of [
      ['body', request.body],
      ['query', request.query],
      ['params', request.params],
    ] as const) {
      const found = illFormedText(value, [part]);
      if (found) throw new InvalidInput([found]);
    }
  });

  const limits = deps.rateLimit ?? { perMinute: 1200, ingestPerMinute: 60_000 };
  await app.register(fastifyRateLimit, {
    global: true,
    hook: 'preHandler',
    timeWindow: 60_000,
    keyGenerator: (request) => request.principal?.tokenId ?? request.ip,
    max: (request) =>
      request.principal?.roles.includes('ingest') || request.routeOptions.config.access === 'integration-key' ? limits.ingestPerMinute : limits.perMinute,
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      message: `rate limit of ${context.max} requests a minute reached; retry in ${context.after}`,
    }),
  });

  const problemOrPagerDuty = (request: FastifyRequest, reply: FastifyReply, problem: Problem) => {
    if (request.routeOptions.config?.errorFormat === 'pagerduty') {
      if (problem.status === 400) return reply.code(400).send(pagerDutyInvalid(problem.errors ?? [{ path: '', message: problem.detail ?? problem.title }]));
      if (problem.status === 429)
        return reply.code(429).send({ status: 'throttle event', message: 'Requests for this service are arriving too quickly. Please retry later.' });
    }
    return sendProblem(reply, problem);
  };

  app.setErrorHandler((error, request, reply) => {
    // A method with a body (QUERY) that no route takes fails its body checks before the not-found handler runs.
    if (request.routeOptions.url === undefined) return unrouted(request, reply);
    if (hasZodFastifySchemaValidationErrors(error)) {
      const part = validationParts[error.validationContext ?? 'body'] ?? 'body';
      const errors: FieldError[] = error.validation.map((issue) => ({
        path: [part, ...issue.instancePath.split('/').filter(Boolean)].join('.'),
        message: issue.message ?? 'is invalid',
      }));
      return problemOrPagerDuty(request, reply, {
        title: 'Invalid request',
        status: 400,
        detail: errors.map((e) => `${e.path}: ${e.message}`).join('; '),
        errors,
      });
    }
    if (error instanceof InvalidInput) {
      return problemOrPagerDuty(request, reply, {
        title: 'Invalid request',
        status: 400,
        detail: error.errors.map((e) => `${e.path}: ${e.message}`).join('; '),
        errors: error.errors,
      });
    }
    if (error instanceof NotFound) return sendProblem(reply, { title: 'Not found', status: 404, detail: error.message });
    // Accepted by its workflow but not on record yet: the detail says what was accepted and whether retrying is safe.
    if (error instanceof NotRecordedYet) {
      request.log.warn({ err: error.message }, 'accepted write not recorded in time');
      reply.header('retry-after', String(error.retryAfterSeconds));
      return sendProblem(reply, { title: 'Not recorded yet', status: 503, detail: error.message });
    }
    if (error instanceof ActionRefused) return sendProblem(reply, { title: 'Refused', status: 409, detail: error.message });
    if (error instanceof Error && error.name === 'WorkflowNotFoundError') {
      return sendProblem(reply, { title: 'Not found', status: 404, detail: 'its workflow is not running (nothing has happened to it yet)' });
    }
    const status = (error as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      return problemOrPagerDuty(request, reply, {
        title: status === 429 ? 'Too many requests' : 'Bad request',
        status,
        detail: error instanceof Error ? error.message : String((error as { message?: unknown }).message ?? ''),
      });
    }
    // PostgreSQL down or restarting: the client cannot tell that from a bug unless it is told to retry.
    if (databaseUnavailable(error)) {
      request.log.warn({ err: (error as Error).message }, 'database unavailable');
      reply.header('retry-after', '5');
      return sendProblem(reply, { title: 'Service unavailable', status: 503, detail: 'the database does not answer; retry shortly' });
    }
    request.log.error({ err: error }, 'request failed');
    return sendProblem(reply, { title: 'Internal error', status: 500, detail: 'the error was logged on the server' });
  });
  app.setNotFoundHandler((request, reply) => unrouted(request, reply));
  /** No route for this method and path: 405 with what is allowed where the path exists, 404 otherwise. */
  function unrouted(request: FastifyRequest, reply: FastifyReply) {
    const path = request.url.split('?')[0]!;
    // A path that exists under other methods (TRACE, or DELETE where only GET is) is 405 with what is allowed.
    const allowed = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'].filter(
      (method) => method !== request.method && app.findRoute({ method: method as 'GET', url: path }),
    );
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '));
      return sendProblem(reply, { title: 'Method not allowed', status: 405, detail: `${request.method} is not allowed on ${path}; use ${allowed.join(', ')}` });
    }
    return sendProblem(reply, { title: 'Not found', status: 404, detail: `no route ${request.method} ${path}` });
  }

  app.get('/healthz', {
    config: { access: 'public', rateLimit: false },
    schema: {
      tags: ['service'],
      operationId: 'getHealth',
      summary: 'Temporal and database reachability (503 when either is down)',
      response: {
        200: HealthReport.describe('Temporal and the database answer'),
        503: HealthReport.describe('Temporal or the database does not answer: `reachable` says which'),
      },
    },
    handler: async (_request, reply) => {
      const [temporalUp, databaseUp] = await Promise.all([temporalReachable(deps.temporal.connection), databaseReachable(deps.db)]);
      const body = {
        status: temporalUp && databaseUp ? ('ok' as const) : ('unavailable' as const),
        temporal: { reachable: temporalUp, address: deps.temporal.address },
        database: { reachable: databaseUp, backend: deps.databaseBackend },
      };
      return reply.code(temporalUp && databaseUp ? 200 : 503).send(body);
    },
  });
  app.get('/livez', {
    config: { access: 'public', rateLimit: false },
    schema: {
      tags: ['service'],
      operationId: 'getLiveness',
      summary: 'The process answers (liveness: never restart it for a dependency that is down)',
      response: { 200: Liveness.describe('The process answers') },
    },
    handler: async () => ({ status: 'alive' as const }),
  });
  app.get('/readyz', {
    config: { access: 'public', rateLimit: false },
    schema: {
      tags: ['service'],
      operationId: 'getReadiness',
      summary: 'Ready for traffic: not draining, and Temporal and the database answer (503 otherwise)',
      response: { 200: Readiness.describe('Ready for traffic'), 503: Readiness.describe('Draining, or Temporal or the database does not answer') },
    },
    handler: async (_request, reply) => {
      const accepting = deps.accepting?.() ?? true;
      const [temporalUp, databaseUp] = accepting
        ? await Promise.all([temporalReachable(deps.temporal.connection), databaseReachable(deps.db)])
        : [false, false];
      const ready = accepting && temporalUp && databaseUp;
      return reply
        .code(ready ? 200 : 503)
        .send({ status: ready ? 'ready' : accepting ? 'unavailable' : 'draining', temporal: temporalUp, database: databaseUp });
    },
  });
  app.get('/openapi.json', {
    config: { access: 'public' },
    schema: { hide: true },
    handler: async () => app.swagger(),
  });

  // Ingestion answers once a signal is stored; its hand-over to the monitor follows (an outbox), and a
  // hand-over cut short (this process stopped, Temporal down) is swept up by every API instance.
  const monitor = new MonitorClient({
    db: deps.db,
    client: deps.temporal.client,
    taskQueue: deps.temporal.taskQueue,
    runbooks: deps.runbooks,
    handOver: 'after-store',
    report: (line) => app.log.warn(line),
  });
  let sweeping: NodeJS.Timeout | undefined;
  let sweep: Promise<unknown> = Promise.resolve();
  app.addHook('onReady', async () => {
    sweeping = setInterval(() => {
      sweep = sweep
        .then(() => monitor.sweepHandOvers())
        .catch((error: unknown) => app.log.warn(`hand-over sweep failed (retried in 5 s): ${(error as Error).message}`));
    }, 5_000);
    sweeping.unref();
  });
  app.addHook('onClose', async () => {
    clearInterval(sweeping);
    // What was accepted before shutdown reaches its monitor now rather than at the next sweep; with
    // Temporal unreachable that could take long, so after 10 s the sweep of another instance (or of
    // this one's successor) takes what is left: it is stored either way.
    let gaveUp: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([monitor.settled(), sweep]),
      new Promise((resolve) => {
        gaveUp = setTimeout(resolve, 10_000);
      }),
    ]);
    clearTimeout(gaveUp);
  });

  const gateways = { livePolicy, counter: new RateLimitCounter(deps.db), runbooks: deps.runbooks };
  let dropping: NodeJS.Timeout | undefined;
  app.addHook('onReady', async () => {
    livePolicy.start();
    dropping = setInterval(() => void dropPastWindows(deps.db).catch(() => {}), 60_000).unref();
  });
  app.addHook('onClose', async () => {
    clearInterval(dropping);
    await livePolicy.close();
  });
  registerGatewayRoutes(app, gateways);

  const routeDeps: RouteDependencies = {
    db: deps.db,
    gateways,
    runbooks: deps.runbooks,
    ...workflowClients(deps.temporal.client, deps.temporal.taskQueue, deps.db),
    monitor,
    recordTimeoutMs: deps.recordTimeoutMs,
    ...(deps.temporalUiUrl ? { temporalUi: { url: deps.temporalUiUrl, namespace: deps.temporal.client.options.namespace } } : {}),
  };
  for (const routes of [
    incidentRoutes,
    correctionRoutes,
    regulatoryRoutes,
    taskRoutes,
    reviewRoutes,
    monitoringRoutes,
    ingestRoutes,
    accessRoutes,
    metricsRoutes,
    scheduleRoutes,
  ])
    routes(app, routeDeps);
  exportRoutes(app, { ...routeDeps, signingKey: deps.signingKey });
  drillRoutes(app, { ...routeDeps, temporal: deps.temporal.client, taskQueue: deps.temporal.taskQueue });
  await consoleRoutes(app, { ...routeDeps, signingKey: deps.signingKey, console: deps.console ?? {} });

  await app.ready();
  return app;
}
