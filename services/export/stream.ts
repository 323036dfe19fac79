import { createHash, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { canonicalJson } from '../canonical-json.js';
import type { Database, IncidentRow } from '../db/schema.js';
import { incidentsForExport } from '../incident/repository.js';
import { incidentView } from '../incident/routes.js';
import { incidentAlerts } from '../monitoring/alerts.js';
import { appendTimelineEvent, listTimeline, timelineEventView } from '../timeline/repository.js';
import { CSV_ALERT_KIND, CSV_COLUMNS, EXPORT_FORMAT, type ExportManifest, type ExportSelection, type ManifestIncident } from './schema.js';
import { signManifest, type SigningKey } from './signing.js';

const PAGE = 1000;

/** The incidents a selection names, oldest first. */
export function selectIncidents(db: Kysely<Database>, s: ExportSelection): Promise<IncidentRow[]> {
  return incidentsForExport(db, s);
}

/** Each exported incident says who exported it, when, and in which export, before its events are read. */
export async function recordExport(
  db: Kysely<Database>,
  incidents: IncidentRow[],
  e: { exportId: string; actor: string; format: string; selection: Record<string, string>; at: Date },
): Promise<void> {
  for (const incident of incidents) {
    await appendTimelineEvent(db, {
      incidentId: incident.id,
      kind: 'timeline.exported',
      actor: e.actor,
      occurredAt: e.at,
      data: { exportId: e.exportId, format: e.format, selection: e.selection },
      idempotencyKey: `export:${e.exportId}`,
    });
  }
}

async function* eventPages(db: Kysely<Database>, incidentId: string) {
  let after = 0;
  for (;;) {
    const page = await listTimeline(db, incidentId, { afterSeq: after, limit: PAGE });
    if (page.length === 0) return;
    yield page;
    after = page.at(-1)!.seq;
    if (page.length < PAGE) return;
  }
}

function eventLine(e: Parameters<typeof timelineEventView>[0]) {
  return canonicalJson(timelineEventView(e));
}

/**
 * The JSON export, one line at a time so memory stays flat however many events there are. Layout
 * (which `correx audit verify` relies on to name a damaged event): a header line ending in
 * `"incidents":[`; per incident a summary line `{"incident":…,"alerts":[…],"events":[` (its alerts as
 * `GET /v1/incidents/:id/alerts` shows them, read at export time), one line per event, and `]}`; then a
 * trailer line with the signed manifest, which holds a hash of each incident's summary and of its alerts.
 */
export async function* jsonExport(
  db: Kysely<Database>,
  incidents: IncidentRow[],
  meta: { exportId: string; exportedAt: string; exportedBy: string; selection: Record<string, string> },
  key: SigningKey,
): AsyncGenerator<string> {
  yield `${JSON.stringify({ format: EXPORT_FORMAT, exportId: meta.exportId, exportedAt: meta.exportedAt, exportedBy: meta.exportedBy, selection: meta.selection }).slice(0, -1)},"incidents":[\n`;
  const manifestIncidents: ManifestIncident[] = [];
  for (const [index, incident] of incidents.entries()) {
    const summary = canonicalJson(incidentView(incident));
    // The alerts are not timeline events (they change as senders repeat and resolve them): outside the
    // hash chain, covered by the signed manifest's alertsHash.
    const alerts = canonicalJson(await incidentAlerts(db, incident.id));
    yield `{"incident":${summary},"alerts":${alerts},"events":[\n`;
    let count = 0;
    let last: { seq: number; hash: string } | undefined;
    for await (const page of eventPages(db, incident.id)) {
      let chunk = '';
      for (const event of page) {
        chunk += `${count > 0 ? ',\n' : ''}${eventLine(event)}`;
        count += 1;
        last = event;
      }
      yield chunk;
    }
    yield `${count > 0 ? '\n' : ''}]}${index < incidents.length - 1 ? ',' : ''}\n`;
    manifestIncidents.push({
      incidentId: incident.id,
      summaryHash: createHash('sha256').update(summary).digest('hex'),
      alertsHash: createHash('sha256').update(alerts).digest('hex'),
      events: count,
      lastSeq: last?.seq ?? 0,
      headHash: last?.hash ?? '0'.repeat(64),
    });
  }
  const manifest: ExportManifest = {
    format: EXPORT_FORMAT,
    exportId: meta.exportId,
    exportedAt: meta.exportedAt,
    exportedBy: meta.exportedBy,
    selection: meta.selection,
    incidents: manifestIncidents,
    algorithm: 'Ed25519',
    keyId: key.keyId,
    publicKey: key.publicKeyPem,
  };
  yield `],"manifest":${JSON.stringify(manifest)},"signature":${JSON.stringify(signManifest(key, manifest))}}\n`;
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/**
 * RFC 4180: CRLF line ends, fields with commas, quotes or line breaks quoted, quotes doubled. After each
 * incident's events, one row per alert: kind `alert`, seq and hashes empty (alerts are not in the chain),
 * occurred_at its first sighting, actor its source, data the alert as `GET /v1/incidents/:id/alerts` shows it.
 */
export async function* csvExport(db: Kysely<Database>, incidents: IncidentRow[]): AsyncGenerator<string> {
  yield `${CSV_COLUMNS.join(',')}\r\n`;
  for (const incident of incidents) {
    for await (const page of eventPages(db, incident.id)) {
      let chunk = '';
      for (const e of page) {
        chunk += `${[e.incident_id, String(e.seq), e.occurred_at.toISOString(), e.kind, e.actor, canonicalJson(e.data), e.prev_hash, e.hash].map(csvField).join(',')}\r\n`;
      }
      yield chunk;
    }
    const alerts = await incidentAlerts(db, incident.id);
    if (alerts.length > 0)
      yield alerts.map((a) => `${[incident.id, '', a.firstSeenAt, CSV_ALERT_KIND, a.source, canonicalJson(a), '', ''].map(csvField).join(',')}\r\n`).join('');
  }
}

export function newExportId(): string {
  return randomUUID();
}
