import { PagerDutySeverity } from '../ingest/pagerduty.js';
import type { Regime } from '../regulatory/regime.js';
import { applyRegimeOverride, availableRegimes } from '../regulatory/resolve.js';
import type { AiSystem, EscalationTarget, LiftRule, Runbook, Target } from './schema.js';

/** The severities a PagerDuty Events API v2 event can carry, as ingestion accepts them. */
const pagerDutySeverities: readonly string[] = PagerDutySeverity.options;

export interface RunbookIssue {
  path: (string | number)[];
  message: string;
  /** The defect is the key itself (an undefined severity used as a key), not its value. */
  atKey?: boolean;
}

/**
 * What a schema cannot see: every reference resolves (roles, people, severities, consumers,
 * regimes, correction kinds, clocks), ids are unique, and decision rules can be satisfied.
 */
export function crossCheck(runbook: Runbook): RunbookIssue[] {
  const issues: RunbookIssue[] = [];
  const report = (path: (string | number)[], message: string, atKey = false) => issues.push({ path, message, ...(atKey ? { atKey } : {}) });

  const unique = (list: { id: string }[], path: (string | number)[], what: string) => {
    const seen = new Map<string, number>();
    list.forEach((item, index) => {
      const first = seen.get(item.id);
      if (first !== undefined) report([...path, index, 'id'], `duplicate ${what} id '${item.id}' (first at ${[...path, first].join('.')})`);
      else seen.set(item.id, index);
    });
  };
  unique(runbook.severities, ['severities'], 'severity');
  unique(runbook.roles, ['roles'], 'role');
  unique(runbook.people, ['people'], 'person');
  unique(runbook.triggers, ['triggers'], 'trigger');
  unique(runbook.system.consumers, ['system', 'consumers'], 'consumer');
  unique(runbook.postIncident.tasks, ['postIncident', 'tasks'], 'task');
  unique(runbook.postIncident.restorationCriteria, ['postIncident', 'restorationCriteria'], 'restoration criterion');
  unique(runbook.notifications.customRegimes, ['notifications', 'customRegimes'], 'regime');

  const severities = new Set(runbook.severities.map((s) => s.id));
  const roles = new Set(runbook.roles.map((r) => r.id));
  const people = new Set(runbook.people.map((p) => p.id));
  const holders = (role: string) => runbook.people.filter((p) => p.roles.includes(role));
  const list = (values: Iterable<string>) => [...values].join(', ');

  const checkSeverity = (path: (string | number)[], id: string, atKey = false) => {
    if (!severities.has(id)) report(path, `severity '${id}' is not defined in severities (${list(severities)})`, atKey);
  };
  const checkRole = (path: (string | number)[], id: string) => {
    if (!roles.has(id)) report(path, `role '${id}' is not defined in roles (${list(roles)})`);
  };
  const schedules = new Set(runbook.schedules.map((s) => s.id));
  const checkTarget = (path: (string | number)[], target: Target | EscalationTarget) => {
    if ('schedule' in target) {
      if (!schedules.has(target.schedule)) report([...path, 'schedule'], `schedule '${target.schedule}' is not defined in schedules (${list(schedules)})`);
    } else if ('role' in target) {
      if (!roles.has(target.role)) report([...path, 'role'], `role '${target.role}' is not defined in roles (${list(roles)})`);
      else if (holders(target.role).length === 0) report([...path, 'role'], `nobody in people holds role '${target.role}', so nobody would be reached`);
    } else if (!people.has(target.person)) {
      report([...path, 'person'], `person '${target.person}' is not defined in people (${list(people)})`);
    }
  };

  runbook.roles.forEach((role, i) => {
    if (role.manager === undefined) return;
    const path = ['roles', i, 'manager'];
    if (!roles.has(role.manager)) checkRole(path, role.manager);
    else if (role.manager === role.id)
      report(path, `role '${role.id}' is its own manager, so its overdue work would escalate back to it: name another role or leave manager out`);
    else if (holders(role.manager).length === 0)
      report(path, `nobody in people holds role '${role.manager}', so overdue work of '${role.id}' would escalate to nobody`);
  });
  // A chain of managers must end at a role without one; a cycle is reported once, at its first role.
  const managerOf = new Map(runbook.roles.flatMap((r) => (r.manager !== undefined && r.manager !== r.id ? [[r.id, r.manager] as const] : [])));
  const inReportedCycle = new Set<string>();
  runbook.roles.forEach((role, i) => {
    if (inReportedCycle.has(role.id)) return;
    const chain = [role.id];
    for (let next = managerOf.get(role.id); next !== undefined; next = managerOf.get(next)) {
      if (next === role.id) {
        chain.forEach((id) => inReportedCycle.add(id));
        report(
          ['roles', i, 'manager'],
          `managers form a cycle (${[...chain, role.id].join(' → ')}), so overdue work never reaches a role above them: end the chain at a role without a manager`,
        );
        return;
      }
      if (chain.includes(next)) return;
      chain.push(next);
    }
  });
  runbook.people.forEach((person, i) => person.roles.forEach((role, j) => checkRole(['people', i, 'roles', j], role)));
  runbook.triggers.forEach((trigger, i) => {
    checkSeverity(['triggers', i, 'severity'], trigger.severity);
    // Only PagerDuty has a closed severity vocabulary; a word it cannot send makes that part of the match dead.
    if (trigger.match.sources?.every((source) => source === 'pagerduty')) {
      trigger.match.signalSeverities?.forEach((severity, j) => {
        if (!pagerDutySeverities.includes(severity)) {
          report(
            ['triggers', i, 'match', 'signalSeverities', j],
            `PagerDuty never sends severity '${severity}', so this never matches: its events carry ${pagerDutySeverities.join(', ')}`,
          );
        }
      });
    }
  });
  unique(runbook.monitoring.evaluations, ['monitoring', 'evaluations'], 'evaluation');
  if (runbook.monitoring.heartbeat) checkSeverity(['monitoring', 'heartbeat', 'severity'], runbook.monitoring.heartbeat.severity);
  runbook.escalation.levels.forEach((level, i) => level.targets.forEach((target, j) => checkTarget(['escalation', 'levels', i, 'targets', j], target)));
  unique(runbook.schedules, ['schedules'], 'schedule');
  runbook.schedules.forEach((schedule, i) => {
    unique(schedule.layers, ['schedules', i, 'layers'], 'layer');
    schedule.layers.forEach((layer, j) =>
      layer.members.forEach((member, k) => {
        if (!people.has(member)) report(['schedules', i, 'layers', j, 'members', k], `person '${member}' is not defined in people (${list(people)})`);
      }),
    );
    if (schedule.fallback !== undefined && !people.has(schedule.fallback))
      report(['schedules', i, 'fallback'], `person '${schedule.fallback}' is not defined in people (${list(people)})`);
  });
  if (runbook.incidentRoom) checkSeverity(['incidentRoom', 'atOrAbove'], runbook.incidentRoom.atOrAbove);

  const personById = new Map(runbook.people.map((p) => [p.id, p]));
  /** How many approvals distinct people holding distinct approver roles can give (bipartite matching). */
  const attainableQuorum = (approverRoles: string[]) => {
    const roleHolder = new Map<string, string>();
    const assign = (person: (typeof runbook.people)[number], seen: Set<string>): boolean => {
      for (const role of person.roles.filter((r) => approverRoles.includes(r))) {
        if (seen.has(role)) continue;
        seen.add(role);
        const holder = roleHolder.get(role);
        const holderPerson = holder === undefined ? undefined : personById.get(holder);
        if (!holderPerson || assign(holderPerson, seen)) {
          roleHolder.set(role, person.id);
          return true;
        }
      }
      return false;
    };
    for (const person of runbook.people) assign(person, new Set());
    return roleHolder.size;
  };
  const checkRule = (path: (string | number)[], rule: LiftRule, changed: { quorum: boolean; approverRoles: boolean; escalateTo: boolean }) => {
    if (changed.approverRoles) rule.approverRoles.forEach((role, i) => checkRole([...path, 'approverRoles', i], role));
    if (changed.escalateTo) {
      rule.escalateTo.forEach((role, i) => {
        if (!roles.has(role)) checkRole([...path, 'escalateTo', i], role);
        else if (holders(role).length === 0)
          report([...path, 'escalateTo', i], `nobody in people holds role '${role}', so an escalated decision would reach nobody`);
      });
    }
    if (!changed.quorum && !changed.approverRoles) return;
    const where = [...path, changed.quorum ? 'quorum' : 'approverRoles'];
    if (rule.quorum > rule.approverRoles.length) {
      report(where, `${changed.quorum ? '' : `quorum ${rule.quorum} `}must be at most the number of approver roles (${rule.approverRoles.length})`);
      return;
    }
    if (!rule.approverRoles.every((r) => roles.has(r))) return;
    const attainable = attainableQuorum(rule.approverRoles);
    if (attainable < rule.quorum) {
      report(where, `quorum ${rule.quorum} cannot be met: at most ${attainable} different people can approve with different approver roles`);
    }
  };
  /** A rule for applying (decisionAuthority) or lifting (liftAuthority) one kind, with its per-severity changes. */
  const checkAuthority = (base: (string | number)[], authority: LiftRule & { severities: Record<string, Partial<LiftRule>> }) => {
    checkRule(base, authority, { quorum: true, approverRoles: true, escalateTo: true });
    for (const [severity, change] of Object.entries(authority.severities)) {
      const path = [...base, 'severities', severity];
      checkSeverity(path, severity, true);
      const effective = { ...authority, ...Object.fromEntries(Object.entries(change).filter(([, v]) => v !== undefined)) } as LiftRule;
      checkRule(path, effective, {
        quorum: change.quorum !== undefined,
        approverRoles: change.approverRoles !== undefined,
        escalateTo: change.escalateTo !== undefined,
      });
    }
  };
  for (const [kind, authority] of Object.entries(runbook.decisionAuthority)) {
    if (authority) checkAuthority(['decisionAuthority', kind], authority);
  }
  for (const [kind, authority] of Object.entries(runbook.liftAuthority ?? {})) {
    if (!authority) continue;
    if (!runbook.decisionAuthority[kind as keyof Runbook['decisionAuthority']])
      report(['liftAuthority', kind], `no decisionAuthority for '${kind}', so no ${kind} correction is ever in force to lift`, true);
    checkAuthority(['liftAuthority', kind], authority);
  }

  for (const [severity, corrections] of Object.entries(runbook.correctionPlaybook)) {
    checkSeverity(['correctionPlaybook', severity], severity, true);
    corrections.forEach((correction, i) => {
      const path = ['correctionPlaybook', severity, i];
      if (!runbook.decisionAuthority[correction.kind]) {
        report([...path, 'kind'], `no decisionAuthority for '${correction.kind}', so nobody could approve it`);
      }
      if (correction.kind === 'rollback' && !runbook.system.model.previousVersions.includes(correction.parameters.targetVersion)) {
        report(
          [...path, 'parameters', 'targetVersion'],
          `'${correction.parameters.targetVersion}' is not one of system.model.previousVersions (${list(runbook.system.model.previousVersions) || 'none'})`,
        );
      }
    });
  }

  const consumers = new Set(runbook.system.consumers.map((c) => c.id));
  const signingSecret =
    runbook.system.fallbackSecretEnv ?? (runbook.system.enforcement.adapter === 'webhook' ? runbook.system.enforcement.secretEnv : undefined);
  runbook.system.consumers.forEach((consumer, i) => {
    if (consumer.fallback.activation.method === 'webhook' && !signingSecret) {
      report(
        ['system', 'consumers', i, 'fallback', 'activation'],
        'a webhook fallback needs a signing secret: set system.fallbackSecretEnv (or use the webhook enforcement adapter)',
      );
    }
  });
  const notifications = runbook.notifications;
  notifications.internal.targets.forEach((target, i) => checkTarget(['notifications', 'internal', 'targets', i], target));
  if (notifications.customers && notifications.customers.consumers !== 'all') {
    notifications.customers.consumers.forEach((id, i) => {
      if (!consumers.has(id))
        report(['notifications', 'customers', 'consumers', i], `consumer '${id}' is not defined in system.consumers (${list(consumers) || 'none'})`);
    });
  }

  const regimes = availableRegimes(notifications.customRegimes);
  notifications.customRegimes.forEach((regime, i) => {
    const builtIn = availableRegimes([]).has(regime.id);
    if (builtIn)
      report(['notifications', 'customRegimes', i, 'id'], `'${regime.id}' is a built-in regime: change it with an override in notifications.regulators`);
    const clockIds = new Set(regime.clocks.map((c) => c.id));
    regime.clocks.forEach((clock, j) => {
      const after = clock.start.startsWith('submitted:') ? clock.start.slice('submitted:'.length) : undefined;
      if (after !== undefined && !clockIds.has(after)) {
        report(['notifications', 'customRegimes', i, 'clocks', j, 'start'], `no clock '${after}' in regime '${regime.id}' (${list(clockIds)})`);
      }
    });
  });
  const seenRegimes = new Map<string, number>();
  notifications.regulators.forEach((policy, i) => {
    const path = ['notifications', 'regulators', i];
    const first = seenRegimes.get(policy.regime);
    if (first !== undefined) report([...path, 'regime'], `regime '${policy.regime}' is listed twice (first at notifications.regulators.${first})`);
    seenRegimes.set(policy.regime, i);
    const regime = regimes.get(policy.regime);
    if (!regime) {
      report([...path, 'regime'], `unknown regime '${policy.regime}' (known: ${list(regimes.keys())}; define others in notifications.customRegimes)`);
      return;
    }
    const clockIds = new Set(regime.clocks.map((c) => c.id));
    policy.override?.clocks?.forEach((clock, j) => {
      if (!clockIds.has(clock.id)) report([...path, 'override', 'clocks', j, 'id'], `regime '${regime.id}' has no clock '${clock.id}' (${list(clockIds)})`);
      const after = clock.start?.startsWith('submitted:') ? clock.start.slice('submitted:'.length) : undefined;
      if (after !== undefined && !clockIds.has(after))
        report([...path, 'override', 'clocks', j, 'start'], `regime '${regime.id}' has no clock '${after}' (${list(clockIds)})`);
    });
    const effective = applyRegimeOverride(regime, policy.override);
    for (const clockId of Object.keys(policy.clockRecipients ?? {}))
      if (!clockIds.has(clockId)) report([...path, 'clockRecipients', clockId], `regime '${regime.id}' has no clock '${clockId}' (${list(clockIds)})`);
    for (const clock of effective.clocks)
      if (clock.recipient && !policy.clockRecipients?.[clock.id])
        report(
          [...path, 'clockRecipients'],
          `the ${clock.id} report of '${regime.id}' goes to ${clock.recipient}, not to its regime's recipients: name them in clockRecipients.${clock.id}`,
        );
    const system = runbook.system;
    const mismatch = regimeMismatch(effective, system);
    if (mismatch)
      report([...path, 'regime'], `regime '${regime.id}' does not apply to this system: ${mismatch} (override the regime's fields if it applies all the same)`);
  });

  if (runbook.compliance) {
    runbook.compliance.reportApprovers.forEach((role, i) => {
      if (!roles.has(role)) checkRole(['compliance', 'reportApprovers', i], role);
      else if (holders(role).length === 0)
        report(['compliance', 'reportApprovers', i], `nobody in people holds role '${role}', so no report could be approved`);
    });
  } else if (notifications.regulators.length > 0) {
    report(['notifications', 'regulators'], 'regulators are listed but compliance.reportApprovers is not: say who approves regulator reports');
  }

  runbook.postIncident.tasks.forEach((task, i) => checkRole(['postIncident', 'tasks', i, 'ownerRole'], task.ownerRole));
  runbook.postIncident.restorationRequiredFor.forEach((severity, i) => checkSeverity(['postIncident', 'restorationRequiredFor', i], severity));
  if (runbook.postIncident.restorationRequiredFor.length > 0 && runbook.postIncident.restorationCriteria.length === 0) {
    report(['postIncident', 'restorationRequiredFor'], 'restoration is required for some severities but restorationCriteria is empty');
  }

  return issues;
}

