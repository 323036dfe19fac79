import type { AuthorityRule, Person } from '../correction/authority.js';
import type { CorrectionKind } from '../correction/schema.js';
import { parseDuration } from '../duration.js';
import type { Regime } from '../regulatory/regime.js';
import { effectiveRegimes } from '../runbook/effective.js';
import type { DecisionAuthority, EscalationTarget, LiftRule, Runbook, Target } from '../runbook/schema.js';
import type { InternalEvent } from '../notification/kinds.js';

/** One escalation level: people named by role or id, and schedules whose on-call person is found at page time. */
export interface EscalationLevelPlan {
  people: Person[];
  /** Absent in plans made before schedules existed. */
  schedules?: string[];
  ackTimeoutMs: number;
}

export type EnforcementPlan = Runbook['system']['enforcement'];
export type DownstreamConsumerPlan = Runbook['system']['consumers'][number];

export interface RegimePlan {
  /** The regime with the runbook's override applied. */
  regime: Regime;
  recipients: string[];
  /** Clocks whose report goes to other recipients (SB 53's imminent-risk notice), by clock id. */
  clockRecipients?: Record<string, string[]>;
}

/**
 * What an incident's workflows need from its runbook version, resolved once by an activity (so the
 * workflows never parse durations or walk the runbook): people with their roles, the escalation
 * levels as people to page, every decision rule by kind and severity, and the enforcement adapter.
 */
export interface IncidentPlan {
  runbookVersion: string;
  systemId: string;
  systemName: string;
  severities: string[];
  people: Person[];
  escalation: { levels: EscalationLevelPlan[]; repeat: number };
  authority: AuthorityRule[];
  /**
   * Who may lift a correction, by kind and severity: the runbook's liftAuthority, or the kind's
   * decisionAuthority where it names none. Plans prepared before lifts took a quorum have none: their
   * corrections are lifted under `authority`.
   */
  lifting?: AuthorityRule[];
  enforcement: EnforcementPlan;
  /** Who hears of the incident's milestones, and which (the runbook's `notifications.internal`). */
  internal: { people: Person[]; events: InternalEvent[] };
  /** The consumers the runbook's notification policy tells of corrections (all of them by default). */
  consumers: DownstreamConsumerPlan[];
  /** What customer notices say beyond the correction itself: whom to contact, and the runbook's message per kind. */
  customers: { contact: { name: string; email: string }; messages: Partial<Record<CorrectionKind, string>> };
  /** Signs consumers' fallback webhooks. */
  fallbackSecretEnv: string | undefined;
  upstream: { notify: boolean; name: string; email: string };
  /** Regimes the runbook reports under (each applies to the system; classes decide per incident). */
  regimes: RegimePlan[];
  reportApprovers: Person[];
  reminders: number[];
  atRisk: number;
  /** Whether the namespace has Correx's search attributes, so the incident keeps them current. */
  searchAttributes?: boolean;
  /** The after-action review: the runbook's task template, and where overdue work of each role escalates. */
  review: {
    tasks: { templateId: string; title: string; ownerRole: string; dueAfterMs: number }[];
    managers: Record<string, string>;
  };
  /** What must be shown met before the last correction of an incident of these severities comes off. */
  restoration: { criteria: { id: string; description: string }[]; requiredFor: string[] };
}

const ms = (text: string) => parseDuration(text) ?? 0;

/** The people a list of targets (roles or people) names, each once, in the runbook's order. */
function holdersOfTargets(people: Person[], targets: (Target | EscalationTarget)[]): Person[] {
  const ids = new Set<string>();
  for (const target of targets) {
    if ('schedule' in target) continue;
    if ('person' in target) ids.add(target.person);
    else for (const p of people) if (p.roles.includes(target.role)) ids.add(p.id);
  }
  return people.filter((p) => ids.has(p.id));
}

const decidedBy = (rule: Pick<LiftRule, 'approverRoles' | 'quorum' | 'approvalTimeout' | 'escalateTo'>) => ({
  approverRoles: rule.approverRoles,
  quorum: rule.quorum,
  approvalTimeoutMs: ms(rule.approvalTimeout),
  escalateTo: rule.escalateTo,
});

