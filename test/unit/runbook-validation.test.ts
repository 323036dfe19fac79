import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { effectiveRegimes } from '../../services/runbook/effective.js';
import { formatProblem, loadRunbookFile, loadRunbooks, maxRunbookBytes, parseRunbook } from '../../services/runbook/load.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
/** A project file as the loader and the CLI (run with cwd root) name it: relative, e.g. `runbooks/x.yaml`. */
const rel = (file: string) => path.relative(process.cwd(), path.join(root, file));
const brokenDir = 'test/fixtures/runbooks/broken';

describe('shipped runbooks', () => {
  it('all validate, one per system', async () => {
    const set = await loadRunbooks([rel('runbooks')]);
    expect(set.problems.map(formatProblem)).toEqual([]);
    expect([...set.runbooks.keys()].sort()).toEqual(['clinical-triage', 'credit-scoring', 'frontier-assistant']);
  });

  it("asks for the recipients of a report that goes to another authority than its regime's (SB 53's imminent-risk notice)", () => {
    const text = readFileSync(path.join(root, 'runbooks', 'frontier-assistant.yaml'), 'utf8');
    const without = text.replace(/\n {6}# Imminent risk[^\n]*\n {6}clockRecipients:\n {8}imminent-risk: [^\n]*/, '');
    expect(without).not.toBe(text);
    const result = parseRunbook(without, 'frontier-assistant.yaml');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map(formatProblem)).toEqual([
      expect.stringContaining(
        "notifications.regulators.1.clockRecipients: the imminent-risk report of 'us-ca-sb53' goes to an appropriate authority: a law enforcement or public safety agency, not to its regime's recipients: name them in clockRecipients.imminent-risk",
      ),
    ]);
  });

  it('credit-scoring: a deployer that rolls back to a previous vendor version and overrides DORA', async () => {
    const result = await loadRunbookFile(rel('runbooks/credit-scoring.yaml'));
    if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
    const { system, correctionPlaybook, notifications } = result.loaded.runbook;
    expect(system).toMatchObject({ valueChainRole: 'deployer', riskCategory: 'high-risk', enforcement: { adapter: 'webhook' } });
    const rollbacks = Object.values(correctionPlaybook)
      .flat()
      .filter((c) => c.kind === 'rollback');
    expect(rollbacks.length).toBeGreaterThan(0);
    for (const rollback of rollbacks) if (rollback.kind === 'rollback') expect(system.model.previousVersions).toContain(rollback.parameters.targetVersion);
    expect(notifications.regulators.map((r) => r.regime)).toEqual(expect.arrayContaining(['eu-ai-act-art26', 'dora-art19', 'gdpr-art33']));
    const dora = effectiveRegimes(result.loaded.runbook).find((r) => r.id === 'dora-art19')!;
    expect(dora.clocks.find((c) => c.id === 'initial')).toMatchObject({ deadline: '3h', start: 'classification' });
    expect(dora.clocks.find((c) => c.id === 'initial')?.latest).toEqual({ start: 'awareness', deadline: '24h' });
  });

  it('clinical-triage: two-role shutdown quorum, break-glass at SEV1, Art. 73 death and critical-infrastructure clocks', async () => {
    const result = await loadRunbookFile(rel('runbooks/clinical-triage.yaml'));
    if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
    const { decisionAuthority } = result.loaded.runbook;
    expect(decisionAuthority.shutdown).toMatchObject({ approverRoles: ['cmo', 'cmio'], quorum: 2, breakGlass: { allowed: false } });
    expect(decisionAuthority.shutdown?.severities.SEV1?.breakGlass).toEqual({ allowed: true, ratificationWindow: '1h' });
    const art73 = effectiveRegimes(result.loaded.runbook).find((r) => r.id === 'eu-ai-act-art73')!;
    expect(art73.clocks[0]?.sooner).toEqual(
      expect.arrayContaining([
        { classes: ['death'], deadline: '10d' },
        { classes: ['critical-infrastructure', 'widespread-infringement'], deadline: '2d' },
      ]),
    );
    expect(art73.recipient).toMatch(/Inspectie Gezondheidszorg en Jeugd/);
  });
});

