import { z } from 'zod';
import { internalEvents } from '../notification/kinds.js';
import { CorrectionKind, CorrectionScope, correctionKinds, correctionOf } from '../correction/schema.js';
import { DurationText, parseDuration } from '../duration.js';
import { SystemId } from '../incident/schema.js';
import { Regime, RegulatoryClock, RiskCategory, ValueChainRole } from '../regulatory/regime.js';
import { ContactMethod } from '../channel/kinds.js';
import { Schedule } from '../schedule/schema.js';
import { RunbookId as Id } from './id.js';

// The runbook is the preparation stage as data: per AI system, who may do what, how fast, and who
// must be told. These schemas are the single source of its types and of runbook.schema.json.

const SeverityId = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be a severity name such as SEV2');
const Email = z.email('must be an email address');

export const Contact = z.strictObject({
  name: z.string().min(1).optional(),
  email: Email,
  phone: z.string().min(3).optional(),
});

export const Organisation = z.strictObject({
  name: z.string().min(1),
  contact: Contact,
});

/** An HTTP header name, as gateways forward it (lower case). */
const HeaderName = z.string().regex(/^[a-z0-9-]+$/, 'must be a header name in lower case, such as x-correx-user');

export const EnforcementAdapter = z.discriminatedUnion(
  'adapter',
  [
    /** Built in: Correx serves the active corrections as a policy document and a decision endpoint. */
    z.strictObject({
      adapter: z.literal('policy'),
      /** What a gateway is told while this instance cannot vouch for its policy (PostgreSQL unreachable for over a second). */
      failMode: z.enum(['closed', 'open']).default('closed'),
      /** Envoy's ext_authz: which request headers carry the user, org, tier, region, use case and capability. */
      requestHeaders: z
        .strictObject({
          user: HeaderName.default('x-correx-user'),
          org: HeaderName.default('x-correx-org'),
          tier: HeaderName.default('x-correx-tier'),
          region: HeaderName.default('x-correx-region'),
          useCase: HeaderName.default('x-correx-use-case'),
          capability: HeaderName.default('x-correx-capability'),
        })
        .prefault({}),
      /**
       * Where a drill sends probe requests through the system's gateway (its model path, e.g.
       * http://envoy:10000/v1/chat/completions), marked `x-correx-drill` so only the drill's corrections
       * meet them: a drill then shows its correction enforced, and a rate limit counted, at the gateway.
       */
      drillProbe: z
        .strictObject({
          url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
          /** Environment variable holding what the probe sends as `Authorization` (e.g. `Bearer <LiteLLM key>`), never the value. */
          authorizationEnv: z
            .string()
            .regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name')
            .optional(),
          /** The JSON body of each probe request; by default a one-line chat completion for the model `correx-drill-probe`. */
          body: z.record(z.string(), z.unknown()).optional(),
        })
        .optional(),
      /** How long a correction waits for every API instance and policy-reading gateway to hold it before it is verified with a warning. */
      verifyWithin: DurationText.refine((text) => (parseDuration(text) ?? 0) <= 10_000, 'must be at most 10s').default('5s'),
    }),
    /** An HMAC-signed call to the system's own control endpoint; state is read back to verify. */
    z.strictObject({
      adapter: z.literal('webhook'),
      url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
      /** Environment variable holding the HMAC-SHA256 secret (never the secret itself). */
      secretEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name such as CORREX_WEBHOOK_SECRET'),
      timeout: DurationText.default('10s'),
    }),
    /** Records what would be done; for drills. */
    z.strictObject({ adapter: z.literal('dry-run') }),
  ],
  { error: 'adapter must be policy, webhook or dry-run' },
);

export const FallbackActivation = z.discriminatedUnion(
  'method',
  [
    z.strictObject({
      method: z.literal('webhook'),
      url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
      /**
       * Where a drill switches this fallback: Correx's dry-run receiver (the default), or this URL with
       * the request marked as a drill, once the consumer has agreed to take drills there.
       */
      drill: z.enum(['dry-run-receiver', 'real-endpoint']).optional(),
    }),
    z.strictObject({ method: z.literal('email'), to: Email }),
    z.strictObject({ method: z.literal('manual'), instructions: z.string().min(1) }),
  ],
  { error: 'method must be webhook, email or manual' },
);

