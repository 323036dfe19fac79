import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReviewRecord } from '../../services/review/schema.js';
import { listTimeline } from '../../services/timeline/repository.js';
import { runCorrex, type CliResult } from '../support/cli.js';
import { eventually } from '../support/database.js';
import { useIncidentStack } from '../support/stack.js';

const secret = 'decision-journey-webhook-secret-0123';

/**
 * The decisions of a SEV1 shutdown, end to end, as its people take them through the `correx` CLI (and
 * the API where the CLI has no say): lifting takes the same two people in two roles as applying did,
 * restoration evidence names only the runbook's criteria, each task is completed only by whom it
 * belongs to, the review starts from a template and completes its own task, and only the authority over
 * the shutdown signs the review off.
 */
describe('the decision journey of a SEV1 shutdown, through the CLI', () => {
  const stack = useIncidentStack({
    api: true,
    mailSink: true,
    controlEndpoint: { secret },
    runbooks: { 'frontier-assistant': { from: 'frontier-assistant', adjust: (runbook) => stack.routeToEndpoint(runbook, { enforcement: true }) } },
  });
  let dir: string;
  const tokens: Record<string, string> = {};
  let incident: { incidentId: string; workflowId: string };
  let correction: { correctionId: string; workflowId: string };
  const now = () => new Date().toISOString();

  /** `correx …` against the stack's API as a person of the runbook. */
  const as = (person: string, args: string[]) =>
    runCorrex([...args, '--server', stack.api.url], { CORREX_TOKEN: tokens[person]!, CORREX_CONFIG: path.join(dir, 'no-config.json'), CORREX_DATA_DIR: dir });
  const ok = (result: CliResult) => {
    expect(result.code, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`).toBe(0);
    return result.stdout;
  };
  const refused = (result: CliResult) => {
    expect(result.code, `stdout: ${result.stdout}\nstderr: ${result.stderr}`).toBe(5);
    return result.stderr.trim();
  };
  const correctionRow = () => stack.db.selectFrom('corrections').selectAll().where('id', '=', correction.correctionId).executeTakeFirstOrThrow();
  const timeline = () => listTimeline(stack.db, incident.incidentId);
  const restoration = ['--restoration', 'fix-deployed=weights store credentials rotated', '--restoration', 'evaluation-passed=access audit 2291 clean'];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'correx-decision-journey-'));
    const people: Record<string, ('responder' | 'approver')[]> = {
      'jonas-berg': ['responder', 'approver'],
      'li-wei': ['responder', 'approver'],
      'amara-okafor': ['responder'],
      'sofia-marquez': ['approver'],
      'daniel-cho': ['approver'],
      'priya-raman': ['approver'],
      'erik-lund': ['approver'],
    };
    for (const [person, roles] of Object.entries(people)) tokens[person] = await stack.api.token(person, roles);

    incident = await stack.clients.incidents.trigger(
      { systemId: 'frontier-assistant', title: 'Model weights read from an unknown host', severity: 'SEV1', dedupKey: 'decision-journey' },
      'amara-okafor',
      { runbookVersion: stack.runbookVersion() },
    );
    await eventually(() => stack.db.selectFrom('incidents').select('id').where('id', '=', incident.incidentId).executeTakeFirst());
    await stack.clients.incidents.acknowledge(incident.workflowId, { actor: 'jonas-berg', at: now() });
    correction = await stack.clients.incidents.propose(incident.workflowId, {
      actor: 'jonas-berg',
      at: now(),
      kind: 'shutdown',
      scope: { all: true },
      parameters: {},
      reason: 'Weights exfiltration suspected',
    });
    // Applying took two people in two roles: the head of safety and the CTO.
    await stack.clients.corrections.decide(correction.workflowId, { actor: 'daniel-cho', at: now(), decision: 'approve', rationale: 'Stop the bleed' });
    await stack.clients.corrections.decide(correction.workflowId, { actor: 'priya-raman', at: now(), decision: 'approve', rationale: 'Agreed' });
    await eventually(async () => {
      const live = await stack.clients.incidents.state(incident.workflowId);
      return live.corrections[0]?.state === 'active' ? live : undefined;
    });
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses restoration evidence for a criterion the runbook does not define, listing the ones it does', async () => {
    const bogus = await as('daniel-cho', [
      'correction',
      'lift',
      correction.correctionId,
      '--rationale',
      'Credentials rotated',
      ...restoration,
      '--restoration',
      'vibes-ok=the team feels good about it',
    ]);
    expect(refused(bogus)).toBe(
      "correx: restoration: 'vibes-ok' is not a restoration criterion of the runbook; its criteria are fix-deployed: A fix is deployed to the serving stack; evaluation-passed: The red-team evaluation that found the issue passes on the fixed model (HTTP 409)",
    );
    expect((await timeline()).filter((e) => e.kind === 'correction.lift_vote_given')).toHaveLength(0);
  });

  it('keeps a quorum-2 shutdown in force after one lift vote, saying who can give the second, and lifts it at the second from another role', async () => {
    const first = ok(await as('daniel-cho', ['correction', 'lift', correction.correctionId, '--rationale', 'Credentials rotated', ...restoration]));
    expect(first).toMatch(
      new RegExp(
        `^correction ${correction.correctionId}: lift vote recorded \\(1 of 2: daniel-cho as head-of-safety\\); still in force until 1 more lift vote from cto \\(priya-raman\\); if they have not voted by \\S+Z, one vote from ceo lifts it alone\\n$`,
      ),
    );
    // Recorded, and nothing else: the incident has handled the vote, the correction is still in force, the enforcer was not asked.
    await stack.settled(incident.workflowId);
    await stack.settled(correction.workflowId);
    expect((await stack.clients.corrections.state(correction.workflowId)).state).toBe('active');
    expect((await correctionRow()).lifted_at).toBeNull();
    expect(stack.endpoint.requests.filter((r) => r.correctionId === correction.correctionId && r.action === 'lift')).toHaveLength(0);
    const vote = (await timeline()).filter((e) => e.kind === 'correction.lift_vote_given');
    expect(vote.map((e) => [e.actor, e.data])).toEqual([
      [
        'daniel-cho',
        expect.objectContaining({
          correctionId: correction.correctionId,
          role: 'head-of-safety',
          rationale: 'Credentials rotated',
          votes: 1,
          quorum: 2,
          decided: false,
        }),
      ],
    ]);
    // The CTO is asked for the missing vote.
    const asked = await eventually(async () => stack.mail.to('priya.raman@meridian.example').find((m) => m.text.includes('voted to lift this correction')));
    expect(asked.text).toContain('daniel-cho (head-of-safety) voted to lift this correction: Credentials rotated. It comes off only with 1 more vote from cto');

    // Separation of duties and one vote per person and role, as for approving.
    const [again, ceo, proposer] = await Promise.all([
      as('daniel-cho', ['correction', 'lift', correction.correctionId, '--rationale', 'Really']),
      as('erik-lund', ['correction', 'lift', correction.correctionId, '--rationale', 'I decide']),
      as('jonas-berg', ['correction', 'lift', correction.correctionId, '--rationale', 'Mine to lift']),
    ]);
    expect(refused(again)).toBe('correx: daniel-cho has already voted to lift this correction (HTTP 409)');
    expect(refused(ceo)).toBe('correx: erik-lund (ceo) may not lift shutdown at SEV1: that needs one of head-of-safety, cto (HTTP 409)');
    expect(refused(proposer)).toBe('correx: jonas-berg proposed this correction and cannot lift it (separation of duties) (HTTP 409)');

    // The second vote, from the CTO, through the API: the answer says the lift is decided.
    const second = await stack.api.call('POST', `/v1/corrections/${correction.correctionId}/lift`, {
      token: tokens['priya-raman'],
      body: { rationale: 'Audit clean' },
    });
    expect(second.status, JSON.stringify(second.body)).toBe(200);
    expect(second.body.lift).toMatchObject({
      decided: true,
      quorum: 2,
      needed: 0,
      votes: [
        { actor: 'daniel-cho', role: 'head-of-safety' },
        { actor: 'priya-raman', role: 'cto' },
      ],
    });
    await eventually(async () => ((await correctionRow()).lifted_at ? true : undefined));
    expect(stack.endpoint.applied.filter((key) => key === `${correction.correctionId}:lift`)).toHaveLength(1);
    const events = await timeline();
    expect(events.filter((e) => e.kind === 'correction.lift_vote_given').map((e) => e.actor)).toEqual(['daniel-cho', 'priya-raman']);
    expect(events.find((e) => e.kind === 'correction.lift_decided')).toMatchObject({
      actor: 'priya-raman',
      data: {
        votes: [
          { actor: 'daniel-cho', role: 'head-of-safety' },
          { actor: 'priya-raman', role: 'cto' },
        ],
      },
    });
    // The evidence the first vote gave is the restoration on record.
    expect(events.find((e) => e.kind === 'incident.restoration_recorded')?.data).toMatchObject({
      criteria: [
        { criterion: 'fix-deployed', evidence: 'weights store credentials rotated', by: 'daniel-cho' },
        { criterion: 'evaluation-passed', evidence: 'access audit 2291 clean', by: 'daniel-cho' },
      ],
    });
  });

  let tasks: { id: string; title: string; owner: string; ownerRole: string; state: string }[];
  const task = (title: string) => tasks.find((t) => t.title.startsWith(title))!;

  it("has each task completed only by its owner, the commander or the owner role's manager, refusing anyone else with the reason", async () => {
    ok(await as('jonas-berg', ['incident', 'resolve', incident.incidentId, '--reason', 'Access path closed']));
    tasks = await eventually(async () => {
      const answer = await stack.api.call('GET', `/v1/tasks?incidentId=${incident.incidentId}`, { token: tokens['jonas-berg'] });
      return answer.body.items?.length === 4 ? answer.body.items : undefined;
    });
    expect(tasks.map((t) => [t.title.split(' ').slice(0, 3).join(' '), t.owner, t.ownerRole])).toEqual([
      ['Write the after-action', 'jonas-berg', 'incident-commander'],
      ['Attribute the root', 'sofia-marquez', 'safety-engineering-manager'],
      ['Add the failure', 'jonas-berg', 'on-call-engineer'],
      ['Propose runbook changes', 'daniel-cho', 'head-of-safety'],
    ]);

    // Amara is on call, but neither owns the root-cause task, nor leads the incident, nor manages its role.
    const outsider = await stack.api.call('POST', `/v1/tasks/${task('Attribute the root').id}/done`, { token: tokens['amara-okafor'], body: {} });
    expect(outsider.status).toBe(409);
    expect(outsider.body.detail).toBe(
      `amara-okafor may not complete task ${task('Attribute the root').id} (Attribute the root cause to a lifecycle stage and value-chain actor): that is for its owner (sofia-marquez), the incident commander (jonas-berg) or a holder of head-of-safety (the manager role of safety-engineering-manager)`,
    );
    const cli = await as('amara-okafor', ['task', 'done', task('Propose runbook changes').id, '--note', 'done for Daniel']);
    expect(refused(cli)).toMatch(
      /^correx: amara-okafor may not complete task .* that is for its owner \(daniel-cho\), the incident commander \(jonas-berg\) or a holder of ceo/,
    );

    // The owner, the commander and the manager each may.
    expect(ok(await as('sofia-marquez', ['task', 'done', task('Attribute the root').id, '--note', 'alignment gap']))).toMatch(/: done \(Attribute/);
    expect(ok(await as('jonas-berg', ['task', 'done', task('Propose runbook changes').id]))).toMatch(/: done \(Propose/);
    // Sofía manages the on-call engineers, whose evaluation task Jonas owns.
    expect(ok(await as('sofia-marquez', ['task', 'done', task('Add the failure').id]))).toMatch(/: done \(Add the failure/);
    const settled = await stack.db
      .selectFrom('tasks')
      .select(['title', 'state'])
      .where('incident_id', '=', incident.incidentId)
      .where('state', '=', 'done')
      .execute();
    expect(settled).toHaveLength(3);
  });

  it('prints a review template filled with the incident, which review submit accepts, completing the review task', async () => {
    const printed = ok(await as('jonas-berg', ['review', 'template', incident.incidentId]));
    const record = ReviewRecord.parse(parseYaml(printed));
    expect(printed).toMatch(
      new RegExp(`^# After-action review of incident ${incident.incidentId}\\n# Model weights read from an unknown host \\(frontier-assistant, SEV1\\)`),
    );
    expect(record.summary).toMatch(
      /^SEV1 incident on frontier-assistant: Model weights read from an unknown host\. Opened \S+Z by amara-okafor, acknowledged \S+Z \(commander jonas-berg\)/,
    );
    expect(record.summary).toMatch(/Corrections: shutdown \(lifted, in force from \S+Z to \S+Z; proposed by jonas-berg: Weights exfiltration suspected\)/);
    const notes = record.highlights.map((h) => h.note);
    expect(notes).toEqual(
      expect.arrayContaining([
        'Opened by amara-okafor at SEV1: Model weights read from an unknown host',
        'Acknowledged by jonas-berg, who led the incident as commander',
        'shutdown proposed by jonas-berg: Weights exfiltration suspected',
        'shutdown approved by daniel-cho and priya-raman',
        'Restoration recorded as met before the shutdown came off: fix-deployed (daniel-cho): weights store credentials rotated; evaluation-passed (daniel-cho): access audit 2291 clean',
        'Lifting the shutdown decided by daniel-cho and priya-raman: Audit clean',
        'Resolved by jonas-berg: Access path closed',
      ]),
    );
    const seqs = record.highlights.map((h) => h.seq!);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));

    // As printed, the template is accepted; the CLI says what is still to be written.
    const file = path.join(dir, 'review.yaml');
    await writeFile(file, printed);
    const submitted = await as('jonas-berg', ['review', 'submit', incident.incidentId, '--file', file]);
    expect(ok(submitted)).toBe(`review of ${incident.incidentId}: revision 1; task "Write the after-action review" done; 0 task(s) open\n`);
    expect(submitted.stderr).toBe('correx: the review still says TODO: in summary, impact, rootCause, attribution; submit it again once written\n');
    const written = await stack.db.selectFrom('tasks').selectAll().where('id', '=', task('Write the after-action review').id).executeTakeFirstOrThrow();
    expect(written).toMatchObject({ state: 'done', reason: 'completed by submitting the review (revision 1)' });
    expect((await timeline()).find((e) => e.kind === 'task.completed' && (e.data as { key: string }).key === 'write-review')?.actor).toBe('jonas-berg');

    // Written out and submitted again: a second revision, the task stays done once.
    await writeFile(file, (await readFile(file, 'utf8')).replaceAll('TODO: ', ''));
    const revised = await as('jonas-berg', ['review', 'submit', incident.incidentId, '--file', file]);
    expect(ok(revised)).toBe(`review of ${incident.incidentId}: revision 2; task "Write the after-action review" done; 0 task(s) open\n`);
    expect(revised.stderr).toBe('');
    expect((await timeline()).filter((e) => e.kind === 'task.completed' && (e.data as { key: string }).key === 'write-review')).toHaveLength(1);
  });

  it('refuses the sign-off of someone outside the authority over the shutdown at SEV1, and closes on the head of safety', async () => {
    // Li Wei may approve user restrictions, so belonged to "the decision authority at SEV1" before; not to the shutdown's.
    expect(refused(await as('li-wei', ['review', 'sign-off', incident.incidentId]))).toBe(
      'correx: li-wei may not sign this review off: that needs one of head-of-safety, cto, ceo (HTTP 409)',
    );
    expect(ok(await as('daniel-cho', ['review', 'sign-off', incident.incidentId]))).toBe(
      `review of ${incident.incidentId} signed off by daniel-cho (head-of-safety); the incident closes\n`,
    );
    await eventually(async () => ((await stack.clients.incidents.state(incident.workflowId)).state === 'closed' ? true : undefined));
  });
});