describe('the minimal fixture every broken one copies', () => {
  it('is valid', async () => {
    const result = await loadRunbookFile(rel('test/fixtures/runbooks/minimal.yaml'));
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([]);
  });
});

interface BrokenCase {
  file: string;
  line: number;
  column: number;
  /** Dotted path of the problem; '' for YAML syntax errors. */
  path: string;
  /** The message, or its start when the rest is a long list that may grow. */
  message: string;
  /** Problems the one defect gives (1 unless noted). */
  count?: number;
}

const roles = 'on-call, approver, deputy-approver, executive';
const kinds = 'user_restriction, rate_limit, capability_restriction, use_case_restriction, rollback, shutdown';

const broken: BrokenCase[] = [
  {
    file: 'bad-duration.yaml',
    line: 55,
    column: 19,
    path: 'escalation.levels.0.ackTimeout',
    message: 'must be a positive duration such as 30s, 15m, 4h, 2d or 1h30m',
  },
  {
    file: 'bad-system-id.yaml',
    line: 4,
    column: 7,
    path: 'system.id',
    message: 'must be lowercase letters, digits and dashes (at most 63), e.g. assistant-prod',
  },
  {
    file: 'break-glass-without-ratification.yaml',
    line: 68,
    column: 17,
    path: 'decisionAuthority.shutdown.breakGlass',
    message: 'must be { allowed: false } or { allowed: true, ratificationWindow: <duration> }',
  },
  { file: 'duplicate-person-id.yaml', line: 44, column: 11, path: 'people.2.id', message: "duplicate person id 'ben' (first at people.1)" },
  { file: 'duplicate-severity-id.yaml', line: 33, column: 11, path: 'severities.2.id', message: "duplicate severity id 'SEV2' (first at severities.1)" },
  { file: 'duplicate-yaml-key.yaml', line: 6, column: 3, path: '', message: 'YAML syntax error: Map keys must be unique' },
  {
    file: 'escalation-role-nobody-holds.yaml',
    line: 54,
    column: 25,
    path: 'escalation.levels.0.targets.0.role',
    message: "nobody in people holds role 'deputy-approver', so nobody would be reached",
  },
  { file: 'invalid-email.yaml', line: 43, column: 40, path: 'people.1.email', message: 'must be an email address' },
  { file: 'invalid-enforcement-adapter.yaml', line: 20, column: 27, path: 'system.enforcement.adapter', message: 'adapter must be policy, webhook or dry-run' },
  {
    file: 'invalid-fallback-activation.yaml',
    line: 28,
    column: 31,
    path: 'system.consumers.0.fallback.activation.method',
    message: 'method must be webhook, email or manual',
  },
  {
    file: 'missing-consumer-fallback.yaml',
    line: 22,
    column: 7,
    path: 'system.consumers.0.fallback',
    message: 'every consumer needs a fallback: { description, activation }',
  },
  {
    file: 'override-unknown-clock.yaml',
    line: 88,
    column: 34,
    path: 'notifications.regulators.0.override.clocks.0.id',
    message: "regime 'gdpr-art33' has no clock 'early-warning' (initial)",
  },
  {
    file: 'playbook-kind-without-authority.yaml',
    line: 76,
    column: 13,
    path: 'correctionPlaybook.SEV1.1.kind',
    message: "no decisionAuthority for 'shutdown', so nobody could approve it",
  },
  {
    file: 'quorum-exceeds-approvers.yaml',
    line: 61,
    column: 13,
    path: 'decisionAuthority.rollback.quorum',
    message: 'must be at most the number of approver roles (2)',
  },
  {
    file: 'quorum-unmet-by-people.yaml',
    line: 66,
    column: 13,
    path: 'decisionAuthority.shutdown.quorum',
    message: 'quorum 2 cannot be met: at most 1 different people can approve with different approver roles',
  },
  {
    file: 'quorum-wrong-type.yaml',
    line: 61,
    column: 13,
    path: 'decisionAuthority.rollback.quorum',
    message: 'Invalid input: expected number, received string',
  },
  {
    file: 'rollback-target-not-previous-version.yaml',
    line: 74,
    column: 36,
    path: 'correctionPlaybook.SEV1.0.parameters.targetVersion',
    message: "'0.9' is not one of system.model.previousVersions (1.0)",
  },
  {
    file: 'undefined-severity-in-playbook.yaml',
    line: 71,
    column: 3,
    path: 'correctionPlaybook.SEV0',
    message: "severity 'SEV0' is not defined in severities (SEV1, SEV2, SEV3)",
  },
  {
    file: 'undefined-severity-in-trigger.yaml',
    line: 50,
    column: 15,
    path: 'triggers.0.severity',
    message: "severity 'SEV0' is not defined in severities (SEV1, SEV2, SEV3)",
  },
  {
    file: 'unknown-consumer-in-notifications.yaml',
    line: 84,
    column: 17,
    path: 'notifications.customers.consumers.0',
    message: "consumer 'branch-network' is not defined in system.consumers (loan-portal)",
  },
  { file: 'unknown-correction-kind-in-authority.yaml', line: 64, column: 3, path: 'decisionAuthority.kill_switch', message: "unknown field 'kill_switch'" },
  { file: 'unknown-correction-kind.yaml', line: 76, column: 13, path: 'correctionPlaybook.SEV1.1.kind', message: `kind must be one of ${kinds}` },
  { file: 'unknown-field.yaml', line: 56, column: 3, path: 'escalation.repaet', message: "unknown field 'repaet'" },
  {
    file: 'unknown-person-in-escalation.yaml',
    line: 54,
    column: 27,
    path: 'escalation.levels.0.targets.0.person',
    message: "person 'zoe' is not defined in people (ada, ben, cleo)",
  },
  {
    file: 'unknown-regime.yaml',
    line: 86,
    column: 15,
    path: 'notifications.regulators.0.regime',
    message: "unknown regime 'eu-gdpr' (known: eu-ai-act-art73, eu-ai-act-art26,",
  },
  {
    file: 'unknown-role-in-decision-authority.yaml',
    line: 63,
    column: 18,
    path: 'decisionAuthority.rollback.escalateTo.0',
    message: `role 'chief-executive' is not defined in roles (${roles})`,
  },
  { file: 'unknown-role-in-person.yaml', line: 43, column: 76, path: 'people.1.roles.1', message: `role 'auditor' is not defined in roles (${roles})` },
  {
    file: 'unknown-task-owner-role.yaml',
    line: 92,
    column: 70,
    path: 'postIncident.tasks.0.ownerRole',
    message: `role 'reviewer' is not defined in roles (${roles})`,
  },
  {
    file: 'escalate-to-role-nobody-holds.yaml',
    line: 63,
    column: 18,
    path: 'decisionAuthority.rollback.escalateTo.0',
    message: "nobody in people holds role 'deputy-approver', so an escalated decision would reach nobody",
  },
  {
    file: 'regime-does-not-apply.yaml',
    line: 86,
    column: 15,
    path: 'notifications.regulators.0.regime',
    message: "regime 'eu-ai-act-art73' does not apply to this system: it binds providers; this runbook's organisation is the deployer",
  },
  {
    file: 'override-clock-start-unknown.yaml',
    line: 88,
    column: 50,
    path: 'notifications.regulators.0.override.clocks.0.start',
    message: "regime 'gdpr-art33' has no clock 'early-warning' (initial)",
  },
  {
    file: 'quorum-unmet-by-matching.yaml',
    line: 66,
    column: 13,
    path: 'decisionAuthority.shutdown.quorum',
    message: 'quorum 3 cannot be met: at most 2 different people can approve with different approver roles',
  },
  {
    file: 'regulators-without-report-approvers.yaml',
    line: 86,
    column: 5,
    path: 'notifications.regulators',
    message: 'regulators are listed but compliance.reportApprovers is not: say who approves regulator reports',
  },
  { file: 'unresolved-yaml-alias.yaml', line: 42, column: 66, path: '', message: 'YAML alias *responders names no anchor defined before it' },
  { file: 'yaml-alias-bomb.yaml', line: 32, column: 10, path: '', message: 'YAML aliases expand too much (more than 100 uses)' },
  { file: 'yaml-syntax-error.yaml', line: 56, column: 3, path: '', message: 'YAML syntax error: Implicit map keys need to be followed by map values' },
  {
    file: 'role-own-manager.yaml',
    line: 37,
    column: 65,
    path: 'roles.1.manager',
    message: "role 'approver' is its own manager, so its overdue work would escalate back to it: name another role or leave manager out",
  },
  {
    file: 'manager-cycle.yaml',
    line: 37,
    column: 65,
    path: 'roles.1.manager',
    message: 'managers form a cycle (approver → executive → approver), so overdue work never reaches a role above them',
  },
  {
    file: 'manager-role-nobody-holds.yaml',
    line: 36,
    column: 59,
    path: 'roles.0.manager',
    message: "nobody in people holds role 'deputy-approver', so overdue work of 'on-call' would escalate to nobody",
  },
  {
    file: 'pagerduty-severity-never-sent.yaml',
    line: 49,
    column: 65,
    path: 'triggers.0.match.signalSeverities.1',
    message: "PagerDuty never sends severity 'high', so this never matches: its events carry critical, error, warning, info",
  },
  { file: 'duration-too-long.yaml', line: 55, column: 19, path: 'escalation.levels.0.ackTimeout', message: 'must be at most 3650d (10 years)' },
  {
    file: 'regulator-deadline-too-long.yaml',
    line: 88,
    column: 53,
    path: 'notifications.regulators.0.override.clocks.0.deadline',
    message: 'must be at most 10 years (3650 days, 120 months or 2610 business days)',
  },
  { file: 'invalid-utf8.yaml', line: 43, column: 28, path: '', message: 'invalid UTF-8 (byte 0xF6): save the file as UTF-8' },
  { file: 'byte-order-mark.yaml', line: 1, column: 1, path: '', message: 'the file starts with a byte-order mark (U+FEFF): save it as UTF-8 without BOM' },
];

