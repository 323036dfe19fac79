import type { ColumnType, Generated, Insertable, RawBuilder, Selectable } from 'kysely';
import type { EnforcementPointKind } from '../correction/kinds.js';
import type { CorrectionKind } from '../correction/schema.js';
import type { CorrectionState } from '../correction/states.js';
import type { IncidentState } from '../incident/schema.js';
import type { FallbackState, NotificationAudience, NotificationState } from '../notification/kinds.js';

type RawBuilderLike = RawBuilder<unknown>;

/** timestamptz: read as Date, written as Date or ISO string. */
export type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** A timestamptz column with a database default. */
export type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
export type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
/** jsonb: the application always passes and gets parsed JSON values. */
export type Json<T = unknown> = ColumnType<T, T, T>;
/** jsonb with a database default. */
export type JsonWithDefault<T = unknown> = ColumnType<T, T | undefined, T>;

export interface SystemsTable {
  id: string;
  name: string;
  runbook_version: string | null;
  definition: Json<Record<string, unknown>>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface IncidentsTable {
  id: string;
  workflow_id: string;
  system_id: string;
  dedup_key: string;
  title: string;
  severity: string;
  state: IncidentState;
  runbook_version: string | null;
  classification: Json<string[]>;
  commander: string | null;
  opened_by: string;
  opened_at: Timestamp;
  acknowledged_at: Timestamp | null;
  mitigated_at: Timestamp | null;
  resolved_at: Timestamp | null;
  closed_at: Timestamp | null;
  /** The workflow run and the position in it (activity sequence number) of the transition that set `state`. */
  state_run_id: ColumnType<string | null, string | null | undefined, string | null>;
  state_ordinal: ColumnType<number | null, number | null | undefined, number | null>;
  /** A rehearsal (`correx drill`): dry-run enforcement, mail to the outbox, no regulator clocks, no metrics. */
  drill: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface SignalsTable {
  id: Generated<string>;
  system_id: string;
  source: string;
  dedup_key: string;
  fingerprint: string | null;
  status: string;
  severity: string | null;
  summary: string | null;
  payload: Json<Record<string, unknown>>;
  idempotency_key: string;
  incident_id: string | null;
  received_at: Timestamp;
  suppressed_by: string | null;
  labels: ColumnType<Record<string, string> | null, Record<string, string> | RawBuilderLike | null | undefined, Record<string, string> | null>;
  created_at: CreatedAt;
  /** Times this signal was received: 1, plus each repeat with the same idempotency key. */
  occurrences: Generated<number>;
  /** When its latest repeat was received (its first receipt until then). */
  last_seen_at: ColumnType<Date, Date | string | undefined, Date | string>;
  /** The latest receipt of it handed to its system's monitor; 0 until the first is (the outbox's mark). */
  handed_over: Generated<number>;
  /** The runbook version it was accepted under, which its monitor applies. */
  runbook_version: string | null;
}

export interface CorrectionsTable {
  id: string;
  incident_id: string;
  system_id: string;
  severity: string;
  kind: CorrectionKind;
  scope: Json<Record<string, unknown>>;
  parameters: Json<Record<string, unknown>>;
  reason: string;
  state: CorrectionState;
  break_glass: Generated<boolean>;
  proposed_by: string;
  idempotency_key: string;
  proposed_at: Timestamp;
  approved_at: Timestamp | null;
  rejected_at: Timestamp | null;
  applied_at: Timestamp | null;
  verified_at: Timestamp | null;
  lifted_at: Timestamp | null;
  /** The system's policy version this correction entered the policy with, and left it with. */
  applied_version: ColumnType<number | null, number | null | undefined, number | null>;
  lifted_version: ColumnType<number | null, number | null | undefined, number | null>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** Each change of a system's policy (a correction taking effect or ending) is a new version. */
export interface PolicyVersionsTable {
  system_id: string;
  version: number;
  changed_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** An API instance answering decisions from memory, and the policy version it holds per system. */
export interface DecisionInstancesTable {
  instance_id: string;
  versions: JsonWithDefault<Record<string, number>>;
  started_at: ColumnType<Date, Date | string | undefined, Date | string>;
  heartbeat_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** A gateway that asks for decisions, and the policy version of the last decision it was given. */
export interface EnforcementPointsTable {
  system_id: string;
  point_id: string;
  kind: EnforcementPointKind;
  owner: string;
  policy_version: number;
  decisions: ColumnType<number, number | undefined, number>;
  first_seen_at: ColumnType<Date, Date | string | undefined, Date | string>;
  last_seen_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** Requests counted under a rate-limit correction, per user or org and window, shared by every instance. */
export interface RateLimitCountsTable {
  correction_id: string;
  subject: string;
  window_start: ColumnType<Date, Date | string, Date | string>;
  count: number;
}

export interface ApprovalsTable {
  id: Generated<string>;
  correction_id: string;
  actor: string;
  role: string;
  decision: 'approve' | 'reject';
  rationale: string;
  decided_at: Timestamp;
  created_at: CreatedAt;
}

export interface PagesTable {
  id: Generated<string>;
  incident_id: string;
  escalation_level: number;
  attempt: number;
  target: string;
  channel: string;
  idempotency_key: string;
  sent_at: Timestamp | null;
  acknowledged_at: Timestamp | null;
  acknowledged_by: string | null;
  created_at: CreatedAt;
}

export interface NotificationsTable {
  id: Generated<string>;
  incident_id: string;
  audience: NotificationAudience;
  regime: string | null;
  recipient: string;
  subject: string;
  body: string;
  state: NotificationState;
  due_at: Timestamp | null;
  sent_at: Timestamp | null;
  idempotency_key: string;
  clock_id: string | null;
  occurrence: number | null;
  correction_id: string | null;
  fields: JsonWithDefault<Record<string, string>>;
  /** A regulator report's edits by compliance (field -> value), kept apart from what Correx derives; they win. */
  edits: JsonWithDefault<Record<string, string>>;
  message_id: string | null;
  content_hash: string | null;
  late: Generated<boolean>;
  late_reason: string | null;
  approved_by: string | null;
  approved_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface FallbacksTable {
  id: Generated<string>;
  incident_id: string;
  correction_id: string;
  consumer_id: string;
  method: string;
  state: FallbackState;
  /** The way it is being switched: `activate` or `deactivate` (null on rows from before failures were kept). */
  action: ColumnType<'activate' | 'deactivate' | null, 'activate' | 'deactivate' | null | undefined, 'activate' | 'deactivate' | null>;
  failed_attempts: ColumnType<number, number | undefined, number>;
  last_error: ColumnType<string | null, string | null | undefined, string | null>;
  next_attempt_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  activated_at: Timestamp | null;
  deactivated_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface TasksTable {
  id: Generated<string>;
  incident_id: string;
  title: string;
  owner_role: string;
  owner: string | null;
  state: string;
  due_at: Timestamp | null;
  completed_at: Timestamp | null;
  reason: string | null;
  idempotency_key: string;
  /** `template` (the runbook's postIncident tasks) or `corrective-action` (added during the review). */
  origin: ColumnType<string, string | undefined, string>;
  reminded_at: Timestamp | null;
  escalated_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface AfterActionReviewsTable {
  incident_id: string;
  summary: string;
  impact: string;
  highlights: Json<{ at?: string; seq?: number; note: string }[]>;
  root_cause: string;
  contributing_factors: Json<string[]>;
  attribution: Json<{ stage: string; actor: string; confidence: string; evidence: { description: string; url?: string }[] }[]>;
  runbook_changes: Json<string[]>;
  submitted_by: string;
  submitted_at: Timestamp;
  signed_off_by: string | null;
  signed_off_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface TimelineEventsTable {
  incident_id: string;
  seq: number;
  /**
   * Any kind some version of Correx recorded (events are never rewritten). Written only through
   * appendTimelineEvent, whose entry is typed with today's TimelineEventKind.
   */
  kind: string;
  actor: string;
  occurred_at: Timestamp;
  data: Json<Record<string, unknown>>;
  idempotency_key: string;
  prev_hash: string;
  hash: string;
  recorded_at: CreatedAt;
}

export interface ApiTokensTable {
  id: Generated<string>;
  prefix: string;
  hash: string;
  owner: string;
  roles: Json<string[]>;
  description: string | null;
  expires_at: Timestamp | null;
  revoked_at: Timestamp | null;
  last_used_at: Timestamp | null;
  created_at: CreatedAt;
  /** Set for integration keys: the one system their events are about. */
  system_id: string | null;
  kind: ColumnType<'token' | 'integration-key', 'token' | 'integration-key' | undefined, never>;
  /** The admin who created it (`direct:<user>` when written straight into the database); NULL before this was recorded. */
  created_by: string | null;
}

export interface RunbookVersionsTable {
  version: string;
  system_id: string;
  content: Json<Record<string, unknown>>;
  source_file: string;
  created_at: CreatedAt;
}

/** A signed-in browser: the cookie's hash, the token it stands for, its CSRF secret. */
export interface ConsoleSessionsTable {
  id_hash: string;
  token_id: string;
  csrf: string;
  created_at: CreatedAt;
  expires_at: Timestamp;
}

/** An Idempotency-Key a token used, the request it was first used with, and the answer once there is one. */
export interface IdempotencyKeysTable {
  token_id: string;
  key: string;
  /** `METHOD /route/{param}` it was used on. */
  operation: string;
  /** SHA-256 of the canonical JSON of the operation, path parameters and body. */
  fingerprint: string;
  status: number | null;
  response: Json<unknown> | null;
  created_at: CreatedAt;
  completed_at: Timestamp | null;
}

export interface Database {
  systems: SystemsTable;
  incidents: IncidentsTable;
  signals: SignalsTable;
  corrections: CorrectionsTable;
  approvals: ApprovalsTable;
  pages: PagesTable;
  notifications: NotificationsTable;
  tasks: TasksTable;
  timeline_events: TimelineEventsTable;
  api_tokens: ApiTokensTable;
  runbook_versions: RunbookVersionsTable;
  fallbacks: FallbacksTable;
  after_action_reviews: AfterActionReviewsTable;
  console_sessions: ConsoleSessionsTable;
  idempotency_keys: IdempotencyKeysTable;
  policy_versions: PolicyVersionsTable;
  decision_instances: DecisionInstancesTable;
  enforcement_points: EnforcementPointsTable;
  rate_limit_counts: RateLimitCountsTable;
}

export type IncidentRow = Selectable<IncidentsTable>;
export type NewIncidentRow = Insertable<IncidentsTable>;
export type TimelineEventRow = Selectable<TimelineEventsTable>;
export type CorrectionRow = Selectable<CorrectionsTable>;
export type NotificationRow = Selectable<NotificationsTable>;