export const DownstreamConsumer = z.strictObject({
  id: Id,
  name: z.string().min(1),
  contact: Contact,
  /** Corrections of these kinds interrupt this consumer, so they are notified and their fallback is activated. */
  affectedBy: z.array(CorrectionKind).min(1),
  fallback: z.strictObject(
    {
      description: z.string().min(1),
      activation: FallbackActivation,
    },
    { error: 'every consumer needs a fallback: { description, activation }' },
  ),
});

export const AiSystem = z.strictObject({
  id: SystemId,
  name: z.string().min(1),
  model: z.strictObject({
    name: z.string().min(1),
    version: z.string().min(1),
    /** Versions a rollback may return to. */
    previousVersions: z.array(z.string().min(1)).default([]),
  }),
  upstreamDeveloper: Organisation,
  deployer: Organisation,
  /** Who this runbook's organisation is in the value chain for this system. */
  valueChainRole: ValueChainRole,
  riskCategory: RiskCategory,
  jurisdictions: z.array(z.string().regex(/^([A-Z]{2}(-[A-Z0-9]{1,3})?|EU|EEA)$/, 'must be an ISO 3166 code (DE, US-CA) or EU / EEA')).min(1),
  sectors: z.array(Id).min(1),
  enforcement: EnforcementAdapter,
  consumers: z.array(DownstreamConsumer).default([]),
  /** Environment variable with the HMAC secret for consumers' fallback webhooks; defaults to the webhook enforcer's. */
  fallbackSecretEnv: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name')
    .optional(),
});

export const Severity = z.strictObject({
  id: SeverityId,
  name: z.string().min(1),
  definition: z.string().min(1),
});

export const Role = z.strictObject({
  id: Id,
  description: z.string().min(1),
  /** Where overdue work of this role escalates (after-action tasks). */
  manager: Id.optional(),
});

export const Person = z.strictObject({
  id: Id,
  name: z.string().min(1),
  email: Email,
  roles: z.array(Id).min(1),
  /** How the person is paged, tried in order (email alone when left out). */
  contacts: z.array(ContactMethod).min(1).optional(),
});

/** Who to page or notify: everyone holding a role, or one person. */
export const Target = z.union([z.strictObject({ role: Id }), z.strictObject({ person: Id })], {
  error: 'must be { role: <role id> } or { person: <person id> }',
});

export const signalSources = ['alertmanager', 'pagerduty', 'native', 'report', 'evaluation', 'heartbeat'] as const;

/**
 * What a trigger's threshold counts: `occurrences`, every firing signal the monitor receives, an alert's
 * repeats included (Alertmanager's every repeat_interval, PagerDuty's triggers with one dedup_key); or
 * `alerts`, distinct alerts by their senders' keys (a signal without one is an alert of its own).
 */
export const thresholdCounts = ['occurrences', 'alerts'] as const;
export type ThresholdCounts = (typeof thresholdCounts)[number];

export const Trigger = z.strictObject({
  id: Id,
  description: z.string().min(1),
  match: z.strictObject({
    sources: z.array(z.enum(signalSources)).min(1).optional(),
    /** Every listed label must equal the signal's. */
    labels: z.record(z.string(), z.string()).optional(),
    /** The sender's own severity words (critical, warning…). */
    signalSeverities: z.array(z.string().min(1)).min(1).optional(),
  }),
  /**
   * Opens an incident once `count` matching signals arrive within `window`; by default the first one does.
   * `counts` says what is counted: every firing signal received, repeats of an alert included
   * (`occurrences`, the default), or distinct alerts (`alerts`).
   */
  threshold: z
    .strictObject({ count: z.number().int().min(1), window: DurationText, counts: z.enum(thresholdCounts).default('occurrences') })
    .default({ count: 1, window: '1m', counts: 'occurrences' }),
  /**
   * As Prometheus's `for:`: once the threshold is met, the incident opens only if the group still fires
   * (not every alert of it resolved) this much later. Absent: it opens at once.
   */
  for: DurationText.optional(),
  /** Labels whose values split signals into separate incidents. */
  groupBy: z.array(z.string().min(1)).default([]),
  severity: SeverityId,
  /**
   * What the incident does once every alert of it has resolved at its sender (Alertmanager `resolved`,
   * PagerDuty `resolve`): `resolve` it, as PagerDuty and Alertmanager's receivers do, or `record` it and
   * stop paging while people resolve it themselves. Each resolve is on the timeline either way.
   */
  onResolved: z.enum(['resolve', 'record']).default('resolve'),
});

