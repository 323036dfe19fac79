// Pure trigger evaluation, used inside the monitor workflow: no I/O, no imports with side effects.
import type { ThresholdCounts } from '../runbook/schema.js';

export interface TriggerPlan {
  id: string;
  sources: string[] | undefined;
  labels: Record<string, string> | undefined;
  signalSeverities: string[] | undefined;
  count: number;
  windowMs: number;
  /** What the threshold counts (absent in plans prepared before it existed: occurrences). */
  counts?: ThresholdCounts;
  /** The trigger's `for`: how long the group must still fire once the threshold is met (absent: opens at once). */
  forMs?: number;
  groupBy: string[];
  severity: string;
  onResolved: 'resolve' | 'record';
  description: string;
}

export interface MonitorPlan {
  runbookVersion: string;
  systemId: string;
  triggers: TriggerPlan[];
  heartbeat: { intervalMs: number; severity: string } | undefined;
  evaluations: { id: string; description: string; url: string; everyMs: number }[];
  flapWindowMs: number;
}

export interface SignalFacts {
  source: string;
  labels: Record<string, string>;
  severity: string | undefined;
}

export function matches(trigger: TriggerPlan, signal: SignalFacts): boolean {
  if (trigger.sources && !trigger.sources.includes(signal.source)) return false;
  if (trigger.signalSeverities && (signal.severity === undefined || !trigger.signalSeverities.includes(signal.severity))) return false;
  for (const [name, value] of Object.entries(trigger.labels ?? {})) if (signal.labels[name] !== value) return false;
  return true;
}

/**
 * The incident a signal belongs to under a trigger: the trigger plus the values of its groupBy labels.
 * With `pagerDutyAlerts`, a trigger without groupBy keeps each PagerDuty alert (dedup_key) in a group of
 * its own, as PagerDuty opens an incident per alert: one alert's acknowledge or resolve is not another's.
 */
export function groupKey(trigger: TriggerPlan, signal: SignalFacts, options: { pagerDutyAlerts?: boolean } = {}): string {
  const by =
    trigger.groupBy.length === 0 && options.pagerDutyAlerts && signal.source === 'pagerduty' && signal.labels.dedup_key ? ['dedup_key'] : trigger.groupBy;
  return [trigger.id, ...by.map((label) => `${label}=${signal.labels[label] ?? ''}`)].join('|');
}

/** The signals of a window still inside it at `now` (ms), oldest first. */
export function withinWindow<T extends { at: string }>(signals: T[], windowMs: number, now: number): T[] {
  return signals.filter((s) => Date.parse(s.at) > now - windowMs && Date.parse(s.at) <= now).sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

export interface Silence {
  id: string;
  /** Labels a signal must carry (all of them) to be silenced; `trigger` may name one trigger. */
  matchers: Record<string, string>;
  trigger: string | undefined;
  owner: string;
  reason: string;
  endsAt: string;
}

export function silencedBy(silences: Silence[], triggerId: string, signal: SignalFacts & { at: string }): Silence | undefined {
  return silences.find(
    (s) =>
      Date.parse(s.endsAt) > Date.parse(signal.at) &&
      (s.trigger === undefined || s.trigger === triggerId) &&
      Object.entries(s.matchers).every(([name, value]) => signal.labels[name] === value),
  );
}
