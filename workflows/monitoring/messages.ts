// The monitoring workflow's messages, shared by the workflow and its client. Updates are for human decisions
// that need an answer (validated, and refused with a reason); signals for facts; queries for live state.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { MonitorPlan, Silence } from '../../services/monitoring/matching.js';
import type { ReceivedSignal } from '../../services/monitoring/signal.js';
import type { PendingGroup, WindowEntry } from '../../services/monitoring/thresholds.js';

export const signalReceivedSignal = defineSignal<[ReceivedSignal]>('signalReceived');
/** An incident the monitor opened was resolved or closed, so its group may open a new one. */
export const incidentEndedSignal = defineSignal<[{ groupKey: string; incidentId: string; at: string }]>('incidentEnded');
/** A re-fire within the flap window: the monitor re-opens the incident it resolved instead of opening another. */
export const reopenSignal = defineSignal<[{ reason: string; at: string }]>('reopen');
/** The sender acknowledged the problem (its own on-call took it): paging stops. */
export const monitorAcknowledgeSignal = defineSignal<[{ reason: string; at: string }]>('monitorAcknowledge');
/** Every alert of an incident the monitor opened has resolved, and its runbook keeps the incident open: paging stops. */
export const monitorAlertsResolvedSignal = defineSignal<[{ reason: string; at: string }]>('monitorAlertsResolved');
/** The monitor resolves an incident it opened (a resolved signal, a heartbeat resumed). */
export const monitorResolveSignal = defineSignal<[{ reason: string; at: string }]>('monitorResolve');

export interface SilenceRequest {
  owner: string;
  reason: string;
  /** ISO 8601; the silence ends then. */
  endsAt: string;
  matchers: Record<string, string>;
  trigger?: string;
}
export const silenceUpdate = defineUpdate<Silence, [SilenceRequest]>('silence');

export interface OpenGroup {
  workflowId: string;
  incidentId: string;
  triggerId: string;
  /** Set when re-opened for flapping: news of its earlier resolution no longer applies. */
  reopenedAt?: string;
  /** The alerts of the incident still firing, by their senders' keys (absent for groups opened before 2026-12-02). */
  firing?: string[];
}

/** Everything the monitor carries across continue-as-new. */
export interface MonitorState {
  systemId: string;
  runbookVersion: string | undefined;
  plan: MonitorPlan | undefined;
  /** Recent receipts of matching signals per trigger group, inside the trigger's window. */
  windows: Record<string, WindowEntry[]>;
  /**
   * Groups whose threshold was met under a trigger with `for`, waiting to see whether they still fire
   * (absent in runs from before 2026-12-02).
   */
  pending?: Record<string, PendingGroup>;
  open: Record<string, OpenGroup>;
  /** Groups whose incident was resolved lately, for flap suppression. */
  ended: Record<string, OpenGroup & { at: string }>;
  /** How many incidents each group has opened (part of their dedup keys). */
  openings: Record<string, number>;
  silences: Silence[];
  suppressed: { signalId: string; silenceId: string; at: string }[];
  processed: number;
  /** Ids of the latest signals handled: a signal handed over twice (a sender's retry) counts once. */
  recent: string[];
  /** Ids of the Temporal Schedules running this system's evaluations. */
  schedules: string[];
  lastHeartbeatAt: string | undefined;
  runbookHistory: { version: string; at: string }[];
}

export interface MonitorStart {
  systemId: string;
  state?: MonitorState;
  /** Signals handled per run before continuing as new (history stays small). */
  continueAsNewAfter?: number;
  /** Signals the previous run received but had not handled when it continued as new: handled first. */
  carried?: ReceivedSignal[];
}
export const monitorStateQuery = defineQuery<MonitorState>('monitorState');