export const Monitoring = z.strictObject({
  /** Telemetry must send a heartbeat signal this often; when it stops, a "monitoring blind" incident opens. */
  heartbeat: z.strictObject({ interval: DurationText, severity: SeverityId }).optional(),
  /** Post-deployment checks and red-team suites Correx calls on a cadence; results come back as `evaluation` signals. */
  evaluations: z
    .array(
      z.strictObject({
        id: Id,
        description: z.string().min(1),
        url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
        every: DurationText,
      }),
    )
    .default([]),
  /** A re-fire this soon after an incident was resolved re-opens it instead of opening a new one. */
  flapWindow: DurationText.default('30m'),
});

/** Who an escalation level pages: a role's holders, one person, or whoever is on call under a schedule at page time. */
export const EscalationTarget = z.union([z.strictObject({ role: Id }), z.strictObject({ person: Id }), z.strictObject({ schedule: Id })], {
  error: 'must be { role: <role id> }, { person: <person id> } or { schedule: <schedule id> }',
});

export const Escalation = z.strictObject({
  levels: z
    .array(
      z.strictObject({
        targets: z.array(EscalationTarget).min(1),
        ackTimeout: DurationText,
      }),
    )
    .min(1),
  /** How many more times to go through all levels when nobody acknowledges. */
  repeat: z.number().int().min(0).max(10).default(0),
});

const BreakGlass = z.union([z.strictObject({ allowed: z.literal(false) }), z.strictObject({ allowed: z.literal(true), ratificationWindow: DurationText })], {
  error: 'must be { allowed: false } or { allowed: true, ratificationWindow: <duration> }',
});

/** Who decides, shared by applying (decisionAuthority) and lifting (liftAuthority). */
const ruleFields = {
  /** Roles whose holders may approve. */
  approverRoles: z.array(Id).min(1),
  /** Approvals needed, each from a different person holding a different one of approverRoles. */
  quorum: z.number().int().min(1),
  approvalTimeout: DurationText,
  /** Roles that decide when nobody did within approvalTimeout. */
  escalateTo: z.array(Id).min(1),
};

const authorityFields = {
  ...ruleFields,
  /** Whether the incident commander may apply at once, with ratification required within the window. */
  breakGlass: BreakGlass,
};

export const DecisionRule = z.strictObject(authorityFields);

export const DecisionAuthority = z.strictObject({
  ...authorityFields,
  quorum: authorityFields.quorum.default(1),
  breakGlass: BreakGlass.default({ allowed: false }),
  /** Per-severity changes to the rule (e.g. faster timeout and break-glass at SEV1). */
  severities: z.record(SeverityId, DecisionRule.partial()).default({}),
});

// Lifting has no break-glass: a correction in force is the safe state, so taking it off is never an emergency.
export const LiftRule = z.strictObject(ruleFields);

/** Who may lift a correction of one kind, when that differs from who may apply it (its decisionAuthority). */
export const LiftAuthority = z.strictObject({
  ...ruleFields,
  quorum: ruleFields.quorum.default(1),
  /** Per-severity changes to the rule. */
  severities: z.record(SeverityId, LiftRule.partial()).default({}),
});

export const PlaybookCorrection = correctionOf({
  scope: CorrectionScope,
  reason: z.string().min(1),
});

export const RegulatorPolicy = z.strictObject({
  regime: Id,
  recipients: z.array(Contact).min(1),
  /** Recipients of one clock's report instead of `recipients`, by clock id: required for a clock that goes to another authority (SB 53's imminent-risk notice). */
  clockRecipients: z.record(z.string().min(1), z.array(Contact).min(1)).optional(),
  /** Changes to the built-in regime (deadlines, classes…); clocks are matched by id. */
  override: Regime.omit({ id: true, clocks: true, content: true })
    .partial()
    .extend({
      // No default here: an override that leaves content out keeps the regime's own.
      content: z.array(z.string().min(1)).optional(),
      clocks: z.array(RegulatoryClock.partial().required({ id: true })).optional(),
    })
    .optional(),
});