describe('broken runbooks: one defect each, reported where it is', () => {
  it('every fixture in the folder has a case, and there are enough of them', () => {
    const files = readdirSync(path.join(root, brokenDir)).filter((name) => name.endsWith('.yaml'));
    expect(files.sort()).toEqual(broken.map((c) => c.file).sort());
    expect(files.length).toBeGreaterThanOrEqual(18);
  });

  for (const c of broken) {
    it(c.file, async () => {
      const file = rel(`${brokenDir}/${c.file}`);
      const result = await loadRunbookFile(file);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      const formatted = result.problems.map(formatProblem);
      expect(formatted, formatted.join('\n')).toHaveLength(c.count ?? 1);
      const [problem] = result.problems;
      expect(problem).toMatchObject({ file, line: c.line, column: c.column, path: c.path });
      expect(formatted[0]!.startsWith(`${file}:${c.line}:${c.column} ${c.path ? `${c.path}: ` : ''}${c.message}`), formatted[0]).toBe(true);
    });
  }
});

describe('runbook files Correx will not read', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'correx-runbooks-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('a file above 1 MiB is refused at 1:1 by its size, without being parsed', async () => {
    // 10 MiB of NUL bytes: a parse would report YAML errors, so a single size problem shows it was not parsed.
    const file = path.join(dir, 'huge.yaml');
    await writeFile(file, '');
    await truncate(file, 10 * 1024 * 1024);
    const result = await loadRunbookFile(file);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map(formatProblem)).toEqual([
      `${file}:1:1 the file is 10.0 MiB (10485760 bytes); a runbook may be at most 1 MiB, so it was not read: is this the right file?`,
    ]);
  });

  it('a valid runbook padded just past the cap is refused; one just under it loads', async () => {
    const minimal = readFileSync(path.join(root, 'test/fixtures/runbooks/minimal.yaml'), 'utf8');
    const padded = (size: number) => `${minimal}#${'x'.repeat(size - Buffer.byteLength(minimal) - 2)}\n`;
    const over = path.join(dir, 'over.yaml');
    const under = path.join(dir, 'under.yaml');
    await writeFile(over, padded(maxRunbookBytes + 1));
    await writeFile(under, padded(maxRunbookBytes));
    const refused = await loadRunbookFile(over);
    expect(refused.ok ? [] : refused.problems.map((p) => p.message)).toEqual([
      expect.stringMatching(/^the file is 1\.0 MiB \(1048577 bytes\); a runbook may be at most 1 MiB/),
    ]);
    const loaded = await loadRunbookFile(under);
    expect(loaded.ok ? [] : loaded.problems.map(formatProblem)).toEqual([]);
  });

  it("a byte-order mark is reported together with the file's other problems", async () => {
    const minimal = readFileSync(path.join(root, 'test/fixtures/runbooks/minimal.yaml'), 'utf8');
    const file = path.join(dir, 'bom-and-typo.yaml');
    await writeFile(file, `\ufeff${minimal.replace('ackTimeout: 5m', 'ackTimeout: soon')}`);
    const result = await loadRunbookFile(file);
    expect(result.ok ? [] : result.problems.map((p) => `${p.line}:${p.column} ${p.path}`)).toEqual(['1:1 ', '55:19 escalation.levels.0.ackTimeout']);
  });

  it('an invalid byte on the first line and a sequence cut at the end of the file are located', async () => {
    const first = path.join(dir, 'first-line.yaml');
    await writeFile(first, Buffer.concat([Buffer.from('\xff', 'latin1'), Buffer.from('system: {}\n')]));
    const cut = path.join(dir, 'cut.yaml');
    await writeFile(cut, Buffer.concat([Buffer.from('system:\n  name: Ab'), Buffer.from('😀', 'utf8').subarray(0, 3)]));
    for (const [file, expected] of [
      [first, '1:1 invalid UTF-8 (byte 0xFF)'],
      [cut, '2:11 invalid UTF-8 (byte 0xF0)'],
    ] as const) {
      const result = await loadRunbookFile(file);
      expect(result.ok ? [] : result.problems.map((p) => `${p.line}:${p.column} ${p.message}`)).toEqual([`${expected}: save the file as UTF-8`]);
    }
  });
});

