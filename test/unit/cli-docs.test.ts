import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { cliDocsFile, renderCliDocs } from '../../scripts/cli-docs.js';

describe('docs/cli.md', () => {
  it("is what the commands' own help says (regenerate with `npm run docs:cli`)", async () => {
    const expected = renderCliDocs();
    const actual = await readFile(cliDocsFile, 'utf8').catch(() => '');
    if (actual !== expected) {
      const actualLines = actual.split('\n');
      const expectedLines = expected.split('\n');
      const line = expectedLines.findIndex((text, index) => actualLines[index] !== text);
      const at = line === -1 ? Math.min(actualLines.length, expectedLines.length) : line;
      expect.fail(
        `docs/cli.md is out of date with the CLI's help: run \`npm run docs:cli\` and commit docs/cli.md.\n` +
          `First difference at line ${at + 1}:\n  docs/cli.md: ${JSON.stringify(actualLines[at] ?? '(end of file)')}\n  generated:   ${JSON.stringify(expectedLines[at] ?? '(end of file)')}`,
      );
    }
  });

  it('lists every command with its usage, and every option and argument', () => {
    const text = renderCliDocs();
    for (const heading of ['correx incident trigger', 'correx correction propose', 'correx audit verify', 'correx migrate status', 'correx runbook show']) {
      expect(text).toContain(`\`${heading}\``);
    }
    expect(text).toContain('correx incident trigger [options] <systemId>');
    expect(text).toMatch(/\| `--severity <severity>` \| \*\*required\*\*; /);
    expect(text).toContain('| `[paths...]` |');
    expect(text).not.toContain('| `-h, --help` |');
  });
});
