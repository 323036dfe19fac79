import type { AuthorityRule, Person } from '../correction/authority.js';
import type { CorrectionKind } from '../correction/schema.js';
import { parseDuration } from '../duration.js';
import type { Runbook } from '../runbook/schema.js';

export type EnforcementPlan = Runbook['system']['enforcement'];

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
  escalation: { levels: { people: Person[]; ackTimeoutMs: number }[]; repeat: number };
  authority: AuthorityRule[];
  enforcement: EnforcementPlan;
}

const ms = (text: string) => parseDuration(text) ?? 0;

export function planIncident(runbook: Runbook, runbookVersion: string): IncidentPlan {
  const people: Person[] = runbook.people.map((p) => ({ id: p.id, name: p.name, email: p.email, roles: p.roles }));
  const levels = runbook.escalation.levels.map((level) => {
    const ids = new Set<string>();
    for (const target of level.targets) {
      if ('person' in target) ids.add(target.person);
      else for (const p of people) if (p.roles.includes(target.role)) ids.add(p.id);
    }
    return { people: people.filter((p) => ids.has(p.id)), ackTimeoutMs: ms(level.ackTimeout) };
  });

  const authority: AuthorityRule[] = [];
  for (const [kind, base] of Object.entries(runbook.decisionAuthority) as [CorrectionKind, NonNullable<Runbook['decisionAuthority'][CorrectionKind]>][]) {
    if (!base) continue;
    for (const severity of runbook.severities.map((s) => s.id)) {
      const change = Object.fromEntries(Object.entries(base.severities[severity] ?? {}).filter(([, v]) => v !== undefined));
      const rule = { ...base, ...change } as typeof base;
      authority.push({
        kind,
        severity,
        approverRoles: rule.approverRoles,
        quorum: rule.quorum,
        approvalTimeoutMs: ms(rule.approvalTimeout),
        escalateTo: rule.escalateTo,
        breakGlass: rule.breakGlass.allowed ? { allowed: true, ratificationWindowMs: ms(rule.breakGlass.ratificationWindow) } : { allowed: false },
      });
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
    enforcement: runbook.system.enforcement,
  };
}
