import { parseDuration } from '../duration.js';
import type { Runbook } from '../runbook/schema.js';
import type { MonitorPlan } from './matching.js';

/** What the monitor workflow needs from a runbook version, with durations in milliseconds. */
export function planMonitor(runbook: Runbook, runbookVersion: string): MonitorPlan {
  const ms = (text: string) => parseDuration(text) ?? 0;
  return {
    runbookVersion,
    systemId: runbook.system.id,
    triggers: runbook.triggers.map((t) => ({
      id: t.id,
      description: t.description,
      sources: t.match.sources,
      labels: t.match.labels,
      signalSeverities: t.match.signalSeverities,
      count: t.threshold.count,
      windowMs: ms(t.threshold.window),
      counts: t.threshold.counts,
      ...(t.for ? { forMs: ms(t.for) } : {}),
      groupBy: t.groupBy,
      severity: t.severity,
      onResolved: t.onResolved,
    })),
    heartbeat: runbook.monitoring.heartbeat
      ? { intervalMs: ms(runbook.monitoring.heartbeat.interval), severity: runbook.monitoring.heartbeat.severity }
      : undefined,
    evaluations: runbook.monitoring.evaluations.map((e) => ({ id: e.id, description: e.description, url: e.url, everyMs: ms(e.every) })),
    flapWindowMs: ms(runbook.monitoring.flapWindow),
  };
}
