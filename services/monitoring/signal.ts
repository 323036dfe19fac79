import { z } from 'zod';
import { InstantInput } from '../instant.js';
import { SystemId } from '../incident/schema.js';
import { signalSources } from '../runbook/schema.js';

/**
 * Labels as every sender's signals carry them. Bounded because each signal's labels travel into the
 * monitor workflow's history: an unbounded map would let one payload fill it.
 */
export const signalLabelLimits = { count: 64, nameLength: 128, valueLength: 2048 } as const;

/** A label map within signalLabelLimits; Alertmanager's webhook tolerates (and later drops) empty names. */
export function boundedLabels(options: { emptyNames: 'refused' | 'tolerated' } = { emptyNames: 'refused' }) {
  const { count, nameLength, valueLength } = signalLabelLimits;
  return z.record(z.string(), z.string().max(valueLength, `must be at most ${valueLength} characters`)).superRefine((labels, ctx) => {
    const names = Object.keys(labels);
    if (names.length > count) ctx.addIssue({ code: 'custom', message: `at most ${count} labels` });
    for (const name of names) {
      if (name.length === 0 && options.emptyNames === 'refused') ctx.addIssue({ code: 'custom', message: 'a label name must not be empty' });
      if (name.length > nameLength) ctx.addIssue({ code: 'custom', message: `label name '${name.slice(0, 24)}…' is longer than ${nameLength} characters` });
    }
  });
}

/** A signal about a system's behaviour, as the native API takes it (and as ingestion maps others to). */
export const SignalInput = z.strictObject({
  systemId: SystemId,
  source: z.enum(signalSources),
  /** `acknowledged`: the sender's on-call took it (PagerDuty acknowledge), which stops Correx's paging. */
  status: z.enum(['firing', 'acknowledged', 'resolved']).default('firing'),
  labels: boundedLabels().default({}),
  /** The sender's own severity word (critical, warning…), matched by triggers. */
  severity: z.string().min(1).max(64).optional(),
  summary: z.string().max(1024).optional(),
  /** When it was observed (ISO 8601); defaults to when Correx received it. */
  at: InstantInput.optional(),
  /** The sender's identity for this signal; a repeat with the same key is stored once. */
  idempotencyKey: z.string().min(1).max(255).optional(),
  /**
   * The alert this signal is about, as its sender names it (Alertmanager's fingerprint, PagerDuty's
   * dedup_key): a resolve ends that alert only. Without it, a firing signal is an alert of its own and
   * a resolve ends every alert of its group.
   */
  alertKey: z.string().min(1).max(255).optional(),
});
export type SignalInput = z.infer<typeof SignalInput>;

/** What the monitor workflow receives for each stored signal. */
export interface ReceivedSignal {
  signalId: string;
  systemId: string;
  source: string;
  status: 'firing' | 'acknowledged' | 'resolved';
  labels: Record<string, string>;
  severity: string | undefined;
  at: string;
  runbookVersion: string;
  /** See SignalInput.alertKey (absent in signals handed over before 2026-12-02). */
  alertKey?: string;
  /** What the sender said is wrong, the title of an incident it opens (absent before 2026-12-02). */
  summary?: string;
  /**
   * Which receipt of the signal this is: 1 for the one that stored it, n for its n-th repeat (same
   * signalId). (signalId, occurrence) names one receipt, so a hand-over retried counts once. Absent
   * before 2026-12-02: read as 1.
   */
  occurrence?: number;
}
