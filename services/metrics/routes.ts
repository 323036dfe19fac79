import { Registry } from 'prom-client';
import { z } from 'zod';
import { InstantInput } from '../instant.js';
import { readers, type Role } from '../access/roles.js';
import { NotFound, type CorrexApp, type RouteDependencies } from '../http/app.js';
import { systemHasIncidents } from '../incident/repository.js';
import { IncidentParams } from '../incident/routes.js';
import { SystemId } from '../incident/schema.js';
import { metricsRegistry } from './prometheus.js';
import { incidentMetrics, systemMetrics } from './repository.js';
import { IncidentMetrics, SystemMetrics } from './schema.js';

const SystemParams = z.strictObject({ systemId: SystemId });
const Time = InstantInput;
const WindowQuery = z
  .strictObject({
    /** Incidents opened at or after this time. */
    from: Time.optional(),
    /** Incidents opened before this time. */
    to: Time.optional(),
  })
  .refine((w) => !w.from || !w.to || Date.parse(w.from) < Date.parse(w.to), { path: ['to'], message: 'must be after from' });

/**
 * Prometheus scrapes with a bearer token: any reader's, or a `gateway` token, the role with the
 * least power (it reads the policy and nothing else), which suits a scraper.
 */
export const scrapers: readonly Role[] = [...readers, 'gateway'];

export function metricsRoutes(app: CorrexApp, deps: RouteDependencies): void {
  const tags = ['metrics'];

  app.get('/v1/incidents/:id/metrics', {
    config: { access: readers },
    schema: {
      tags,
      operationId: 'getIncidentMetrics',
      summary:
        "An incident's times to detect, acknowledge, first correction applied, resolve and close, and each regulator report against its deadline (drills too, flagged)",
      params: IncidentParams,
      response: { 200: IncidentMetrics.describe("The incident's durations and its reports against their deadlines") },
    },
    handler: async (request) => {
      const metrics = await incidentMetrics(deps.db, request.params.id);
      if (!metrics) throw new NotFound(`no incident ${request.params.id}`);
      return metrics;
    },
  });

  app.get('/v1/systems/:systemId/metrics', {
    config: { access: readers },
    schema: {
      tags,
      operationId: 'getSystemMetrics',
      summary:
        "A system's non-drill incidents opened in [from, to): counts by severity and state, each duration's count, mean, p50, p90 and max, regulator reports sent, late and the smallest margin",
      params: SystemParams,
      querystring: WindowQuery,
      response: { 200: SystemMetrics.describe('Counts, duration statistics and regulator reports over the window') },
    },
    handler: async (request) => {
      const { systemId } = request.params;
      if (!(await deps.runbooks.find(systemId)) && !(await systemHasIncidents(deps.db, systemId)))
        throw new NotFound(`no runbook defines system '${systemId}' and it has no incidents`);
      return systemMetrics(deps.db, systemId, request.query);
    },
  });

  app.get('/metrics', {
    config: { access: scrapers },
    schema: {
      tags,
      operationId: 'getPrometheusMetrics',
      summary: 'Prometheus metrics (text exposition format 0.0.4), read from PostgreSQL at each scrape; drills excluded',
      response: {
        200: {
          description: 'The metrics in the Prometheus text exposition format (docs/metrics.md names each)',
          content: { [Registry.PROMETHEUS_CONTENT_TYPE]: { schema: z.string() } },
        },
      },
    },
    handler: async (_request, reply) => {
      const registry = metricsRegistry(deps.db);
      const text = await registry.metrics();
      return reply.type(registry.contentType).send(text);
    },
  });
}
