import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { maxRunbookBytes } from '../../services/runbook/load.js';
import { useIncidentStack } from '../support/stack.js';

describe('the API while it reloads a runbook', () => {
  const stack = useIncidentStack({ runbookFiles: ['frontier-assistant'], api: true });

  /** The shipped runbook with thousands more on-call engineers: valid, just under the size cap, and slow to parse. */
  async function largeRunbook(file: string): Promise<string> {
    const text = await readFile(file, 'utf8');
    const people: string[] = [];
    let size = text.length;
    for (let i = 0; size < 900_000; i++) {
      const person = `  - { id: engineer-${i}, name: Engineer ${i}, email: engineer-${i}@meridian.example, roles: [on-call-engineer] }\n`;
      people.push(person);
      size += person.length;
    }
    const large = text.replace('people:\n', `people:\n${people.join('')}`);
    expect(Buffer.byteLength(large)).toBeLessThan(maxRunbookBytes);
    return large;
  }

  it('answers requests from the previous version while a 900 KB runbook is parsed, then from the new one', async () => {
    const token = await stack.api.token('reload-responder', ['responder']);
    const trigger = (n: number) =>
      stack.api.call('POST', '/v1/incidents', {
        token,
        body: { systemId: 'frontier-assistant', severity: 'SEV4', title: `during reload ${n}`, dedupKey: `reload-${n}` },
      });
    const before = await trigger(0);
    expect(before.status).toBe(202);

    const file = path.join(stack.runbooksDir, 'frontier-assistant.yaml');
    await writeFile(file, await largeRunbook(file));
    let pending = true;
    const reload = stack.api.runbooks.refresh().finally(() => {
      pending = false;
    });

    // Requests one after another for as long as the parse lasts: answered, not held until it ends.
    const during: string[] = [];
    for (let n = 1; pending; n++) {
      const response = await trigger(n);
      expect(response.status).toBe(202);
      if (pending) during.push(response.body.runbookVersion);
    }
    expect(during.length).toBeGreaterThan(0);
    expect(new Set(during)).toEqual(new Set([before.body.runbookVersion]));

    const reloaded = await reload;
    const large = reloaded.runbooks.get('frontier-assistant')!;
    expect(large.runbook.people.length).toBeGreaterThan(5_000);
    const after = await trigger(1_000);
    expect(after.status).toBe(202);
    expect(after.body.runbookVersion).toBe(large.version);
    expect(after.body.runbookVersion).not.toBe(before.body.runbookVersion);
  });
});
