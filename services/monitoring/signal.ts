import { z } from 'zod';
import { SystemId } from '../incident/schema.js';
import { signalSources } from '../runbook/schema.js';

/** A signal about a system's behaviour, as the native API takes it (and as ingestion maps others to). */
export const SignalInput = z.strictObject({
  systemId: SystemId,
  source: z.enum(signalSources),
  /** `acknowledged`: the sender's on-call took it (PagerDuty acknowledge), which stops Correx's paging. */
  status: z.enum(['firing', 'acknowledged', 'resolved']).default('firing'),
  labels: z.record(z.string().min(1), z.string()).default({}),
  /** The sender's own severity word (critical, warning…), matched by triggers. */
  severity: z.string().min(1).max(64).optional(),
  summary: z.string().max(1024).optional(),
  /** When it was observed (ISO 8601); defaults to when Correx received it. */
  at: z.iso.datetime({ offset: true }).optional(),
  /** The sender's identity for this signal; a repeat with the same key is stored once. */
  idempotencyKey: z.string().min(1).max(255).optional(),
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
}
