import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunbookCatalogue } from '../../services/runbook/catalogue.js';
import { projectRoot } from '../support/environment.js';

describe('the runbook catalogue', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('parses a changed folder once for a burst of requests, and every request sees the same result', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'correx-catalogue-'));
    dirs.push(dir);
    const file = path.join(dir, 'frontier-assistant.yaml');
    await copyFile(path.join(projectRoot, 'runbooks', 'frontier-assistant.yaml'), file);
    const catalogue = new RunbookCatalogue(dir);

    const first = await Promise.all(Array.from({ length: 20 }, () => catalogue.current()));
    expect(new Set(first).size).toBe(1);
    expect([...first[0]!.runbooks.keys()]).toEqual(['frontier-assistant']);

    // An edit: the next burst shares one new parse, which holds the edit.
    await writeFile(file, (await readFile(file, 'utf8')).replace('name: Meridian Assistant API', 'name: Meridian Assistant API (edited)'));
    const second = await Promise.all(Array.from({ length: 20 }, () => catalogue.current()));
    expect(new Set(second).size).toBe(1);
    expect(second[0]).not.toBe(first[0]);
    expect(second[0]!.runbooks.get('frontier-assistant')!.runbook.system.name).toBe('Meridian Assistant API (edited)');
    expect(await catalogue.current()).toBe(second[0]);
  });
});
