import { z } from 'zod';
import { Severity, SystemId } from '../incident/schema.js';

export const EXPORT_FORMAT = 'correx.timeline-export/1';

/** Which incidents an export holds: one, or those matching every filter given. */
export const ExportSelection = z
  .strictObject({
    incidentId: z.uuid('must be an incident id (UUID)').optional(),
    systemId: SystemId.optional(),
    severity: Severity.optional(),
    /** Incidents opened at or after this time. */
    from: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 time with offset' }).optional(),
    /** Incidents opened before this time. */
    to: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 time with offset' }).optional(),
    format: z.enum(['json', 'csv']).default('json'),
  })
  .refine((s) => s.incidentId || s.systemId || s.severity || s.from || s.to, {
    message: 'say which incidents: incidentId, or systemId / severity / from / to',
    path: ['incidentId'],
  });
export type ExportSelection = z.infer<typeof ExportSelection>;

export interface ManifestIncident {
  incidentId: string;
  /** SHA-256 of the canonical JSON of the incident summary line. */
  summaryHash: string;
  events: number;
  lastSeq: number;
  headHash: string;
}

export interface ExportManifest {
  format: typeof EXPORT_FORMAT;
  exportId: string;
  exportedAt: string;
  exportedBy: string;
  selection: Record<string, string>;
  incidents: ManifestIncident[];
  algorithm: 'Ed25519';
  keyId: string;
  publicKey: string;
}

export const CSV_COLUMNS = ['incident_id', 'seq', 'occurred_at', 'kind', 'actor', 'data', 'prev_hash', 'hash'] as const;