/** A rule with its per-severity changes applied. */
function atSeverity<R extends { severities: Record<string, Partial<Omit<R, 'severities'>>> }>(base: R, severity: string): R {
  const change = Object.fromEntries(Object.entries(base.severities[severity] ?? {}).filter(([, v]) => v !== undefined));
  return { ...base, ...change };
}

export function planIncident(runbook: Runbook, runbookVersion: string): IncidentPlan {
  const people: Person[] = runbook.people.map((p) => ({
    id: p.id,
    name: p.name,
    email: p.email,
    roles: p.roles,
    ...(p.contacts ? { contacts: p.contacts } : {}),
  }));
  const levels = runbook.escalation.levels.map((level): EscalationLevelPlan => {
    const schedules = level.targets.flatMap((t) => ('schedule' in t ? [t.schedule] : []));
    return { people: holdersOfTargets(people, level.targets), ...(schedules.length ? { schedules } : {}), ackTimeoutMs: ms(level.ackTimeout) };
  });

  const authority: AuthorityRule[] = [];
  const lifting: AuthorityRule[] = [];
  for (const [kind, base] of Object.entries(runbook.decisionAuthority) as [CorrectionKind, DecisionAuthority | undefined][]) {
    if (!base) continue;
    const lift = runbook.liftAuthority?.[kind];
    for (const severity of runbook.severities.map((s) => s.id)) {
      const rule = atSeverity(base, severity);
      authority.push({
        kind,
        severity,
        ...decidedBy(rule),
        breakGlass: rule.breakGlass.allowed ? { allowed: true, ratificationWindowMs: ms(rule.breakGlass.ratificationWindow) } : { allowed: false },
      });
      lifting.push({ kind, severity, ...decidedBy(lift ? atSeverity(lift, severity) : rule), breakGlass: { allowed: false } });
    }
  }

  return {
    runbookVersion,
    systemId: runbook.system.id,
    systemName: runbook.system.name,
    severities: runbook.severities.map((s) => s.id),
    people,
    escalation: { levels, repeat: runbook.escalation.repeat },
    authority,
    lifting,
    enforcement: runbook.system.enforcement,
    internal: { people: holdersOfTargets(people, runbook.notifications.internal.targets), events: runbook.notifications.internal.events },
    consumers: runbook.system.consumers.filter((consumer) => {
      const notified = runbook.notifications.customers?.consumers ?? 'all';
      return notified === 'all' || notified.includes(consumer.id);
    }),
    customers: {
      contact: (({ name, email }) => ({ name: name ?? runbook.system.deployer.name, email }))(
        runbook.notifications.customers?.contact ?? runbook.system.deployer.contact,
      ),
      messages: runbook.notifications.customers?.messages ?? {},
    },
    fallbackSecretEnv:
      runbook.system.fallbackSecretEnv ?? (runbook.system.enforcement.adapter === 'webhook' ? runbook.system.enforcement.secretEnv : undefined),
    upstream: {
      notify: runbook.notifications.upstreamDeveloper.notify,
      name: runbook.system.upstreamDeveloper.name,
      email: runbook.system.upstreamDeveloper.contact.email,
    },
    regimes: runbook.notifications.regulators.flatMap((policy) => {
      const regime = effectiveRegimes(runbook).find((r) => r.id === policy.regime);
      if (!regime) return [];
      const clockRecipients = Object.fromEntries(Object.entries(policy.clockRecipients ?? {}).map(([id, contacts]) => [id, contacts.map((c) => c.email)]));
      return [{ regime, recipients: policy.recipients.map((r) => r.email), ...(policy.clockRecipients ? { clockRecipients } : {}) }];
    }),
    reportApprovers: people.filter((p) => p.roles.some((r) => runbook.compliance?.reportApprovers.includes(r))),
    reminders: runbook.compliance?.reminders ?? [0.5, 0.8],
    atRisk: runbook.compliance?.atRisk ?? 0.9,
    restoration: { criteria: runbook.postIncident.restorationCriteria, requiredFor: runbook.postIncident.restorationRequiredFor },
    review: {
      tasks: runbook.postIncident.tasks.map((t) => ({ templateId: t.id, title: t.title, ownerRole: t.ownerRole, dueAfterMs: ms(t.dueAfter) })),
      managers: Object.fromEntries(runbook.roles.flatMap((r) => (r.manager ? [[r.id, r.manager]] : []))),
    },
  };
}