describe('secrets a runbook names but this environment lacks: warnings, not problems', () => {
  const minimalFile = 'test/fixtures/runbooks/minimal.yaml';
  const minimal = readFileSync(path.join(root, minimalFile), 'utf8');
  const webhookEnforced = minimal.replace(
    'enforcement: { adapter: dry-run }',
    'enforcement: { adapter: webhook, url: https://bank.example/ai-control, secretEnv: LOAN_MODEL_WEBHOOK_SECRET }',
  );
  const webhookFallback = minimal
    .replace('  consumers:\n', '  fallbackSecretEnv: LOAN_PORTAL_FALLBACK_SECRET\n  consumers:\n')
    .replace(
      'activation: { method: manual, instructions: Switch the portal to the manual review queue }',
      'activation: { method: webhook, url: https://portal.bank.example/fallback }',
    );

  it('an unset enforcer secret is a located warning; the runbook still loads', () => {
    const result = parseRunbook(webhookEnforced, minimalFile, {});
    if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
    expect(result.warnings.map(formatProblem)).toEqual([
      `${minimalFile}:20:85 system.enforcement.secretEnv: environment variable LOAN_MODEL_WEBHOOK_SECRET is not set here: the webhook enforcer cannot sign its calls unless it is set where the workers run`,
    ]);
    expect(parseRunbook(webhookEnforced, minimalFile, { LOAN_MODEL_WEBHOOK_SECRET: '' })).toMatchObject({ ok: true, warnings: [expect.anything()] });
    expect(parseRunbook(webhookEnforced, minimalFile, { LOAN_MODEL_WEBHOOK_SECRET: 's3cret' })).toMatchObject({ ok: true, warnings: [] });
  });

  it('an unset fallback secret is a warning only when a consumer has a webhook fallback', () => {
    const result = parseRunbook(webhookFallback, minimalFile, {});
    expect(result.ok ? result.warnings.map(formatProblem) : result.problems.map(formatProblem)).toEqual([
      `${minimalFile}:21:22 system.fallbackSecretEnv: environment variable LOAN_PORTAL_FALLBACK_SECRET is not set here: consumers' webhook fallbacks cannot be signed unless it is set where the workers run`,
    ]);
    expect(parseRunbook(webhookFallback, minimalFile, { LOAN_PORTAL_FALLBACK_SECRET: 's3cret' })).toMatchObject({ ok: true, warnings: [] });
    const manualFallback = minimal.replace('  consumers:\n', '  fallbackSecretEnv: LOAN_PORTAL_FALLBACK_SECRET\n  consumers:\n');
    expect(parseRunbook(manualFallback, minimalFile, {})).toMatchObject({ ok: true, warnings: [] });
  });
});