export const NotificationPolicy = z.strictObject({
  /** Who inside the organisation hears of the incident's milestones (`events`, all of them by default). */
  internal: z.strictObject({ targets: z.array(Target).min(1), events: z.array(z.enum(internalEvents)).default([...internalEvents]) }),
  /** Downstream consumers to notify, by id, or all of them (all when left out). */
  customers: z
    .strictObject({
      consumers: z.union([z.literal('all'), z.array(Id).min(1)]).default('all'),
      /** Whom customers ask about a correction; the deployer's contact when left out. */
      contact: Contact.optional(),
      /**
       * What customers are told about a correction of each kind, in the deployer's voice. The notice
       * adds what is restricted, since when, their fallback and whom to contact; the internal
       * rationale is never sent to customers.
       */
      messages: z.partialRecord(CorrectionKind, z.string().trim().min(1).max(2000)).default({}),
    })
    .optional(),
  upstreamDeveloper: z.strictObject({ notify: z.boolean() }).default({ notify: false }),
  regulators: z.array(RegulatorPolicy).default([]),
  /** Regimes the built-in catalogue lacks, usable in `regulators` like built-in ones. */
  customRegimes: z.array(Regime).default([]),
});

export const PostIncidentTemplate = z.strictObject({
  tasks: z
    .array(
      z.strictObject({
        id: Id,
        title: z.string().min(1),
        ownerRole: Id,
        dueAfter: DurationText,
      }),
    )
    .min(1),
  /** What must be recorded as met before the last correction of a severe incident is lifted. */
  restorationCriteria: z.array(z.strictObject({ id: Id, description: z.string().min(1) })).default([]),
  /** Severities whose restoration requires the criteria. */
  restorationRequiredFor: z.array(SeverityId).default([]),
});

export const CompliancePolicy = z.strictObject({
  /** Roles whose holders approve (and may edit) regulator reports before they are sent. */
  reportApprovers: z.array(Id).min(1),
  /** Points of each reporting window (fractions) at which approvers are reminded. */
  reminders: z.array(z.number().gt(0).lt(1)).default([0.5, 0.8]),
  /** Point of the window from which a report still unsent is at risk: approvers and the incident commander are paged. */
  atRisk: z.number().gt(0).lt(1).default(0.9),
});

export const Runbook = z.strictObject({
  /** Editors' JSON Schema hint; ignored by Correx. */
  $schema: z.string().optional(),
  system: AiSystem,
  severities: z.array(Severity).min(1),
  roles: z.array(Role).min(1),
  people: z.array(Person).min(1),
  /** On-call rotations escalation levels may target. */
  schedules: z.array(Schedule).default([]),
  /** Incidents at or above this severity (the runbook lists the most severe first) get a Matrix room with their responders. */
  incidentRoom: z.strictObject({ atOrAbove: SeverityId }).optional(),
  triggers: z.array(Trigger).default([]),
  monitoring: Monitoring.default({ evaluations: [], flapWindow: '30m' }),
  escalation: Escalation,
  decisionAuthority: z.partialRecord(CorrectionKind, DecisionAuthority),
  /** Per kind, who may lift a correction in force; a kind left out is lifted under its decisionAuthority (same roles, quorum, timeout and escalation). */
  liftAuthority: z.partialRecord(CorrectionKind, LiftAuthority).optional(),
  correctionPlaybook: z.record(SeverityId, z.array(PlaybookCorrection).min(1)).default({}),
  notifications: NotificationPolicy,
  postIncident: PostIncidentTemplate,
  /** Who owns regulator reports; required when notifications.regulators lists any regime. */
  compliance: CompliancePolicy.optional(),
});

export type Runbook = z.infer<typeof Runbook>;
export type AiSystem = z.infer<typeof AiSystem>;
export type DecisionAuthority = z.infer<typeof DecisionAuthority>;
export type DecisionRule = z.infer<typeof DecisionRule>;
export type LiftAuthority = z.infer<typeof LiftAuthority>;
export type LiftRule = z.infer<typeof LiftRule>;
export type Target = z.infer<typeof Target>;
export type EscalationTarget = z.infer<typeof EscalationTarget>;
export { correctionKinds };
