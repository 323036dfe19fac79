import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { RunbookCatalogue } from '../../services/runbook/catalogue.js';
import { formatProblem } from '../../services/runbook/load.js';
import { projectRoot } from '../support/environment.js';

describe('schedule ids across runbooks', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'correx-schedules-'));
    const minimal = parse(await readFile(path.join(projectRoot, 'test/fixtures/runbooks/minimal.yaml'), 'utf8')) as Record<string, unknown> & {
      system: { id: string };
    };
    const schedule = {
      id: 'primary',
      name: 'Primary',
      timeZone: 'Europe/Berlin',
      layers: [{ id: 'weekly', members: ['ada'], start: '2027-01-04T09:00', shift: '1w' }],
    };
    await writeFile(path.join(dir, 'a.yaml'), stringify({ ...minimal, schedules: [schedule] }));
    await writeFile(
      path.join(dir, 'b.yaml'),
      stringify({ ...minimal, system: { ...minimal.system, id: 'other-model' }, schedules: [{ ...schedule, name: 'Another' }] }),
    );
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('are unique: a second runbook defining one is a problem naming both files', async () => {
    const catalogue = new RunbookCatalogue(dir);
    try {
      const set = await catalogue.current();
      expect([...set.runbooks.keys()]).toEqual(['loan-model']);
      expect(set.problems.map(formatProblem)).toEqual([
        expect.stringMatching(
          new RegExp(
            `^${path.join(dir, 'b.yaml')}:\\d+:\\d+ schedules\\.0\\.id: schedule 'primary' is already defined in ${path.join(dir, 'a.yaml')} \\(system 'loan-model'\\): schedule ids must be unique across all runbooks$`,
          ),
        ),
      ]);
    } finally {
      catalogue.close();
    }
  });
});
