import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../db/schema.js';
import type { IncidentState } from '../incident/schema.js';
import type { DurationSummary, IncidentMetrics, RegulatorSummary, SystemMetrics } from './schema.js';

/**
 * Incident metrics, computed from PostgreSQL at every request: no process keeps a counter, so every
 * API instance answers the same. Durations are in seconds between timestamps truncated to the
 * millisecond (what the API shows of them), so the seconds here are exactly the differences of the
 * times a client reads. Drills (`incidents.drill`) never count in an aggregate.
 */

/** The five durations, each measured from the incident's opening (time to detect: up to it). */
export const durationNames = ['timeToDetect', 'timeToAcknowledge', 'timeToFirstCorrection', 'timeToResolve', 'timeToClose'] as const;
export type DurationName = (typeof durationNames)[number];

/** Seconds from `from` to `to`, at millisecond precision; null while either has not happened. */
function seconds(to: RawBuilder<unknown>, from: RawBuilder<unknown>): RawBuilder<number | null> {
  return sql<number | null>`extract(epoch from date_trunc('milliseconds', ${to}) - date_trunc('milliseconds', ${from}))::float8`;
}

const column = (ref: string) => sql.ref(ref);

type DurationColumn = 'time_to_detect' | 'time_to_acknowledge' | 'time_to_first_correction' | 'time_to_resolve' | 'time_to_close';

/** The SQL column each duration is computed as in `durations` below. */
const durationColumns: Record<DurationName, DurationColumn> = {
  timeToDetect: 'time_to_detect',
  timeToAcknowledge: 'time_to_acknowledge',
  timeToFirstCorrection: 'time_to_first_correction',
  timeToResolve: 'time_to_resolve',
  timeToClose: 'time_to_close',
};

/**
 * A `durations` CTE: one row per incident matching `where` (a condition on the alias `i`), with its
 * five durations. The first signal is the earliest signal linked to the incident and received no
 * later than its opening (a signal joined afterwards did not detect it); the first correction the
 * earliest `applied_at` of its corrections.
 */
function withDurations(where: RawBuilder<unknown>) {
  return sql`
    with scope as (
      select i.* from incidents i where ${where}
    ),
    first_signal as (
      select s.incident_id, min(s.received_at) as at
      from signals s join scope i on i.id = s.incident_id and s.system_id = i.system_id
      where s.received_at <= i.opened_at
      group by s.incident_id
    ),
    first_correction as (
      select c.incident_id, min(c.applied_at) as at
      from corrections c join scope i on i.id = c.incident_id
      where c.applied_at is not null
      group by c.incident_id
    ),
    durations as (
      select
        i.id, i.system_id, i.severity, i.state, i.drill, i.opened_at,
        ${seconds(column('i.opened_at'), column('fs.at'))} as time_to_detect,
        ${seconds(column('i.acknowledged_at'), column('i.opened_at'))} as time_to_acknowledge,
        ${seconds(column('fc.at'), column('i.opened_at'))} as time_to_first_correction,
        ${seconds(column('i.resolved_at'), column('i.opened_at'))} as time_to_resolve,
        ${seconds(column('i.closed_at'), column('i.opened_at'))} as time_to_close
      from scope i
      left join first_signal fs on fs.incident_id = i.id
      left join first_correction fc on fc.incident_id = i.id
    )`;
}

interface DurationRow extends Record<DurationColumn, number | null> {
  id: string;
  system_id: string;
  severity: string;
  state: IncidentState;
  drill: boolean;
  opened_at: Date;
}

interface SubmissionRow {
  regime: string | null;
  clock_id: string | null;
  occurrence: number | null;
  due_at: Date | null;
  sent_at: Date | null;
  margin: number | null;
  late: boolean;
}

/** One incident's metrics, drills included (flagged), or undefined when there is no such incident. */
export async function incidentMetrics(db: Kysely<Database>, incidentId: string): Promise<IncidentMetrics | undefined> {
  const { rows } = await sql<DurationRow>`${withDurations(sql`i.id = ${incidentId}`)} select * from durations`.execute(db);
  const row = rows[0];
  if (!row) return undefined;
  const submissions = await sql<SubmissionRow>`
    select n.regime, n.clock_id, n.occurrence, n.due_at, n.sent_at,
      ${seconds(column('n.due_at'), column('n.sent_at'))} as margin,
      (case when n.sent_at is null then coalesce(n.due_at < now(), false) else n.late end) as late
    from notifications n
    where n.incident_id = ${incidentId} and n.audience = 'regulator'
    order by n.due_at nulls last, n.regime, n.clock_id, n.occurrence, n.id`.execute(db);
  return {
    incidentId: row.id,
    systemId: row.system_id,
    severity: row.severity,
    state: row.state,
    drill: row.drill,
    openedAt: row.opened_at.toISOString(),
    timeToDetectSeconds: row.time_to_detect,
    timeToAcknowledgeSeconds: row.time_to_acknowledge,
    timeToFirstCorrectionSeconds: row.time_to_first_correction,
    timeToResolveSeconds: row.time_to_resolve,
    timeToCloseSeconds: row.time_to_close,
    regulatorSubmissions: submissions.rows.map((s) => ({
      regime: s.regime,
      clockId: s.clock_id,
      occurrence: s.occurrence,
      dueAt: s.due_at?.toISOString() ?? null,
      sentAt: s.sent_at?.toISOString() ?? null,
      marginSeconds: s.margin,
      late: s.late,
    })),
  };
}

interface RegulatorRow {
  system_id: string;
  regime: string | null;
  count: number;
  late_count: number;
  min_margin: number | null;
  unsent: number;
  overdue: number;
}

