import { z } from 'zod';
import { Severity, SystemId } from '../incident/schema.js';
import { Instant, InstantInput } from '../instant.js';

export const EXPORT_FORMAT = 'correx.timeline-export/1';

/** Which incidents an export holds: one, or those matching every filter given. */
export const ExportSelection = z
  .strictObject({
    incidentId: z.uuid('must be an incident id (UUID)').optional(),
    systemId: SystemId.optional(),
    severity: Severity.optional(),
    /** Incidents opened at or after this time. */
    from: InstantInput.optional(),
    /** Incidents opened before this time. */
    to: InstantInput.optional(),
    format: z.enum(['json', 'csv']).default('json'),
  })
  .refine((s) => s.incidentId || s.systemId || s.severity || s.from || s.to, {
    message: 'say which incidents: incidentId, or systemId / severity / from / to',
    path: ['incidentId'],
  });
export type ExportSelection = z.infer<typeof ExportSelection>;

export const ManifestIncident = z.strictObject({
  incidentId: z.uuid(),
  summaryHash: z.string().describe('SHA-256 of the canonical JSON of the incident summary line'),
  alertsHash: z
    .string()
    .optional()
    .describe("SHA-256 of the canonical JSON of the incident's alerts (outside the hash chain; absent in exports made before alerts were exported)"),
  events: z.number().int(),
  lastSeq: z.number().int(),
  headHash: z.string().describe('The hash of its last event: the head of its chain'),
});
export type ManifestIncident = z.infer<typeof ManifestIncident>;

/** What an export's signature covers: each incident's summary, alerts and chain head, and who exported it when. */
export const ExportManifest = z.strictObject({
  format: z.literal(EXPORT_FORMAT),
  exportId: z.uuid(),
  exportedAt: Instant,
  exportedBy: z.string(),
  selection: z.record(z.string(), z.string()),
  incidents: z.array(ManifestIncident),
  algorithm: z.literal('Ed25519'),
  keyId: z.string(),
  publicKey: z.string().describe('PEM (SPKI)'),
});
export type ExportManifest = z.infer<typeof ExportManifest>;

/** The external reporting schemas an incident is mapped into. */
export const regulatorMappingSchemas = [
  'eu-ai-act-art73-serious-incident',
  'gpai-code-of-practice-c9',
  'oecd-common-reporting-framework',
  'ai-incident-database',
] as const;
export type RegulatorMappingSchema = (typeof regulatorMappingSchemas)[number];

/** One incident in an external reporting schema: every field, and for each mandatory one left empty, why. */
export const RegulatorMapping = z.strictObject({
  schema: z.enum(regulatorMappingSchemas),
  reference: z.string().describe('The text that defines the schema'),
  fields: z.record(z.string(), z.string().nullable()).describe('Each field of the schema, null where Correx holds nothing for it'),
  mandatory: z.array(z.string()),
  missing: z.array(z.strictObject({ field: z.string(), why: z.string() })).describe('Each mandatory field left empty, and what would fill it'),
});
export type RegulatorMapping = z.infer<typeof RegulatorMapping>;

/** The Ed25519 public key export manifests are signed with. */
export const SigningKeyView = z.strictObject({
  keyId: z.string(),
  algorithm: z.literal('Ed25519'),
  publicKey: z.string().describe('PEM (SPKI); `correx audit verify --public-key <file>` checks an export against it'),
});

export const CSV_COLUMNS = ['incident_id', 'seq', 'occurred_at', 'kind', 'actor', 'data', 'prev_hash', 'hash'] as const;
/** The kind of a CSV row that is one of the incident's alerts, not a timeline event (no seq, no hashes). */
export const CSV_ALERT_KIND = 'alert';
