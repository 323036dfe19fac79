// Pure threshold rules of runbook triggers, used inside the monitor workflow (no I/O, type imports only)
// and by the API (which repeats of an alert the monitor needs to hear of).
import type { ThresholdCounts } from '../runbook/schema.js';
import { matches, type MonitorPlan, type SignalFacts } from './matching.js';

/**
 * One receipt of a firing signal in a trigger group's window. A signal is received once, and again each
 * time its sender repeats it (the same signalId, a higher `occurrence`).
 */
export interface WindowEntry {
  signalId: string;
  /** When it counts from: the signal's time, or for a repeat, when the monitor received it. */
  at: string;
  /** The sender's name for the alert; without one, the signal is an alert of its own. */
  alertKey?: string;
  /** Which receipt of the signal: 1 (absent) for its first, n for its n-th. */
  occurrence?: number;
}

/** What a threshold needs of a trigger. */
export interface ThresholdRule {
  count: number;
  windowMs: number;
  /** Absent in plans prepared before `counts` existed: `occurrences`. */
  counts?: ThresholdCounts;
}

/**
 * Whether the monitor needs to hear of a repeat of this signal: some trigger it matches counts
 * occurrences towards a threshold above one. Otherwise the API keeps a repeat in PostgreSQL (counted on
 * its row), which keeps alert storms out of the monitor's history.
 */
export function repeatsCountFor(plan: MonitorPlan, signal: SignalFacts): boolean {
  return plan.triggers.some((t) => (t.counts ?? 'occurrences') === 'occurrences' && t.count > 1 && matches(t, signal));
}

/** The receipt's identity: a signal handed over twice (a retry) is one receipt, a repeat of it another. */
export function receiptKey(r: { signalId: string; occurrence?: number }): string {
  const n = r.occurrence ?? 1;
  return n <= 1 ? r.signalId : `${r.signalId}#${n}`;
}

/** The alert a firing signal is about: its sender's key, else the signal itself. */
export function alertOf(r: { signalId: string; alertKey?: string }): string {
  return r.alertKey ?? r.signalId;
}

/**
 * When a receipt counts from: a first receipt at its signal's time (as the sender observed it); a
 * repeat, whose signal keeps the time of its first receipt, when the monitor got it (`now`), or the
 * signal's time if that is later.
 */
export function receiptTime(signal: { at: string; occurrence?: number }, now: number): string {
  if ((signal.occurrence ?? 1) <= 1) return signal.at;
  return new Date(Math.max(Date.parse(signal.at), now)).toISOString();
}

/**
 * A group's window after a receipt: the receipt added (once: the same receipt again changes nothing),
 * and only what lies within `windowMs` of the latest receipt kept, oldest first. The window slides with
 * the latest time it has seen, not with the time of the receipt at hand: senders batch alerts in their
 * own order (Alertmanager sorts a notification's alerts by their labels), so a receipt older than one
 * already in the window must not push the newer one out. Under `alerts` only the latest receipt of each
 * signal is kept, since an alert counts once however often it repeats.
 */
export function addToWindow<T extends WindowEntry>(window: T[], receipt: T, rule: ThresholdRule): T[] {
  const key = receiptKey(receipt);
  if (window.some((e) => receiptKey(e) === key)) return slide(window, rule.windowMs);
  const kept = (rule.counts ?? 'occurrences') === 'alerts' ? window.filter((e) => e.signalId !== receipt.signalId) : window;
  return slide([...kept, receipt], rule.windowMs);
}

/** The entries within `windowMs` of the latest one, oldest first. */
export function slide<T extends { at: string }>(entries: T[], windowMs: number): T[] {
  if (entries.length === 0) return [];
  const latest = Math.max(...entries.map((e) => Date.parse(e.at)));
  return entries.filter((e) => Date.parse(e.at) > latest - windowMs).sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}

/** What a window holds toward its threshold: its receipts, or its distinct alerts. */
export function thresholdCount(window: WindowEntry[], counts: ThresholdCounts | undefined): number {
  return (counts ?? 'occurrences') === 'alerts' ? new Set(window.map(alertOf)).size : window.length;
}

export function thresholdMet(window: WindowEntry[], rule: ThresholdRule): boolean {
  return thresholdCount(window, rule.counts) >= rule.count;
}

/** The signals a window's receipts belong to, each once, in the order first received. */
export function windowSignalIds(window: WindowEntry[]): string[] {
  return [...new Set(window.map((e) => e.signalId))];
}

/** The alerts of a window, each once. */
export function windowAlerts(window: WindowEntry[]): string[] {
  return [...new Set(window.map(alertOf))];
}

/**
 * A group whose threshold was met under a trigger with `for`: it opens at `dueAt` if some alert of it
 * still fires then. Firing signals meanwhile join it; resolves take their alerts out of `firing`.
 */
export interface PendingGroup {
  triggerId: string;
  /** When the threshold was met (the monitor's clock). */
  metAt: string;
  /** metAt + for. */
  dueAt: string;
  title: string;
  severity: string;
  signalIds: string[];
  /** The group's alerts still firing. */
  firing: string[];
}

/** A pending group after a resolve: without `alertKey` every alert of it ends. Undefined once none fires. */
export function pendingAfterResolve(pending: PendingGroup, alertKey: string | undefined): PendingGroup | undefined {
  const firing = alertKey ? pending.firing.filter((k) => k !== alertKey) : [];
  return firing.length > 0 ? { ...pending, firing } : undefined;
}

/** A pending group after a firing signal of it: the signal and its alert join. */
export function pendingAfterFiring(pending: PendingGroup, signal: { signalId: string; alertKey?: string }): PendingGroup {
  const alert = alertOf(signal);
  return {
    ...pending,
    signalIds: pending.signalIds.includes(signal.signalId) ? pending.signalIds : [...pending.signalIds, signal.signalId],
    firing: pending.firing.includes(alert) ? pending.firing : [...pending.firing, alert],
  };
}

/** The pending groups due at `now`, by their keys, soonest first. */
export function duePending(pending: Record<string, PendingGroup>, now: number): string[] {
  return Object.entries(pending)
    .filter(([, p]) => Date.parse(p.dueAt) <= now)
    .sort(([, a], [, b]) => Date.parse(a.dueAt) - Date.parse(b.dueAt))
    .map(([key]) => key);
}

/** When the soonest pending group is due (ms), if any. */
export function nextDue(pending: Record<string, PendingGroup>): number | undefined {
  const dues = Object.values(pending).map((p) => Date.parse(p.dueAt));
  return dues.length > 0 ? Math.min(...dues) : undefined;
}