/** Reports to regulators of the incidents in scope (`where` on alias `i`), grouped by system and regime. */
async function regulatorRows(db: Kysely<Database>, where: RawBuilder<unknown>): Promise<RegulatorRow[]> {
  const { rows } = await sql<RegulatorRow>`
    select i.system_id, n.regime,
      (count(*) filter (where n.sent_at is not null))::int as count,
      (count(*) filter (where n.sent_at is not null and n.late))::int as late_count,
      min(${seconds(column('n.due_at'), column('n.sent_at'))}) as min_margin,
      (count(*) filter (where n.sent_at is null))::int as unsent,
      (count(*) filter (where n.sent_at is null and n.due_at < now()))::int as overdue
    from notifications n join incidents i on i.id = n.incident_id
    where n.audience = 'regulator' and ${where}
    group by i.system_id, n.regime
    order by i.system_id, n.regime nulls first`.execute(db);
  return rows;
}

function summarise(rows: RegulatorRow[]): RegulatorSummary {
  const margins = rows.map((r) => r.min_margin).filter((m): m is number => m !== null);
  return {
    count: rows.reduce((n, r) => n + r.count, 0),
    lateCount: rows.reduce((n, r) => n + r.late_count, 0),
    minMarginSeconds: margins.length ? Math.min(...margins) : null,
    unsent: rows.reduce((n, r) => n + r.unsent, 0),
    overdue: rows.reduce((n, r) => n + r.overdue, 0),
  };
}

/** Aggregates over a system's non-drill incidents opened in [from, to) (either bound optional). */
export async function systemMetrics(
  db: Kysely<Database>,
  systemId: string,
  window: { from?: string | undefined; to?: string | undefined },
): Promise<SystemMetrics> {
  const where = sql.join(
    [
      sql`i.system_id = ${systemId}`,
      sql`not i.drill`,
      ...(window.from ? [sql`i.opened_at >= ${window.from}::timestamptz`] : []),
      ...(window.to ? [sql`i.opened_at < ${window.to}::timestamptz`] : []),
    ],
    sql` and `,
  );
  const stats = durationNames.flatMap((name) => {
    const c = sql.ref(durationColumns[name]);
    return [
      sql`count(${c})::int as ${sql.ref(`${name}_count`)}`,
      sql`avg(${c}) as ${sql.ref(`${name}_mean`)}`,
      sql`percentile_cont(0.5) within group (order by ${c}) as ${sql.ref(`${name}_p50`)}`,
      sql`percentile_cont(0.9) within group (order by ${c}) as ${sql.ref(`${name}_p90`)}`,
      sql`max(${c}) as ${sql.ref(`${name}_max`)}`,
    ];
  });
  const [aggregates, counts, regulator] = await Promise.all([
    sql<Record<string, number | null>>`${withDurations(where)} select ${sql.join(stats)} from durations`.execute(db),
    sql<{ severity: string; state: IncidentState; count: number }>`${withDurations(where)}
      select severity, state, count(*)::int as count from durations group by severity, state order by severity, state`.execute(db),
    regulatorRows(db, where),
  ]);
  const a = aggregates.rows[0] ?? {};
  const summary = (name: DurationName): DurationSummary => ({
    count: a[`${name}_count`] ?? 0,
    mean: a[`${name}_mean`] ?? null,
    p50: a[`${name}_p50`] ?? null,
    p90: a[`${name}_p90`] ?? null,
    max: a[`${name}_max`] ?? null,
  });
  const tally = (key: 'severity' | 'state') => {
    const out: Record<string, number> = {};
    for (const row of counts.rows) out[row[key]] = (out[row[key]] ?? 0) + row.count;
    return out;
  };
  return {
    systemId,
    from: window.from ? new Date(window.from).toISOString() : null,
    to: window.to ? new Date(window.to).toISOString() : null,
    incidents: {
      total: counts.rows.reduce((n, r) => n + r.count, 0),
      bySeverity: tally('severity'),
      byState: tally('state'),
      bySeverityAndState: counts.rows,
    },
    timeToDetectSeconds: summary('timeToDetect'),
    timeToAcknowledgeSeconds: summary('timeToAcknowledge'),
    timeToFirstCorrectionSeconds: summary('timeToFirstCorrection'),
    timeToResolveSeconds: summary('timeToResolve'),
    timeToCloseSeconds: summary('timeToClose'),
    regulatorSubmissions: { ...summarise(regulator), byRegime: regulator.map((r) => ({ regime: r.regime, ...summarise([r]) })) },
  };
}

/** What a Prometheus scrape reads: every non-drill incident's durations, and reports by system and regime. */
export interface MetricsSnapshot {
  incidents: { systemId: string; severity: string; state: string; durations: Record<DurationName, number | null> }[];
  regulator: { systemId: string; regime: string | null; count: number; lateCount: number; minMarginSeconds: number | null; unsent: number; overdue: number }[];
}

export async function metricsSnapshot(db: Kysely<Database>): Promise<MetricsSnapshot> {
  const where = sql`not i.drill`;
  const [incidents, regulator] = await Promise.all([sql<DurationRow>`${withDurations(where)} select * from durations`.execute(db), regulatorRows(db, where)]);
  return {
    incidents: incidents.rows.map((r) => ({
      systemId: r.system_id,
      severity: r.severity,
      state: r.state,
      durations: Object.fromEntries(durationNames.map((name) => [name, r[durationColumns[name]]])) as Record<DurationName, number | null>,
    })),
    regulator: regulator.map((r) => ({
      systemId: r.system_id,
      regime: r.regime,
      count: r.count,
      lateCount: r.late_count,
      minMarginSeconds: r.min_margin,
      unsent: r.unsent,
      overdue: r.overdue,
    })),
  };
}
