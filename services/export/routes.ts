import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import type { IncidentRow } from '../db/schema.js';
import { actorOf, type CorrexApp, type RouteDependencies } from '../http/app.js';
import { IncidentParams, incidentOr404 } from '../incident/routes.js';
import { InvalidInput } from '../errors.js';
import { readDossier } from './dossier.js';
import { regulatorMappings } from './mappings.js';
import { printableReport } from './report.js';
import { IncidentView } from '../incident/schema.js';
import { AlertView } from '../monitoring/alerts.js';
import { TimelineEventView } from '../timeline/repository.js';
import { CSV_ALERT_KIND, CSV_COLUMNS, ExportManifest, ExportSelection, RegulatorMapping, regulatorMappingSchemas, SigningKeyView } from './schema.js';
import type { SigningKey } from './signing.js';
import { csvExport, jsonExport, newExportId, recordExport, selectIncidents } from './stream.js';
import { Instant } from '../instant.js';

type ExportDependencies = RouteDependencies & { signingKey: SigningKey };

/** The JSON export, streamed as one document (its line layout is in services/export/stream.ts). */
export const TimelineExport = z.strictObject({
  format: ExportManifest.shape.format,
  exportId: z.uuid(),
  exportedAt: Instant,
  exportedBy: z.string(),
  selection: z.record(z.string(), z.string()),
  incidents: z.array(
    z.strictObject({
      incident: IncidentView,
      alerts: z
        .array(AlertView)
        .describe('Its alerts as GET /v1/incidents/{id}/alerts shows them, at export time; outside the hash chain, signed by the manifest'),
      events: z.array(TimelineEventView),
    }),
  ),
  manifest: ExportManifest,
  signature: z.string().describe('Ed25519 over the canonical JSON of the manifest, base64'),
});

/** Streams an export as a download, after recording it on each exported incident's timeline (the API and the console). */
export async function sendExport(reply: FastifyReply, deps: ExportDependencies, query: ExportSelection, actor: string) {
  const { format, ...filters } = query;
  const selection = Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== undefined)) as Record<string, string>;
  const incidents = await selectIncidents(deps.db, query);
  if (incidents.length === 0) throw new InvalidInput([{ path: 'query', message: 'no incident matches this selection' }]);
  const exportId = newExportId();
  const exportedAt = new Date();
  await recordExport(deps.db, incidents, { exportId, actor, format, selection, at: exportedAt });
  const body =
    format === 'csv'
      ? csvExport(deps.db, incidents)
      : jsonExport(deps.db, incidents, { exportId, exportedAt: exportedAt.toISOString(), exportedBy: actor, selection }, deps.signingKey);
  return reply
    .type(format === 'csv' ? 'text/csv; charset=utf-8; header=present' : 'application/json; charset=utf-8')
    .header('content-disposition', `attachment; filename="correx-export-${exportId}.${format}"`)
    .send(Readable.from(body));
}

/** The printable report, recorded on the incident's timeline first. */
export async function sendReport(reply: FastifyReply, deps: ExportDependencies, incident: IncidentRow, actor: string) {
  const at = new Date();
  await recordExport(deps.db, [incident], { exportId: newExportId(), actor, format: 'report', selection: { incidentId: incident.id }, at });
  const dossier = await readDossier(deps.db, incident);
  return reply.type('text/html; charset=utf-8').send(printableReport(dossier, { generatedAt: at.toISOString(), generatedBy: actor }));
}

export function exportRoutes(app: CorrexApp, deps: ExportDependencies): void {
  const tags = ['compliance'];
  const access = ['compliance', 'admin'] as const;

  app.get('/.well-known/correx-signing-key', {
    config: { access: 'public' },
    schema: {
      tags,
      operationId: 'getSigningKey',
      summary: 'The Ed25519 public key export manifests are signed with',
      response: { 200: SigningKeyView.describe('The public key') },
    },
    handler: async () => ({ keyId: deps.signingKey.keyId, algorithm: 'Ed25519' as const, publicKey: deps.signingKey.publicKeyPem }),
  });

  app.get('/v1/exports', {
    config: { access },
    schema: {
      tags,
      operationId: 'exportTimelines',
      summary: 'Export timelines: JSON (events, hash chain, signed manifest; verify with `correx audit verify`) or CSV (RFC 4180), streamed',
      querystring: ExportSelection,
      response: {
        200: {
          description: 'A download (Content-Disposition: attachment), as `format` asks: JSON or CSV',
          content: {
            'application/json': { schema: TimelineExport },
            'text/csv': {
              schema: z
                .string()
                .describe(
                  `RFC 4180 with a header line: ${CSV_COLUMNS.join(', ')}; after each incident's events, its alerts (kind ${CSV_ALERT_KIND}, no seq or hashes, data the alert)`,
                ),
            },
          },
        },
      },
    },
    handler: async (request, reply) => sendExport(reply, deps, request.query, actorOf(request)),
  });

  app.get('/v1/incidents/:id/report', {
    config: { access },
    schema: {
      tags,
      operationId: 'getIncidentReport',
      summary: 'The printable incident report (HTML for print): summary, decision log, corrections, reports against deadlines, follow-up',
      params: IncidentParams,
      response: { 200: { description: 'A self-contained HTML page, for print', content: { 'text/html': { schema: z.string() } } } },
    },
    handler: async (request, reply) => sendReport(reply, deps, await incidentOr404(deps.db, request.params.id), actorOf(request)),
  });

  app.get('/v1/incidents/:id/regulator-mappings', {
    config: { access },
    schema: {
      tags,
      operationId: 'getRegulatorMappings',
      summary:
        'The incident in the EU AI Act serious-incident, GPAI Code of Practice, OECD and AI Incident Database fields, with each missing mandatory field and why',
      params: IncidentParams,
      querystring: z.strictObject({ schema: z.enum(regulatorMappingSchemas).optional() }),
      response: {
        200: z
          .strictObject({ incidentId: z.uuid(), items: z.array(RegulatorMapping) })
          .describe('The incident in each schema asked for (all four without `schema`)'),
      },
    },
    handler: async (request) => {
      const incident = await incidentOr404(deps.db, request.params.id);
      const mappings = regulatorMappings(await readDossier(deps.db, incident));
      return { incidentId: incident.id, items: request.query.schema ? mappings.filter((m) => m.schema === request.query.schema) : mappings };
    },
  });
}