describe('a broken runbook file takes down only its own system', () => {
  it('loads the other systems of the folder when one file has a YAML alias error', async () => {
    const set = await loadRunbooks([rel('runbooks'), rel(`${brokenDir}/unresolved-yaml-alias.yaml`), rel(`${brokenDir}/yaml-alias-bomb.yaml`)]);
    expect([...set.runbooks.keys()].sort()).toEqual(['clinical-triage', 'credit-scoring', 'frontier-assistant']);
    expect(set.problems.map((p) => path.basename(p.file))).toEqual(['unresolved-yaml-alias.yaml', 'yaml-alias-bomb.yaml']);
  });
});

describe('correx runbook validate', () => {
  const validateWith = (env: NodeJS.ProcessEnv, ...files: string[]) =>
    spawnSync(process.execPath, ['bin/correx.js', 'runbook', 'validate', ...files], { cwd: root, encoding: 'utf8', env });
  const validate = (...files: string[]) => validateWith(process.env, ...files);

  it.each(['quorum-exceeds-approvers.yaml', 'missing-consumer-fallback.yaml'])('exits 1 and prints the located problem for %s', (name) => {
    const c = broken.find((b) => b.file === name)!;
    const file = `${brokenDir}/${name}`;
    const result = validate(file);
    expect(result.status, result.stderr).toBe(1);
    expect(result.stdout).toContain(`${file}:${c.line}:${c.column} ${c.path}: ${c.message}\n`);
    expect(result.stdout).toContain('1 problem in 1 of 1 runbook file');
  });

  it('exits 0 for the shipped runbooks', () => {
    const files = ['runbooks/clinical-triage.yaml', 'runbooks/credit-scoring.yaml', 'runbooks/frontier-assistant.yaml'];
    const result = validate(...files);
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    for (const file of files) expect(result.stdout).toContain(`ok ${file} (`);
  });

  it('warns of a secret the runbook names but this environment lacks, and still exits 0', () => {
    const file = 'runbooks/credit-scoring.yaml';
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'CORREX_WEBHOOK_SECRET_CREDIT_SCORING'));
    const unset = validateWith(env, file);
    expect(unset.status, `${unset.stdout}\n${unset.stderr}`).toBe(0);
    expect(unset.stdout).toContain(
      `warning ${file}:27:16 system.enforcement.secretEnv: environment variable CORREX_WEBHOOK_SECRET_CREDIT_SCORING is not set here: the webhook enforcer cannot sign its calls unless it is set where the workers run\n`,
    );
    expect(unset.stdout).toContain(`ok ${file} (credit-scoring, `);
    const set = validateWith({ ...env, CORREX_WEBHOOK_SECRET_CREDIT_SCORING: 'from-the-vault' }, file);
    expect(set.status).toBe(0);
    expect(set.stdout).not.toContain('warning');
  });
});
