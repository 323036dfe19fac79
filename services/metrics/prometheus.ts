import type { Kysely } from 'kysely';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Database } from '../db/schema.js';
import { durationNames, metricsSnapshot, type DurationName, type MetricsSnapshot } from './repository.js';

/**
 * Upper bounds (seconds) of the duration histograms: one second to thirty days, so detection in
 * seconds and closing in weeks both land in meaningful buckets.
 */
export const durationBuckets = [1, 5, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400, 172800, 604800, 1209600, 2592000];

const durationMetrics: Record<DurationName, { name: string; help: string }> = {
  timeToDetect: {
    name: 'correx_incident_time_to_detect_seconds',
    help: 'Seconds from the first signal to the incident opening, per non-drill incident opened by signals',
  },
  timeToAcknowledge: {
    name: 'correx_incident_time_to_acknowledge_seconds',
    help: 'Seconds from opening to acknowledgement, per acknowledged non-drill incident',
  },
  timeToFirstCorrection: {
    name: 'correx_incident_time_to_first_correction_seconds',
    help: 'Seconds from opening to the first correction applied, per non-drill incident with one',
  },
  timeToResolve: { name: 'correx_incident_time_to_resolve_seconds', help: 'Seconds from opening to resolution, per resolved non-drill incident' },
  timeToClose: { name: 'correx_incident_time_to_close_seconds', help: 'Seconds from opening to closing, per closed non-drill incident' },
};

/** A report's regime as a label value (regulator reports always have one; kept total all the same). */
const regimeLabel = (regime: string | null) => regime ?? 'unspecified';

/**
 * A registry for one scrape: its collectors read PostgreSQL (one snapshot, shared by all of them)
 * when Prometheus asks, and it is dropped after answering, so nothing is kept in the process and
 * every API instance exposes the same values. The histograms are re-observed from every non-drill
 * incident at each scrape; since incidents are never deleted their counts only grow, like any
 * Prometheus histogram (`rate`, `increase` and `histogram_quantile` work on them).
 */
export function metricsRegistry(db: Kysely<Database>): Registry {
  const registry = new Registry();
  let snapshot: Promise<MetricsSnapshot> | undefined;
  const read = () => (snapshot ??= metricsSnapshot(db));

  new Gauge({
    name: 'correx_incidents',
    help: 'Non-drill incidents by system, severity and current state',
    labelNames: ['system', 'severity', 'state'] as const,
    registers: [registry],
    async collect() {
      const { incidents } = await read();
      this.reset();
      for (const i of incidents) this.inc({ system: i.systemId, severity: i.severity, state: i.state });
    },
  });

  for (const duration of durationNames) {
    new Histogram({
      ...durationMetrics[duration],
      labelNames: ['system', 'severity'] as const,
      buckets: durationBuckets,
      registers: [registry],
      async collect() {
        const { incidents } = await read();
        this.reset();
        for (const i of incidents) {
          const value = i.durations[duration];
          if (value !== null) this.observe({ system: i.systemId, severity: i.severity }, value);
        }
      },
    });
  }

  new Counter({
    name: 'correx_regulator_submissions_total',
    help: 'Reports sent to regulators for non-drill incidents, by system, regime and whether sent after the deadline',
    labelNames: ['system', 'regime', 'late'] as const,
    registers: [registry],
    async collect() {
      const { regulator } = await read();
      this.reset();
      for (const r of regulator) {
        if (r.count - r.lateCount > 0) this.inc({ system: r.systemId, regime: regimeLabel(r.regime), late: 'false' }, r.count - r.lateCount);
        if (r.lateCount > 0) this.inc({ system: r.systemId, regime: regimeLabel(r.regime), late: 'true' }, r.lateCount);
      }
    },
  });

  new Gauge({
    name: 'correx_regulator_submission_margin_seconds_min',
    help: 'Smallest deadline-minus-sent margin of a report sent to a regulator (negative: sent that late), by system and regime',
    labelNames: ['system', 'regime'] as const,
    registers: [registry],
    async collect() {
      const { regulator } = await read();
      this.reset();
      for (const r of regulator) if (r.minMarginSeconds !== null) this.set({ system: r.systemId, regime: regimeLabel(r.regime) }, r.minMarginSeconds);
    },
  });

  new Gauge({
    name: 'correx_regulator_reports_unsent',
    help: 'Reports to regulators drafted and not sent yet, by system, regime and whether their deadline has passed',
    labelNames: ['system', 'regime', 'overdue'] as const,
    registers: [registry],
    async collect() {
      const { regulator } = await read();
      this.reset();
      for (const r of regulator) {
        if (r.unsent - r.overdue > 0) this.set({ system: r.systemId, regime: regimeLabel(r.regime), overdue: 'false' }, r.unsent - r.overdue);
        if (r.overdue > 0) this.set({ system: r.systemId, regime: regimeLabel(r.regime), overdue: 'true' }, r.overdue);
      }
    },
  });

  return registry;
}
