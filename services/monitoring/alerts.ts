import { sql, type Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../db/schema.js';
import { Instant } from '../instant.js';

/** Where an alert stands: its sender's latest word on it. */
export const alertStatuses = ['firing', 'acknowledged', 'resolved'] as const;
export type AlertStatus = (typeof alertStatuses)[number];

/** One alert of an incident: the signals its sender sent about it, as one. */
export const AlertView = z.strictObject({
  alertKey: z.string().describe("The sender's name for the alert (Alertmanager fingerprint, PagerDuty dedup_key, a native alertKey), or the signal's id"),
  source: z.string(),
  status: z.enum(alertStatuses).describe("The sender's latest word on it"),
  summary: z.string().nullable().describe('What its first signal said (Alertmanager summary annotation, PagerDuty payload summary)'),
  severity: z.string().nullable(),
  labels: z.record(z.string(), z.string()),
  firstSeenAt: Instant,
  lastSeenAt: Instant,
  signals: z.number().int().describe('Signals stored for it: its firing, any acknowledgement, its resolve, and each re-fire'),
  occurrences: z
    .number()
    .int()
    .describe("Times its sender sent those signals, repeats included (Alertmanager's repeat_interval, PagerDuty triggers with the same dedup_key)"),
  suppressed: z.number().int().describe('Of those, held back by a silence'),
});
export type AlertView = z.infer<typeof AlertView>;

export const AlertPage = z.strictObject({ items: z.array(AlertView).describe('Oldest first') });

/**
 * An incident's alerts, from the signals linked to it, each grouped by its sender's key (a signal
 * without one is an alert of its own): first and last seen, how it stands now, its first summary and
 * its latest labels.
 */
export async function incidentAlerts(db: Kysely<Database>, incidentId: string): Promise<AlertView[]> {
  const alertKey = sql<string>`coalesce(payload->>'alertKey', id::text)`;
  const rows = await db
    .selectFrom('signals')
    .select([
      alertKey.as('alert_key'),
      sql<string>`(array_agg(source order by received_at, created_at))[1]`.as('source'),
      sql<string>`(array_agg(status order by received_at desc, created_at desc))[1]`.as('status'),
      sql<string | null>`(array_agg(summary order by received_at, created_at) filter (where summary is not null))[1]`.as('summary'),
      sql<string | null>`(array_agg(severity order by received_at desc, created_at desc) filter (where severity is not null))[1]`.as('severity'),
      sql<Record<string, string> | null>`(array_agg(labels order by received_at desc, created_at desc) filter (where labels is not null))[1]`.as('labels'),
      sql<Date>`min(received_at)`.as('first_seen_at'),
      sql<Date>`greatest(max(received_at), max(last_seen_at))`.as('last_seen_at'),
      sql<string>`count(*)`.as('signals'),
      sql<string>`sum(occurrences)`.as('occurrences'),
      sql<string>`count(suppressed_by)`.as('suppressed'),
    ])
    .where('incident_id', '=', incidentId)
    .groupBy(alertKey)
    .orderBy(sql`min(received_at)`)
    .orderBy(alertKey)
    .execute();
  return rows.map((r) => ({
    alertKey: r.alert_key,
    source: r.source,
    status: (alertStatuses as readonly string[]).includes(r.status) ? (r.status as AlertStatus) : 'firing',
    summary: r.summary,
    severity: r.severity,
    labels: r.labels ?? {},
    firstSeenAt: new Date(r.first_seen_at).toISOString(),
    lastSeenAt: new Date(r.last_seen_at).toISOString(),
    signals: Number(r.signals),
    occurrences: Number(r.occurrences),
    suppressed: Number(r.suppressed),
  }));
}
