import type { Client, Connection } from '@temporalio/client';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { databaseReachable } from '../db/connect.js';
import type { Database } from '../db/schema.js';
import { IncidentClient } from '../incident/client.js';
import { MonitorClient } from '../monitoring/client.js';
import { SignalInput } from '../monitoring/signal.js';
import { findIncident, listIncidents } from '../incident/repository.js';
import { IncidentTrigger, SystemId } from '../incident/schema.js';
import { DecisionRequest, decide } from '../correction/policy.js';
import { activeCorrections, policyEtag } from '../correction/repository.js';
import { triggerIncident } from '../incident/trigger.js';
import { InvalidInput } from '../errors.js';
import type { RunbookCatalogue } from '../runbook/catalogue.js';
import { temporalReachable } from '../temporal/connect.js';
import { listTimeline } from '../timeline/repository.js';
import { parseRequest, sendProblem } from './problem.js';

export interface HttpServiceDependencies {
  db: Kysely<Database>;
  databaseBackend: 'postgres' | 'pglite';
  temporal: { client: Client; connection: Connection; address: string; taskQueue: string };
  runbooks: RunbookCatalogue;
  /**
   * Who the request acts as. Until API tokens exist (issue #5) only local mode serves the API, bound
   * to 127.0.0.1, and everything is done as its local administrator.
   */
  actorFor: () => string;
  logLevel?: string;
}

const SystemParams = z.strictObject({ systemId: SystemId });
const IncidentIdParams = z.strictObject({ id: z.uuid('must be an incident id (UUID)') });
const ListQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(50) });

export async function buildHttpService(deps: HttpServiceDependencies): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: deps.logLevel ?? 'warn' },
    bodyLimit: 1024 * 1024,
  });
  const incidents = new IncidentClient(deps.temporal.client, deps.temporal.taskQueue);
  const monitor = new MonitorClient({ db: deps.db, client: deps.temporal.client, taskQueue: deps.temporal.taskQueue, runbooks: deps.runbooks });

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof InvalidInput) {
      return sendProblem(reply, { title: 'Invalid request', status: 400, detail: error.message, errors: error.errors });
    }
    const status = (error as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      return sendProblem(reply, { title: error instanceof Error ? error.message : 'Bad request', status });
    }
    request.log.error({ err: error }, 'request failed');
    return sendProblem(reply, { title: 'Internal error', status: 500, detail: 'the error was logged on the server' });
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, { title: 'Not found', status: 404, detail: `no route ${request.method} ${request.url}` }),
  );

  app.get('/healthz', async (_request, reply) => {
    const [temporalUp, databaseUp] = await Promise.all([temporalReachable(deps.temporal.connection), databaseReachable(deps.db)]);
    const body = {
      status: temporalUp && databaseUp ? 'ok' : 'unavailable',
      temporal: { reachable: temporalUp, address: deps.temporal.address },
      database: { reachable: databaseUp, backend: deps.databaseBackend },
    };
    return reply.code(temporalUp && databaseUp ? 200 : 503).send(body);
  });

  app.get('/v1/policy/:systemId', async (request, reply) => {
    const { systemId } = parseRequest(SystemParams, request.params, 'params');
    const active = await activeCorrections(deps.db, systemId);
    const etag = policyEtag(active);
    reply.header('etag', etag).header('cache-control', 'no-cache');
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    return { systemId, corrections: active };
  });

  app.post('/v1/decide', async (request) => {
    const question = parseRequest(DecisionRequest, request.body, 'body');
    return decide(await activeCorrections(deps.db, question.systemId), question);
  });

  // The native signal API: stored, then handed to the system's monitor, which decides what it means.
  app.post('/v1/signals', async (request, reply) => {
    const signal = parseRequest(SignalInput, request.body, 'body');
    try {
      const outcome = await monitor.deliverChecked(signal);
      return reply.code(202).send(outcome);
    } catch (error) {
      throw error instanceof InvalidInput ? error.within('body') : error;
    }
  });

  app.post('/v1/incidents', async (request, reply) => {
    const trigger = parseRequest(IncidentTrigger, request.body, 'body');
    try {
      const outcome = await triggerIncident({ db: deps.db, incidents, runbooks: deps.runbooks }, trigger, deps.actorFor());
      return reply.code(202).send(outcome);
    } catch (error) {
      throw error instanceof InvalidInput ? error.within('body') : error;
    }
  });

  app.get('/v1/incidents', async (request) => {
    const { limit } = parseRequest(ListQuery, request.query, 'query');
    return { items: await listIncidents(deps.db, { limit }) };
  });

  app.get('/v1/incidents/:id', async (request, reply) => {
    const { id } = parseRequest(IncidentIdParams, request.params, 'params');
    const incident = await findIncident(deps.db, id);
    if (!incident) return sendProblem(reply, { title: 'Not found', status: 404, detail: `no incident ${id}` });
    return { ...incident, timeline: await listTimeline(deps.db, id) };
  });

  return app;
}
