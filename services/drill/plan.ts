import { findRule } from '../correction/authority.js';
import type { CorrectionKind } from '../correction/schema.js';
import { planIncident } from '../incident/plan.js';
import type { Runbook } from '../runbook/schema.js';
import type { DrillPlan, DrillScenario } from './schema.js';

export type { DrillPlan };

export class DrillCannotRun extends Error {
  override readonly name = 'DrillCannotRun';
}

/** Casts the drill from the runbook; a runbook whose authority cannot be satisfied by its people cannot be drilled. */
export function planDrill(runbook: Runbook, runbookVersion: string, scenario: DrillScenario): DrillPlan {
  const plan = planIncident(runbook, runbookVersion);
  const severity = scenario.severity ?? runbook.severities[1]?.id ?? runbook.severities[0]!.id;
  if (!plan.severities.includes(severity)) throw new DrillCannotRun(`severity ${severity} is not one of ${plan.severities.join(', ')}`);
  const playbook = (
    runbook.correctionPlaybook as
      Record<string, { kind: CorrectionKind; scope: Record<string, unknown>; parameters?: Record<string, unknown>; reason: string }[]> | undefined
  )?.[severity]?.[0];
  const correction = scenario.correction ?? (playbook ? { ...playbook, parameters: playbook.parameters ?? {} } : undefined);
  if (!correction) throw new DrillCannotRun(`the runbook has no correction playbook for ${severity}; give one in the scenario`);
  const rule = findRule(plan.authority, correction.kind, severity);
  if (!rule) throw new DrillCannotRun(`the runbook's decision authority has no rule for ${correction.kind} at ${severity}`);

  const commander =
    plan.escalation.levels.flatMap((l) => l.people).find((p) => !rule.approverRoles.some((r) => p.roles.includes(r))) ??
    plan.escalation.levels[0]?.people[0] ??
    plan.people[0]!;
  const approvers: string[] = [];
  const counted = new Set<string>();
  for (const person of plan.people) {
    if (approvers.length >= rule.quorum || person.id === commander.id) continue;
    const fresh = person.roles.find((r) => rule.approverRoles.includes(r) && !counted.has(r));
    if (fresh) {
      approvers.push(person.id);
      counted.add(fresh);
    }
  }
  if (approvers.length < rule.quorum)
    throw new DrillCannotRun(
      `${rule.quorum} approvers with different roles of ${rule.approverRoles.join(', ')} are needed for ${correction.kind} at ${severity}; the runbook has ${approvers.length}`,
    );
  const liftRoles = [...rule.approverRoles, ...rule.escalateTo];
  const lifter = plan.people.find((p) => p.roles.some((r) => liftRoles.includes(r)))!;
  const signOffRoles = new Set(plan.authority.filter((r) => r.severity === severity).flatMap((r) => [...r.approverRoles, ...r.escalateTo]));
  const signOff = plan.people.find((p) => p.roles.some((r) => signOffRoles.has(r)));
  if (!signOff) throw new DrillCannotRun(`nobody in the runbook may sign a ${severity} review off`);
  return {
    systemId: plan.systemId,
    runbookVersion,
    title: scenario.title ?? `Drill: ${correction.reason}`,
    severity,
    commander: commander.id,
    correction,
    approvers,
    lifter: lifter.id,
    restoration: plan.restoration.criteria.map((c) => ({ criterion: c.id, evidence: `drill: rehearsed (${c.description})` })),
    signOff: signOff.id,
  };
}
