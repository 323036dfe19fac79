import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, runCorrex, startCorrex, type CliResult, type LongRunningCorrex } from '../support/cli.js';

/** stderr is exactly one `correx: …` line, without a stack trace. */
function oneLine(result: CliResult): string {
  const lines = result.stderr.trim().split('\n');
  expect(lines, `expected one line on stderr, got:\n${result.stderr}`).toHaveLength(1);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(lines[0]).toMatch(/^correx: /);
  return lines[0]!;
}

function ok(result: CliResult): string {
  expect(result.code, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`).toBe(0);
  return result.stdout;
}

const json = <T>(result: CliResult): T => JSON.parse(ok(result)) as T;

describe('correx CLI against correx dev: a SEV2 from trigger to a lifted correction', () => {
  let dataDir: string;
  let env: Record<string, string>;
  let api: string;
  let dev: LongRunningCorrex | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'correx-commands-'));
    const [temporalPort, uiPort, httpPort] = await freePorts(3);
    env = {
      CORREX_DATA_DIR: dataDir,
      TEMPORAL_DEV_PORT: String(temporalPort),
      TEMPORAL_UI_PORT: String(uiPort),
      CORREX_HTTP_PORT: String(httpPort),
      // No developer's profile file leaks in.
      CORREX_CONFIG: path.join(dataDir, 'no-such-config.json'),
    };
    api = `http://127.0.0.1:${httpPort}`;
    dev = startCorrex(['dev'], env);
    await dev.waitFor(/correx dev: press Ctrl-C to stop/);
  });
  afterAll(async () => {
    await dev?.stop('SIGKILL');
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  /** `correx …` in local mode (the local admin token), or as a person with `token`. */
  const correx = (args: string[], extra: Record<string, string> = {}) => runCorrex(args, { ...env, ...extra });
  const as = (token: string, args: string[]) => correx(args, { CORREX_TOKEN: token });

  const tokens: Record<string, string> = {};
  type Created = { secret: string; token: { id: string; prefix: string; owner: string; roles: string[] } };

  it('creates tokens for the runbook people through the API, with the local administrator token', async () => {
    const people = { 'amara-okafor': 'responder', 'sofia-marquez': 'approver', 'daniel-cho': 'approver' };
    const [human, ...created] = await Promise.all([
      correx(['token', 'create', '--owner', 'li-wei', '--role', 'responder,approver', '--expires-in', '1d']),
      ...Object.entries(people).map(async ([owner, role]) =>
        json<Created>(await correx(['token', 'create', '--owner', owner, '--role', role, '--description', 'commands test', '--json'])),
      ),
    ]);
    for (const [i, [owner, role]] of Object.entries(people).entries()) {
      expect(created[i]).toMatchObject({ secret: expect.stringMatching(/^crx_/), token: { owner, roles: [role] } });
      tokens[owner] = created[i]!.secret;
    }

    // Human output: the secret once, with the warning; then revoke it by prefix, and list.
    const text = ok(human!);
    const secret = /^(crx_\S+)$/m.exec(text)?.[1];
    const prefix = /prefix (crx_\S+)\)/.exec(text)?.[1];
    expect(secret).toBeDefined();
    expect(secret!.startsWith(prefix!)).toBe(true);
    expect(text).toContain('shown only once');
    expect(ok(await correx(['token', 'revoke', prefix!]))).toMatch(new RegExp(`^token ${prefix} of li-wei \\([0-9a-f-]{36}\\): revoked \\S+Z\\n$`));
    const [list, refused] = await Promise.all([correx(['token', 'list', '--include-revoked']), as(secret!, ['incident', 'list'])]);
    const rows = ok(list).split('\n');
    expect(rows[0]).toMatch(/^ID\s+PREFIX\s+KIND\s+OWNER\s+ROLES\s+CREATED\s+BY\s+EXPIRES\s+LAST USED\s+REVOKED\s+DESCRIPTION$/);
    // Created through the API with the local administrator's token, so by local-admin.
    expect(rows.find((row) => row.includes(prefix!))).toMatch(/\stoken\s+li-wei\s+responder,approver\s+\d+s ago\s+local-admin\s+\S+Z\s+never\s+\S+Z/);
    expect(rows.find((row) => row.includes('amara-okafor'))).toMatch(/\stoken\s+amara-okafor\s+responder\s.*\s-\s+commands test$/);
    expect(ok(list)).not.toContain(secret);
    expect(refused.code).toBe(3);
    expect(oneLine(refused)).toBe('correx: the token was revoked (HTTP 401); token from $CORREX_TOKEN');
  });

  let incidentId: string;
  let correctionId: string;
  /** Polls the API (not the CLI: each CLI run costs a process start) until the correction is in `state`. */
  const correctionState = async () => {
    const response = await fetch(`${api}/v1/corrections/${correctionId}`, { headers: { authorization: `Bearer ${tokens['sofia-marquez']}` } });
    return ((await response.json()) as { state: string }).state;
  };
  const waitForCorrection = async (state: string) => {
    const deadline = Date.now() + 45_000;
    let seen = '';
    while (Date.now() < deadline) {
      seen = await correctionState();
      if (seen === state) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`correction ${correctionId} did not become ${state} (last seen ${seen})`);
  };

  it('triggers, lists and acknowledges the incident, and proposes a rate limit', async () => {
    const amara = tokens['amara-okafor']!;
    const triggered = json<{ incidentId: string; joined: boolean }>(
      await as(amara, [
        'incident',
        'trigger',
        'frontier-assistant',
        '--title',
        'Jailbreak success rate above 2%',
        '--severity',
        'SEV2',
        '--dedup-key',
        'jailbreak-rate',
        '--json',
      ]),
    );
    expect(triggered.joined).toBe(false);
    incidentId = triggered.incidentId;

    const [list, again, ack] = await Promise.all([
      as(amara, ['incident', 'list', '--system', 'frontier-assistant', '--state', 'triggered,acknowledged']),
      as(amara, [
        'incident',
        'trigger',
        'frontier-assistant',
        '--title',
        'Jailbreak success rate above 2%',
        '--severity',
        'SEV2',
        '--dedup-key',
        'jailbreak-rate',
      ]),
      as(amara, ['incident', 'ack', incidentId, '--reason', 'on it']),
    ]);
    const table = ok(list).split('\n');
    expect(table[0]).toMatch(/^ID\s+SEVERITY\s+STATE\s+SYSTEM\s+AGE\s+TITLE$/);
    expect(table.find((line) => line.startsWith(incidentId))).toMatch(
      new RegExp(`^${incidentId}\\s+SEV2\\s+(triggered|acknowledged)\\s+frontier-assistant\\s+\\d+s\\s+Jailbreak success rate above 2%$`),
    );
    expect(ok(again)).toBe(`incident ${incidentId}: joined (an open incident with the same dedup key took this trigger)\n`);
    expect(ok(ack)).toBe(`incident ${incidentId}: acknowledged (commander amara-okafor)\n`);

    const proposed = json<{ correctionId: string }>(
      await as(amara, [
        'correction',
        'propose',
        incidentId,
        '--kind',
        'rate_limit',
        '--scope',
        '{"tiers":["free","trial"]}',
        '--param',
        'requestsPerMinute=10',
        '--param',
        'per=user',
        '--reason',
        'Slow automated jailbreak campaigns from unverified accounts',
        '--json',
      ]),
    );
    correctionId = proposed.correctionId;
    expect(correctionId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses a responder approving (3) and a vote outside the decision authority (5); fails with one line and an exit code scripts can trust', async () => {
    const amara = tokens['amara-okafor']!;
    const unknown = randomUUID();
    const [port] = await freePorts(1);
    const [responder, outsider, badFlag, badKind, missing, notFound, badInput, unreachable, noTask] = await Promise.all([
      as(amara, ['correction', 'approve', correctionId, '--rationale', 'looks right']),
      as(tokens['daniel-cho']!, ['correction', 'approve', correctionId, '--rationale', 'looks right']),
      as(amara, ['incident', 'list', '--limit', 'lots']),
      as(amara, ['correction', 'propose', incidentId, '--kind', 'nap', '--reason', 'x']),
      as(amara, ['incident', 'trigger', 'frontier-assistant', '--severity', 'SEV2']),
      as(amara, ['incident', 'show', unknown]),
      as(amara, ['incident', 'trigger', 'no-such-system', '--title', 'x', '--severity', 'SEV2']),
      correx(['incident', 'list', '--server', `http://127.0.0.1:${port}`, '--token', amara]),
      as(amara, ['task', 'done', unknown, '--note', 'x']),
    ]);
    expect(responder.code).toBe(3);
    expect(oneLine(responder)).toBe('correx: this needs one of the roles approver, admin; the token of amara-okafor has responder (HTTP 403)');
    expect(outsider.code).toBe(5);
    expect(oneLine(outsider)).toBe(
      'correx: daniel-cho (head-of-safety) may not decide on rate_limit at SEV2: that needs one of safety-engineering-manager (HTTP 409)',
    );
    expect(badFlag.code).toBe(2);
    expect(oneLine(badFlag)).toBe('correx: invalid input: --limit: must be a number');
    expect(badKind.code).toBe(2);
    expect(oneLine(badKind)).toMatch(/^correx: invalid input: --kind: kind must be one of user_restriction, rate_limit/);
    expect(missing.code).toBe(2);
    expect(oneLine(missing)).toBe("correx: required option '--title <title>' not specified (run with --help for usage)");
    expect(notFound.code).toBe(4);
    expect(oneLine(notFound)).toBe(`correx: no incident ${unknown} (HTTP 404)`);
    expect(badInput.code).toBe(2);
    expect(oneLine(badInput)).toMatch(/^correx: body\.systemId: no runbook defines system 'no-such-system' .*\(HTTP 400\)$/);
    expect(unreachable.code).toBe(1);
    expect(oneLine(unreachable)).toBe(`correx: cannot reach Correx at http://127.0.0.1:${port}: connection refused`);
    expect(noTask.code).toBe(4);
    expect(oneLine(noTask)).toBe(`correx: no task ${unknown} (HTTP 404)`);
    expect(await correctionState()).toBe('proposed');
  });

  it('is approved by the safety engineering manager, goes active, and is lifted with the restoration criteria', async () => {
    const sofia = tokens['sofia-marquez']!;
    expect(ok(await as(sofia, ['correction', 'approve', correctionId, '--rationale', 'Contained and reversible']))).toMatch(
      new RegExp(`^correction ${correctionId}: (approved|applying|active) \\(1 of 1 approval\\)\\n$`),
    );
    await waitForCorrection('active');

    const lift = ['correction', 'lift', correctionId, '--rationale', 'Campaign over; fix deployed'];
    const early = await as(sofia, [...lift, '--restoration', 'fix-deployed=deploy 4821']);
    expect(early.code).toBe(5);
    expect(oneLine(early)).toBe(
      'correx: lifting the last correction of a SEV2 incident restores service: record the restoration criteria as met first (missing: evaluation-passed: The red-team evaluation that found the issue passes on the fixed model) (HTTP 409)',
    );
    const lifted = await as(sofia, [
      ...lift,
      '--restoration',
      'fix-deployed=deploy 4821 of the jailbreak classifier',
      '--restoration',
      'evaluation-passed=red-team run 77: 0 of 400 probes succeeded',
    ]);
    expect(ok(lifted)).toMatch(new RegExp(`^correction ${correctionId}: (lifting|lifted) \\(incident ${incidentId} is \\w+\\)\\n$`));
    await waitForCorrection('lifted');
  });

  it('resolves the incident, whose corrections and timeline show the whole story', async () => {
    const amara = tokens['amara-okafor']!;
    expect(ok(await as(amara, ['incident', 'resolve', incidentId, '--reason', 'fixed and verified']))).toBe(
      `incident ${incidentId}: resolved (commander amara-okafor)\n`,
    );

    const [human, machine, reports, tasks] = await Promise.all([
      as(amara, ['incident', 'show', incidentId]),
      as(amara, ['incident', 'show', incidentId, '--json']),
      as(amara, ['report', 'list', incidentId]),
      as(amara, ['task', 'list', '--incident', incidentId, '--json']),
    ]);
    const text = ok(human);
    expect(text).toMatch(new RegExp(`^incident ${incidentId}  SEV2  resolved\\n`));
    expect(text).toMatch(/^ {2}commander\s+amara-okafor$/m);
    expect(text).toMatch(/^ {2}paging\s+stopped by amara-okafor (after \d+ pages?|before anyone was paged)$/m);
    expect(text).toMatch(new RegExp(`^${correctionId}\\s+rate_limit\\s+lifted\\s+no\\s+amara-okafor\\s`, 'm'));
    expect(text).toMatch(/^SEQ\s+TIME\s+ACTOR\s+KIND$/m);
    expect(text).toMatch(/^1\s+\S+Z\s+amara-okafor\s+incident\.opened$/m);
    expect(text).toMatch(/\s+sofia-marquez\s+correction\.approval_given$/m);
    expect(text).toMatch(/\s+sofia-marquez\s+incident\.restoration_recorded$/m);

    const shown = JSON.parse(ok(machine)) as {
      id: string;
      state: string;
      commander: string;
      corrections: { id: string; state: string }[];
      timeline: { seq: number; kind: string }[];
    };
    expect(shown).toMatchObject({ id: incidentId, state: 'resolved', commander: 'amara-okafor', corrections: [{ id: correctionId, state: 'lifted' }] });
    expect(shown.timeline.map((e) => e.seq)).toEqual(shown.timeline.map((_, i) => i + 1));
    const kinds = shown.timeline.map((e) => e.kind);
    for (const kind of [
      'incident.opened',
      'incident.acknowledged',
      'correction.proposed',
      'correction.approved',
      'correction.applied',
      'correction.lifted',
      'incident.resolved',
    ]) {
      expect(kinds, kind).toContain(kind);
    }
    expect(ok(reports)).toMatch(/^no regulator reports/);
    expect(json<{ items: unknown[] }>(tasks)).toEqual({ items: expect.any(Array) });
  });

  it('follows up: lists the review tasks, submits the review with its attribution, completes the tasks and signs off, closing the incident', async () => {
    const amara = tokens['amara-okafor']!;
    const tasks = json<{ items: { id: string; title: string; owner: string; state: string }[] }>(
      await as(amara, ['task', 'list', '--incident', incidentId, '--json']),
    ).items;
    expect(tasks.map((t) => t.state)).toEqual(['open', 'open', 'open', 'open']);
    expect(ok(await as(amara, ['task', 'list', '--incident', incidentId]))).toMatch(/Write the after-action review/);

    const reviewFile = path.join(dataDir, 'review.yaml');
    await writeFile(
      reviewFile,
      [
        'summary: Automated jailbreak campaign from free accounts',
        'impact: Policy-violating output to about 300 users',
        'rootCause: The safety classifier missed a new obfuscation',
        'attribution:',
        '  - { stage: alignment-safety-tuning, actor: upstream-developer, confidence: high, evidence: [{ description: red-team replay }] }',
      ].join('\n'),
    );
    // Submitting the review completes the runbook's task of writing it.
    expect(ok(await as(amara, ['review', 'submit', incidentId, '--file', reviewFile]))).toMatch(
      /revision 1; task "Write the after-action review" done; 3 task\(s\) open/,
    );
    const refused = await as(tokens['sofia-marquez']!, ['review', 'sign-off', incidentId]);
    expect(refused.code).toBe(5);
    expect(oneLine(refused)).toMatch(/3 tasks are still open/);
    // Amara leads the incident, so she may complete any of its tasks.
    for (const task of tasks.filter((t) => !t.title.startsWith('Write the after-action review')))
      expect(ok(await as(amara, ['task', 'done', task.id, '--note', 'done in the CLI test']))).toMatch(/: done /);
    expect(ok(await as(tokens['sofia-marquez']!, ['review', 'sign-off', incidentId]))).toMatch(
      /signed off by sofia-marquez \(safety-engineering-manager\); the incident closes/,
    );
    const closed = json<{ state: string }>(await as(amara, ['incident', 'show', incidentId, '--json']));
    expect(['closed', 'resolved']).toContain(closed.state);
    expect(ok(await as(amara, ['review', 'attributions']))).toMatch(/alignment-safety-tuning\s+upstream-developer\s+1\s+1/);
  });

  it('runs a drill of a shipped runbook as the people the real incident needs, and prints each step as it finishes', async () => {
    // Nobody of the hospital's runbook has a token yet: a real incident could not be led or decided, so
    // neither can its drill, which says whose token is missing and how to make one.
    const refused = await correx(['drill', 'clinical-triage']);
    expect(refused.code, refused.stdout + refused.stderr).toBe(1);
    expect(refused.stdout + refused.stderr).toMatch(
      /nobody in the runbook holds a token that may acknowledge.*correx token create --owner \S+ --role responder/,
    );

    const people = [
      'joost-kramer',
      'ingrid-schouten',
      'mehmet-yilmaz',
      'noor-el-amrani',
      'bas-verhoeven',
      'willemijn-hendriks',
      'frank-dekker',
      'hanneke-vermeulen',
    ];
    for (const owner of people) ok(await correx(['token', 'create', '--owner', owner, '--role', 'responder,approver', '--description', 'drill rehearsal']));
    // With the people's tokens it runs every step, through the real notice and fallback code. This
    // `correx dev` has no CORREX_FALLBACK_SECRET_CLINICAL_TRIAGE, so the kiosks' webhook fallback fails
    // as it would in a real incident, and the drill says so rather than passing.
    const run = await correx(['drill', 'clinical-triage']);
    const drill = run.stdout;
    expect(run.code, run.stdout + run.stderr).toBe(1);
    expect(drill).toMatch(/^drill [0-9a-f-]{36} of clinical-triage started$/m);
    expect(drill).toMatch(/^\s+\d+ ms\s+trigger/m);
    expect(drill).toMatch(/^\s+\d+ ms\s+sign off \(/m);
    expect(drill).toMatch(/notice in force: Emergency department \(SEH\) triage desk .*: written to the drill outbox \S+ as \S+\.eml, not sent$/m);
    expect(drill).toMatch(
      /fallback on: ED self check-in kiosks .* FAILED: no secret to sign the fallback webhook of check-in-kiosks: CORREX_FALLBACK_SECRET_CLINICAL_TRIAGE/m,
    );
    expect(drill).toMatch(/^drill FAILED: fallback on: ED self check-in kiosks/m);
    expect(drill).toMatch(
      /^touched: no enforcer \(the dry-run enforcer stood in\);.*mail written to the drill outbox \S+, not sent; no regulator clock started$/m,
    );
  });

  it('reads the server and token from a profile file, validated, and says how to get a token when there is none', async () => {
    const config = path.join(dataDir, 'config.json');
    await writeFile(config, JSON.stringify({ profiles: { default: { server: 'http://127.0.0.1:9' }, ops: { server: api, token: tokens['sofia-marquez'] } } }));
    // Without a data folder holding the local token, nothing supplies one.
    const elsewhere = { CORREX_CONFIG: config, CORREX_DATA_DIR: path.join(dataDir, 'empty') };
    const [profiled, none, broken] = await Promise.all([
      correx(['incident', 'list', '--profile', 'ops', '--json'], elsewhere),
      correx(['incident', 'list'], elsewhere),
      writeFile(path.join(dataDir, 'broken.json'), JSON.stringify({ profiles: { default: { server: 'ftp://x', tokn: 'crx_x' } } })).then(() =>
        correx(['incident', 'list'], { CORREX_CONFIG: path.join(dataDir, 'broken.json') }),
      ),
    ]);
    expect(json<{ items: { id: string }[] }>(profiled).items.map((i) => i.id)).toContain(incidentId);
    expect(none.code).toBe(3);
    expect(oneLine(none)).toMatch(
      /^correx: no API token for http:\/\/127\.0\.0\.1:9: pass --token, set CORREX_TOKEN, or add "token" to profile 'default' in .*config\.json$/,
    );
    expect(broken.code).toBe(1);
    const line = oneLine(broken);
    expect(line).toContain(`invalid profile file ${path.join(dataDir, 'broken.json')}: `);
    expect(line).toContain('profiles.default.server: must be an http:// or https:// URL');
    expect(line).toMatch(/profiles\.default: Unrecognized key: "tokn"/);
  });

  it('makes a token directly in the embedded database once the server is stopped (token create --direct)', async () => {
    expect(await dev!.stop('SIGINT')).toBe(0);
    const created = json<Created>(await correx(['token', 'create', '--direct', '--owner', 'ops-admin', '--role', 'admin', '--json']));
    expect(created.token).toMatchObject({ owner: 'ops-admin', roles: ['admin'] });
    const listed = ok(await correx(['token', 'list', '--direct']));
    expect(listed).toMatch(/ops-admin\s+admin/);
    // Written straight into the database: its creator is the operating-system user who ran it.
    expect(listed).toMatch(/ops-admin\s+admin\s+\d+s ago\s+direct:\S+/);
    expect(listed).toMatch(/amara-okafor\s+responder/);
  });
});
