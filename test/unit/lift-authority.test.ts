import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { planIncident } from '../../services/incident/plan.js';
import { formatProblem, parseRunbook } from '../../services/runbook/load.js';

const minimal = readFileSync(fileURLToPath(new URL('../fixtures/runbooks/minimal.yaml', import.meta.url)), 'utf8');
/** The minimal fixture with a liftAuthority section (YAML text) before its correctionPlaybook. */
const withLiftAuthority = (section: string) => minimal.replace(/^correctionPlaybook:/m, `${section}\ncorrectionPlaybook:`);
const parse = (text: string) => parseRunbook(text, 'runbook.yaml', {});

describe('liftAuthority: who may lift a correction, when it is not who may apply it', () => {
  it('is optional: without it each kind is lifted under its decisionAuthority, per severity', () => {
    const parsed = parse(minimal);
    if (!parsed.ok) throw new Error(parsed.problems.map(formatProblem).join('\n'));
    const plan = planIncident(parsed.loaded.runbook, 'v1');
    expect(plan.lifting).toEqual(plan.authority.map((rule) => ({ ...rule, breakGlass: { allowed: false } })));
  });

  it('gives a kind its own roles, quorum and escalation, with per-severity changes, and leaves the other kinds on their apply rule', () => {
    const parsed = parse(
      withLiftAuthority(
        [
          'liftAuthority:',
          '  shutdown:',
          '    approverRoles: [approver, executive]',
          '    quorum: 2',
          '    approvalTimeout: 1h',
          '    escalateTo: [executive]',
          '    severities:',
          '      SEV1: { quorum: 1, approvalTimeout: 10m }',
        ].join('\n'),
      ),
    );
    if (!parsed.ok) throw new Error(parsed.problems.map(formatProblem).join('\n'));
    const plan = planIncident(parsed.loaded.runbook, 'v1');
    const lift = (kind: string, severity: string) => plan.lifting!.find((r) => r.kind === kind && r.severity === severity);
    const apply = (kind: string, severity: string) => plan.authority.find((r) => r.kind === kind && r.severity === severity);
    expect(lift('shutdown', 'SEV2')).toEqual({
      kind: 'shutdown',
      severity: 'SEV2',
      approverRoles: ['approver', 'executive'],
      quorum: 2,
      approvalTimeoutMs: 3_600_000,
      escalateTo: ['executive'],
      breakGlass: { allowed: false },
    });
    expect(lift('shutdown', 'SEV1')).toMatchObject({ quorum: 1, approvalTimeoutMs: 600_000 });
    // Applying a shutdown is unchanged; a rollback is lifted as it is applied.
    expect(apply('shutdown', 'SEV2')).toMatchObject({ approverRoles: ['approver', 'deputy-approver'], quorum: 1 });
    expect(lift('rollback', 'SEV2')).toEqual({ ...apply('rollback', 'SEV2'), breakGlass: { allowed: false } });
  });

  it('has no break-glass: a correction in force is the safe state', () => {
    const parsed = parse(
      withLiftAuthority(
        [
          'liftAuthority:',
          '  shutdown:',
          '    approverRoles: [approver]',
          '    approvalTimeout: 1h',
          '    escalateTo: [executive]',
          '    breakGlass: { allowed: false }',
        ].join('\n'),
      ),
    );
    expect(parsed.ok ? [] : parsed.problems.map((p) => `${p.path}: ${p.message}`)).toEqual(["liftAuthority.shutdown.breakGlass: unknown field 'breakGlass'"]);
  });

  it('is cross-checked like decisionAuthority: roles that exist, a quorum that can be met, a kind that can be applied', () => {
    const parsed = parse(
      withLiftAuthority(
        [
          'liftAuthority:',
          '  shutdown:',
          '    approverRoles: [approver, auditor]',
          '    approvalTimeout: 1h',
          '    escalateTo: [executive]',
          '    severities:',
          '      SEV7: { quorum: 1 }',
          '  rollback:',
          '    approverRoles: [approver, deputy-approver]',
          '    quorum: 2',
          '    approvalTimeout: 1h',
          '    escalateTo: [executive]',
          '  rate_limit:',
          '    approverRoles: [approver]',
          '    approvalTimeout: 1h',
          '    escalateTo: [executive]',
        ].join('\n'),
      ),
    );
    expect(parsed.ok).toBe(false);
    const problems = parsed.ok ? [] : parsed.problems.map((p) => `${p.path}: ${p.message}`);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^liftAuthority\.shutdown\.approverRoles\.1: role 'auditor' is not defined in roles/),
        expect.stringMatching(/^liftAuthority\.shutdown\.severities\.SEV7: severity 'SEV7' is not defined in severities/),
        'liftAuthority.rollback.quorum: quorum 2 cannot be met: at most 1 different people can approve with different approver roles',
        "liftAuthority.rate_limit: no decisionAuthority for 'rate_limit', so no rate_limit correction is ever in force to lift",
      ]),
    );
    expect(problems).toHaveLength(4);
  });
});
