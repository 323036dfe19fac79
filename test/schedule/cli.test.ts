import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { runCorrex, type CliResult } from '../support/cli.js';
import { projectRoot } from '../support/environment.js';
import type { RunbookContent } from '../support/runbooks.js';
import { useIncidentStack } from '../support/stack.js';
import { primarySchedule } from './fixtures.js';

function ok(result: CliResult): string {
  expect(result.code, `exit ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`).toBe(0);
  return result.stdout;
}

describe('correx schedule', () => {
  const stack = useIncidentStack({
    api: true,
    runbookFiles: {
      'frontier-assistant': {
        from: 'frontier-assistant',
        adjust(runbook: RunbookContent) {
          runbook.schedules = [primarySchedule];
        },
      },
    },
  });
  const correx = async (args: string[]) =>
    runCorrex([...args, '--server', stack.api.url, '--token', await stack.api.token('jonas-berg', ['responder'])], {
      CORREX_CONFIG: '/nonexistent/config.json',
    });

  it('lists, shows and answers who is on call, in the schedule’s zone', async () => {
    expect(ok(await correx(['schedule', 'list']))).toMatch(
      /^ID\s+NAME\s+ZONE\s+SYSTEM\s+LAYERS\s+FALLBACK\nassistant-primary\s+Assistant primary\s+Europe\/Berlin\s+frontier-assistant\s+weekly\s+li-wei\n$/,
    );
    const show = ok(await correx(['schedule', 'show', 'assistant-primary']));
    expect(show).toMatch(/^schedule assistant-primary: Assistant primary\n/);
    expect(show).toContain('weekly: amara-okafor → jonas-berg, 1w shifts from 2027-03-15T09:00');
    expect(show).toContain('next two weeks (Europe/Berlin):');
    expect(ok(await correx(['schedule', 'on-call', 'assistant-primary', '--at', '2027-03-28T12:00:00Z']))).toBe(
      [
        'Jonas Berg (jonas-berg) is on call under Assistant primary at 2027-03-28T12:00:00.000Z',
        '  since  2027-03-22T08:00:00.000Z',
        '  until  2027-03-29T07:00:00.000Z',
        '  why    layer weekly',
        '',
      ].join('\n'),
    );
    const bad = await correx(['schedule', 'on-call', 'assistant-primary', '--at', 'tomorrow']);
    expect(bad.code).toBe(2);
  });

  it('makes and cancels an override, and a feed URL', async () => {
    const made = ok(
      await correx([
        'schedule',
        'override',
        'assistant-primary',
        '--person',
        'amara-okafor',
        '--from',
        '2027-03-27T08:00:00+01:00',
        '--to',
        '2027-03-28T08:00:00+02:00',
        '--reason',
        'Jonas away',
      ]),
    );
    const id = /^override ([0-9a-f-]{36}): Amara Okafor on call under assistant-primary from 2027-03-27T07:00:00.000Z until 2027-03-28T06:00:00.000Z\n$/.exec(
      made,
    )?.[1];
    expect(id).toBeDefined();
    expect(ok(await correx(['schedule', 'on-call', 'assistant-primary', '--at', '2027-03-27T12:00:00Z']))).toContain(
      'why    override by jonas-berg: Jonas away',
    );
    expect(ok(await correx(['schedule', 'cancel-override', 'assistant-primary', id!]))).toMatch(/^override .*: cancelled by jonas-berg/);
    const feed = await correx(['schedule', 'feed', 'assistant-primary']);
    expect(ok(feed)).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1\/calendar\/cal_[A-Za-z0-9_-]+\.ics\n$/);
    expect(feed.stderr).toMatch(/shown only this once/);
    expect(ok(await correx(['schedule', 'feed', '--person', 'jonas-berg']))).toMatch(/\/v1\/calendar\/cal_/);
  });
});

describe('correx runbook validate', () => {
  let dir: string;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('warns of spans no layer covers when a fallback covers them, and fails when nobody would be on call', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'correx-coverage-'));
    const minimal = parse(await readFile(path.join(projectRoot, 'test/fixtures/runbooks/minimal.yaml'), 'utf8')) as Record<string, unknown>;
    const business = {
      id: 'biz',
      name: 'Business',
      timeZone: 'Europe/Berlin',
      layers: [
        {
          id: 'day',
          members: ['ada', 'ben'],
          start: '2026-01-05T09:00',
          shift: '1w',
          restrictions: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '09:00', to: '17:00' }],
        },
      ],
    };
    await writeFile(path.join(dir, 'covered.yaml'), stringify({ ...minimal, schedules: [{ ...business, fallback: 'cleo' }] }));
    const covered = await runCorrex(['runbook', 'validate', path.join(dir, 'covered.yaml')]);
    expect(ok(covered)).toMatch(
      /^warning .*covered\.yaml:\d+:\d+ schedules\.0\.fallback: schedule 'biz': no layer covers \d+ spans of the next 4 weeks \(\d+h in all; the first .*\); the fallback cleo is on call then\nok /,
    );

    await writeFile(path.join(dir, 'bare.yaml'), stringify({ ...minimal, schedules: [business] }));
    const bare = await runCorrex(['runbook', 'validate', path.join(dir, 'bare.yaml')]);
    expect(bare.code).toBe(1);
    expect(bare.stdout).toMatch(
      /schedules\.0\.layers: schedule 'biz': nobody is on call for \d+ spans of the next 4 weeks .*: no layer covers them and there is no fallback\n1 problem in 1 of 1 runbook file\n$/,
    );
  });
});
