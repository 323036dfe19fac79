import { copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { RunbookCatalogue, type CatalogueTiming } from '../../services/runbook/catalogue.js';
import { eventually } from '../support/database.js';
import { projectRoot } from '../support/environment.js';

const shipped = path.join(projectRoot, 'runbooks', 'frontier-assistant.yaml');
const renamed = (text: string, name: string) => text.replace('name: Meridian Assistant API', `name: ${name}`);

describe('the runbook catalogue', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  async function folder(): Promise<string> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'correx-catalogue-'));
    dirs.push(dir);
    return dir;
  }
  function catalogue(dir: string, timing?: CatalogueTiming): RunbookCatalogue {
    const opened = new RunbookCatalogue(dir, undefined, timing);
    onTestFinished(() => opened.close());
    return opened;
  }
  const systemName = async (runbooks: RunbookCatalogue) => (await runbooks.current()).runbooks.get('frontier-assistant')?.runbook.system.name;

  it('answers from the set it loaded while a reload runs, and refresh() resolves once the edit serves', async () => {
    const dir = await folder();
    const file = path.join(dir, 'frontier-assistant.yaml');
    await copyFile(shipped, file);
    const runbooks = catalogue(dir);

    const first = await Promise.all(Array.from({ length: 20 }, () => runbooks.current()));
    expect(new Set(first).size).toBe(1);
    expect([...first[0]!.runbooks.keys()]).toEqual(['frontier-assistant']);

    await writeFile(file, renamed(await readFile(file, 'utf8'), 'Meridian Assistant API (edited)'));
    const reload = runbooks.refresh();
    // The reload reads and parses in another thread; nobody asking meanwhile waits for it.
    const during = await Promise.all(Array.from({ length: 20 }, () => runbooks.current()));
    expect(new Set(during)).toEqual(new Set([first[0]]));

    const reloaded = await reload;
    expect(reloaded.runbooks.get('frontier-assistant')!.runbook.system.name).toBe('Meridian Assistant API (edited)');
    expect(await runbooks.current()).toBe(reloaded);
  });

  it('reloads an edited folder by itself', async () => {
    const dir = await folder();
    const file = path.join(dir, 'frontier-assistant.yaml');
    await copyFile(shipped, file);
    // Polled rarely: within the test's time only the folder's change events can bring the edit.
    const runbooks = catalogue(dir, { pollMs: 60_000 });
    expect(await systemName(runbooks)).toBe('Meridian Assistant API');

    await writeFile(file, renamed(await readFile(file, 'utf8'), 'Edited in place'));
    await eventually(async () => ((await systemName(runbooks)) === 'Edited in place' ? true : undefined), 10_000);

    // Editors save by writing a new file and renaming it over the old one.
    await writeFile(`${file}.tmp`, renamed(await readFile(shipped, 'utf8'), 'Saved by rename'));
    await rename(`${file}.tmp`, file);
    await eventually(async () => ((await systemName(runbooks)) === 'Saved by rename' ? true : undefined), 10_000);
  });

  it('starts on a folder that is not there yet, and polls until it is', async () => {
    const dir = path.join(await folder(), 'later');
    const runbooks = catalogue(dir, { pollMs: 100 });
    const missing = await runbooks.current();
    expect(missing.runbooks.size).toBe(0);
    expect(missing.problems.map((p) => p.message)).toEqual(['cannot read: no such file']);

    await mkdir(dir);
    await copyFile(shipped, path.join(dir, 'frontier-assistant.yaml'));
    await eventually(async () => ((await systemName(runbooks)) === 'Meridian Assistant API' ? true : undefined), 10_000);
  });

  it('starts with a broken file among valid ones, which it reports located, and serves the valid ones', async () => {
    const dir = await folder();
    await copyFile(shipped, path.join(dir, 'frontier-assistant.yaml'));
    const broken = (await readFile(path.join(projectRoot, 'runbooks', 'credit-scoring.yaml'), 'utf8')).replace('severities:', 'severities: [unclosed');
    await writeFile(path.join(dir, 'credit-scoring.yaml'), broken);
    const set = await catalogue(dir).current();
    expect([...set.runbooks.keys()]).toEqual(['frontier-assistant']);
    expect(set.problems.length).toBeGreaterThan(0);
    for (const problem of set.problems) {
      expect(problem.file).toBe(path.join(dir, 'credit-scoring.yaml'));
      expect(problem.line).toBeGreaterThan(1);
      expect(problem.message).toMatch(/^YAML syntax error/);
    }
  });

  it('stops watching when closed, and keeps answering with what it loaded last', async () => {
    const dir = await folder();
    const file = path.join(dir, 'frontier-assistant.yaml');
    await copyFile(shipped, file);
    const runbooks = catalogue(dir, { pollMs: 50, settleMs: 10 });
    const loaded = await runbooks.current();
    runbooks.close();
    await writeFile(file, renamed(await readFile(file, 'utf8'), 'After close'));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await runbooks.current()).toBe(loaded);
  });
});