/**
 * What depends on where the runbook is loaded, so it is a warning and never stops a runbook from
 * serving: the secrets it names must be set for the workers, and the process that validates (CI, the
 * API) may rightly not have them.
 */
export function environmentIssues(runbook: Runbook, env: NodeJS.ProcessEnv): RunbookIssue[] {
  const issues: RunbookIssue[] = [];
  const unset = (name: string) => !env[name];
  const { enforcement, fallbackSecretEnv, consumers } = runbook.system;
  if (enforcement.adapter === 'webhook' && unset(enforcement.secretEnv)) {
    issues.push({
      path: ['system', 'enforcement', 'secretEnv'],
      message: `environment variable ${enforcement.secretEnv} is not set here: the webhook enforcer cannot sign its calls unless it is set where the workers run`,
    });
  }
  if (fallbackSecretEnv !== undefined && unset(fallbackSecretEnv) && consumers.some((c) => c.fallback.activation.method === 'webhook')) {
    issues.push({
      path: ['system', 'fallbackSecretEnv'],
      message: `environment variable ${fallbackSecretEnv} is not set here: consumers' webhook fallbacks cannot be signed unless it is set where the workers run`,
    });
  }
  return issues;
}

/** Why a regime cannot apply to a system (its jurisdictions, sectors, value-chain role, risk category), or undefined. */
export function regimeMismatch(regime: Regime, system: AiSystem): string | undefined {
  // A national code (NL, US-CA) sits inside its region (EU, US) for matching purposes.
  const euMembers = [
    'AT',
    'BE',
    'BG',
    'HR',
    'CY',
    'CZ',
    'DK',
    'EE',
    'FI',
    'FR',
    'DE',
    'GR',
    'HU',
    'IE',
    'IT',
    'LV',
    'LT',
    'LU',
    'MT',
    'NL',
    'PL',
    'PT',
    'RO',
    'SK',
    'SI',
    'ES',
    'SE',
  ];
  const covers = (regimeJurisdiction: string, systemJurisdiction: string) =>
    regimeJurisdiction === systemJurisdiction ||
    systemJurisdiction.startsWith(`${regimeJurisdiction}-`) ||
    (regimeJurisdiction === 'EU' && euMembers.includes(systemJurisdiction)) ||
    (regimeJurisdiction === 'EEA' &&
      (systemJurisdiction === 'EU' || euMembers.includes(systemJurisdiction) || ['IS', 'LI', 'NO'].includes(systemJurisdiction)));
  if (!regime.jurisdictions.some((j) => system.jurisdictions.some((s) => covers(j, s)))) {
    return `it covers ${regime.jurisdictions.join(', ')}; the system operates in ${system.jurisdictions.join(', ')}`;
  }
  if (regime.sectors && !regime.sectors.some((s) => system.sectors.includes(s))) {
    return `it covers the sectors ${regime.sectors.join(', ')}; the system is in ${system.sectors.join(', ')}`;
  }
  if (regime.valueChainRoles && !regime.valueChainRoles.includes(system.valueChainRole)) {
    return `it binds ${regime.valueChainRoles.join(' or ')}s; this runbook's organisation is the ${system.valueChainRole}`;
  }
  if (regime.riskCategories && !regime.riskCategories.includes(system.riskCategory)) {
    return `it covers ${regime.riskCategories.join(', ')} systems; this one is ${system.riskCategory}`;
  }
  return undefined;
}
