import { z } from 'zod';
import type { MonitorState } from '../../workflows/monitoring/messages.js';
import { Instant } from '../instant.js';
import { thresholdCounts } from '../runbook/schema.js';
import type { Silence } from './matching.js';

/** A silence as the API shows it (`POST /v1/systems/{systemId}/silences` answers with the one it made). */
export const SilenceView = z.strictObject({
  id: z.uuid(),
  matchers: z.record(z.string(), z.string()).describe('Labels a signal must carry, all of them, to be held back'),
  trigger: z.string().optional().describe('Only signals matching this trigger are held back'),
  owner: z.string(),
  reason: z.string(),
  endsAt: Instant,
});
export type SilenceView = z.infer<typeof SilenceView>;

export function silenceView(silence: Silence): SilenceView {
  return {
    id: silence.id,
    matchers: silence.matchers,
    ...(silence.trigger !== undefined ? { trigger: silence.trigger } : {}),
    owner: silence.owner,
    reason: silence.reason,
    endsAt: silence.endsAt,
  };
}

const OpenGroup = z.strictObject({
  workflowId: z.string(),
  incidentId: z.uuid(),
  triggerId: z.string(),
  reopenedAt: Instant.optional().describe('Set when re-opened for flapping'),
  firing: z.array(z.string()).optional().describe("The incident's alerts still firing, by their senders' keys"),
});

/** The runbook's monitoring section as the monitor runs it: durations in milliseconds. */
const MonitorPlanView = z.strictObject({
  runbookVersion: z.string(),
  systemId: z.string(),
  triggers: z.array(
    z.strictObject({
      id: z.string(),
      sources: z.array(z.string()).optional(),
      labels: z.record(z.string(), z.string()).optional(),
      signalSeverities: z.array(z.string()).optional(),
      count: z.number().int(),
      windowMs: z.number().int(),
      counts: z.enum(thresholdCounts).optional().describe('What the threshold counts: every firing signal received, repeats included, or distinct alerts'),
      forMs: z.number().int().optional().describe("The trigger's `for`: how long a group must still fire once its threshold is met"),
      groupBy: z.array(z.string()),
      severity: z.string(),
      onResolved: z.enum(['resolve', 'record']),
      description: z.string(),
    }),
  ),
  heartbeat: z.strictObject({ intervalMs: z.number().int(), severity: z.string() }).optional(),
  evaluations: z.array(z.strictObject({ id: z.string(), description: z.string(), url: z.string(), everyMs: z.number().int() })),
  flapWindowMs: z.number().int(),
});

/** A system monitor's live state (`GET /v1/systems/{systemId}/monitor`). */
export const MonitorView = z.strictObject({
  systemId: z.string(),
  runbookVersion: z.string().optional().describe('Absent until the first signal'),
  plan: MonitorPlanView.optional(),
  windows: z
    .record(
      z.string(),
      z.array(
        z.strictObject({
          signalId: z.uuid(),
          at: Instant,
          alertKey: z.string().optional().describe("The sender's name for the alert"),
          occurrence: z.number().int().optional().describe('Which receipt of the signal, for a repeat (2 for its first repeat)'),
        }),
      ),
    )
    .describe("Recent receipts of matching signals per trigger group (trigger id and groupBy labels), inside the trigger's window"),
  pending: z
    .record(
      z.string(),
      z.strictObject({
        triggerId: z.string(),
        metAt: Instant.describe('When the threshold was met'),
        dueAt: Instant.describe('When the incident opens if the group still fires (metAt + for)'),
        title: z.string(),
        severity: z.string(),
        signalIds: z.array(z.uuid()),
        firing: z.array(z.string()).describe("The group's alerts still firing"),
      }),
    )
    .optional()
    .describe('Groups whose threshold was met under a trigger with `for`, waiting to see whether they still fire'),
  open: z.record(z.string(), OpenGroup).describe('The open incident of each group'),
  ended: z.record(z.string(), OpenGroup.extend({ at: Instant })).describe('Groups whose incident was resolved lately, for flap suppression'),
  openings: z.record(z.string(), z.number().int()).describe('How many incidents each group has opened'),
  silences: z.array(SilenceView),
  suppressed: z.array(z.strictObject({ signalId: z.uuid(), silenceId: z.uuid(), at: Instant })).describe('Signals a silence held back'),
  processed: z.number().int().describe('Signals handled since the monitor first started (a repeat of one counts once)'),
  schedules: z.array(z.string()).describe("The Temporal Schedules running the runbook's evaluations"),
  lastHeartbeatAt: Instant.optional(),
  runbookHistory: z.array(z.strictObject({ version: z.string(), at: Instant })),
});
export type MonitorView = z.infer<typeof MonitorView>;

/** The monitor's state without its bookkeeping (the ids it has seen lately, which only deduplicate). */
export function monitorView(state: MonitorState): MonitorView {
  return {
    systemId: state.systemId,
    ...(state.runbookVersion !== undefined ? { runbookVersion: state.runbookVersion } : {}),
    ...(state.plan !== undefined ? { plan: state.plan } : {}),
    windows: state.windows,
    ...(state.pending !== undefined ? { pending: state.pending } : {}),
    open: state.open,
    ended: state.ended,
    openings: state.openings,
    silences: state.silences.map(silenceView),
    suppressed: state.suppressed,
    processed: state.processed,
    schedules: state.schedules,
    ...(state.lastHeartbeatAt !== undefined ? { lastHeartbeatAt: state.lastHeartbeatAt } : {}),
    runbookHistory: state.runbookHistory,
  };
}
