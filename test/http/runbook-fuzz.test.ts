import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatProblem, loadRunbookFile, type RunbookProblem } from '../../services/runbook/load.js';
import { consoleSession } from '../support/console.js';
import { projectRoot } from '../support/environment.js';
import { useIncidentStack } from '../support/stack.js';
import { failingActivitiesOnceQuiet } from '../support/workflows.js';

const systems = ['clinical-triage', 'credit-scoring', 'frontier-assistant'] as const;
type SystemId = (typeof systems)[number];

/** One edit of a runbook's text, as a careless hand, a bad merge or a broken generator makes it. */
type Mutation =
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'replace'; at: number; length: number; text: string }
  | { kind: 'duplicate line'; line: number }
  | { kind: 'remove line'; line: number }
  | { kind: 'indent'; line: number; by: number; tab: boolean }
  | { kind: 'retype'; line: number; value: string }
  | { kind: 'alias'; from: number; to: number }
  | { kind: 'prepend'; text: string };

const yamlSyntax = [
  '\n',
  '\r',
  '\t',
  ':',
  ': ',
  '- ',
  '? ',
  '#',
  '&a ',
  '*a',
  '{',
  '}',
  '[',
  ']',
  ',',
  '"',
  "'",
  '|',
  '>',
  '!',
  '!!binary ',
  '%YAML 1.1\n',
  '---\n',
  '...\n',
  '<<: *a\n',
];
const controls = ['\u0000', '\u0007', '\u001b', '\u007f', '\u0085', '\u00a0', '\u2028', '\u2029', '\ufeff', '\ufffe', '\uffff'];
/** Any UTF-16 code units (lone surrogates and control characters included), and YAML's own syntax. */
const anyText = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 4 }),
  fc.constantFrom(...yamlSyntax, ...controls, '\ud800', '\udfff', '\udbff\udfff'),
);
/** Values of another type or out of any sensible range, where the runbook expects something else. */
const oddValue = fc.oneof(
  fc.constantFrom(
    '',
    '~',
    'null',
    '[]',
    '{}',
    'true',
    'no',
    '-1',
    '0',
    '1e309',
    '-.inf',
    '.nan',
    '0x7fffffff',
    '99999999999999999999999999999',
    '2026-02-30',
    '"\\ud800"',
    "'\u0000'",
    '!!binary aGk=',
    '!!str 3',
    '[a, [b, [c, [d]]]]',
    '{a: {b: {c: 1}}}',
    '*nowhere',
    '1h30m',
    '0s',
    '3650d',
    '3651d',
    '1 month',
    '4 business days',
  ),
  // Durations and deadlines far beyond any incident's life.
  fc
    .tuple(
      fc.oneof(fc.bigInt({ min: 1n, max: 10n ** 30n }), fc.integer({ min: 0, max: 100_000 })),
      fc.constantFrom('s', 'm', 'h', 'd', 'w', ' months', ' business days'),
    )
    .map(([count, unit]) => `${count}${unit}`),
  fc.double().map(String),
  anyText,
);
// Anchors and aliases that expand to about a billion nodes ("billion laughs"), and one alias to nothing.
const aliasBombs = [
  `x-bomb:\n  a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n  c: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n`,
  Array.from(
    { length: 9 },
    (_, level) =>
      `l${level}: &l${level} [${
        level === 0
          ? '"lol"'
          : Array(10)
              .fill(`*l${level - 1}`)
              .join(', ')
      }]`,
  ).join('\n') + '\n',
  'x-typo: *nowhere\n',
];
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: anyText }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }), text: anyText }),
  fc.record({ kind: fc.constant('duplicate line' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('remove line' as const), line: fc.nat() }),
  fc.record({ kind: fc.constant('indent' as const), line: fc.nat(), by: fc.integer({ min: -4, max: 4 }), tab: fc.boolean() }),
  fc.record({ kind: fc.constant('retype' as const), line: fc.nat(), value: oddValue }),
  fc.record({ kind: fc.constant('alias' as const), from: fc.nat(), to: fc.nat() }),
  fc.record({ kind: fc.constant('prepend' as const), text: fc.constantFrom(...aliasBombs) }),
);

/** The lines of the form `key: value`, by index, where a value can be swapped. */
const valued = (lines: string[]) => lines.flatMap((line, index) => (/^\s*(- )?[\w-]+: \S/.test(line) ? [index] : []));

function mutate(text: string, change: Mutation): string {
  const lines = text.split('\n');
  const at = (n: number) => n % (text.length + 1);
  const line = (n: number) => n % lines.length;
  switch (change.kind) {
    case 'insert':
      return text.slice(0, at(change.at)) + change.text + text.slice(at(change.at));
    case 'delete':
      return text.slice(0, at(change.at)) + text.slice(at(change.at) + change.length);
    case 'replace':
      return text.slice(0, at(change.at)) + change.text + text.slice(at(change.at) + change.length);
    case 'duplicate line':
      lines.splice(line(change.line), 0, lines[line(change.line)]!);
      return lines.join('\n');
    case 'remove line':
      lines.splice(line(change.line), 1);
      return lines.join('\n');
    case 'indent': {
      const index = line(change.line);
      const current = lines[index]!;
      lines[index] = change.by >= 0 ? (change.tab ? '\t' : ' ').repeat(change.by) + current : current.replace(new RegExp(`^ {0,${-change.by}}`), '');
      return lines.join('\n');
    }
    case 'retype': {
      const candidates = valued(lines);
      if (candidates.length === 0) return text;
      const index = candidates[change.line % candidates.length]!;
      lines[index] = lines[index]!.replace(/^(\s*(?:- )?[\w-]+: ).*$/, (_, key: string) => key + change.value);
      return lines.join('\n');
    }
    case 'alias': {
      // One value anchored, another replaced by an alias of it: a runbook of a different shape, or a cycle.
      const candidates = valued(lines);
      if (candidates.length === 0) return text;
      const from = candidates[change.from % candidates.length]!;
      const to = candidates[change.to % candidates.length]!;
      lines[from] = lines[from]!.replace(/^(\s*(?:- )?[\w-]+: )/, '$1&fuzz ');
      lines[to] = lines[to]!.replace(/^(\s*(?:- )?[\w-]+: ).*$/, '$1*fuzz');
      return lines.join('\n');
    }
    case 'prepend':
      return change.text + text;
  }
}

/**
 * The text as bytes, its lone surrogates as generalized UTF-8 (0xED 0xA0 0x80 for U+D800): what a tool
 * that encodes code units one by one writes. Node would write U+FFFD for them.
 */
function withLoneSurrogates(text: string): Buffer {
  const parts: Buffer[] = [];
  let plain = '';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code < 0xd800 || code > 0xdfff) {
      plain += char;
      continue;
    }
    parts.push(Buffer.from(plain, 'utf8'), Buffer.from([0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f)]));
    plain = '';
  }
  parts.push(Buffer.from(plain, 'utf8'));
  return Buffer.concat(parts);
}

/** Problems that do not point into the file: thrown errors the loader caught as a last resort, positions outside it. */
function unlocated(problems: RunbookProblem[], file: string, lineCount: number): string[] {
  return problems
    .filter(
      (problem) =>
        problem.file !== file ||
        !Number.isInteger(problem.line) ||
        problem.line < 1 ||
        problem.line > lineCount ||
        !Number.isInteger(problem.column) ||
        problem.column < 1 ||
        problem.message.length === 0 ||
        /^cannot (load|read)/.test(problem.message),
    )
    .map(formatProblem);
}

describe('mutated runbook files (fast-check, from the shipped runbooks)', () => {
  const stack = useIncidentStack({ runbookFiles: [...systems], api: true });
  const shipped = {} as Record<SystemId, string>;
  let admin: string;
  let cookie: string;

  beforeAll(async () => {
    for (const systemId of systems) shipped[systemId] = await readFile(path.join(projectRoot, 'runbooks', `${systemId}.yaml`), 'utf8');
    admin = await stack.api.token('fuzz-admin', ['admin']);
    cookie = await consoleSession(stack.api, admin);
    // Every system has a recorded version to fall back on, as one that has ever had an incident does.
    for (const systemId of systems) {
      const response = await stack.api.call('POST', '/v1/incidents', { token: admin, body: { systemId, severity: 'SEV4', title: 'before the fuzz' } });
      expect(response.status).toBe(202);
    }
  });

  const recordedVersion = async (systemId: string) =>
    (await stack.db.selectFrom('systems').select('runbook_version').where('id', '=', systemId).executeTakeFirstOrThrow()).runbook_version;

  it('locates every defect, never answers 5xx, and serves the new valid version or the last recorded one', async () => {
    const outcomes = { newVersion: 0, lastRecorded: 0 };
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...systems),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        async (systemId, mutations, generalizedUtf8) => {
          run += 1;
          const file = path.join(stack.runbooksDir, `${systemId}.yaml`);
          const text = mutations.reduce(mutate, shipped[systemId]);
          await writeFile(file, generalizedUtf8 ? withLoneSurrogates(text) : text);
          try {
            // What `correx runbook validate` runs: it must answer, with every defect located in the file.
            const lineCount = text.split('\n').length;
            const parsed = await loadRunbookFile(file);
            if (!parsed.ok) {
              expect(parsed.problems.length).toBeGreaterThan(0);
              expect(unlocated(parsed.problems, file, lineCount)).toEqual([]);
            }
            const served = await stack.api.runbooks.refresh();
            expect(
              unlocated(
                served.problems.filter((problem) => problem.file === file),
                file,
                lineCount,
              ),
            ).toEqual([]);

            const usesNew = parsed.ok && parsed.loaded.runbook.system.id === systemId;
            const expected = usesNew ? parsed.loaded.version : await recordedVersion(systemId);
            const severity = (usesNew ? parsed.loaded.runbook.severities.at(-1)?.id : undefined) ?? 'SEV4';
            const trigger = await stack.api.call('POST', '/v1/incidents', {
              token: admin,
              body: { systemId, severity, title: `fuzz ${run}`, dedupKey: `fuzz-${run}` },
            });
            expect(trigger.status, JSON.stringify(trigger.body)).toBeLessThan(500);
            if (trigger.status === 202) {
              expect(trigger.body.runbookVersion).toBe(expected);
              outcomes[usesNew ? 'newVersion' : 'lastRecorded'] += 1;
            }

            const signal = await stack.api.call('POST', '/v1/signals', {
              token: admin,
              body: { systemId, source: 'alertmanager', labels: { alertname: 'JailbreakRateHigh' }, severity: 'critical', idempotencyKey: `fuzz-${run}` },
            });
            expect(signal.status, JSON.stringify(signal.body)).toBeLessThan(500);
            const list = await stack.api.call('GET', `/v1/incidents?systemId=${systemId}`, { token: admin });
            expect(list.status, JSON.stringify(list.body)).toBe(200);
            const page = await fetch(`${stack.api.url}/console`, { headers: { cookie } });
            expect(page.status).toBe(200);
          } finally {
            await writeFile(file, shipped[systemId]);
          }
        },
      ),
      { numRuns: 40, seed: 20261203 },
    );
    // Both promises were put to the test, not only the easy one.
    expect(outcomes.newVersion).toBeGreaterThan(0);
    expect(outcomes.lastRecorded).toBeGreaterThan(0);

    await stack.api.runbooks.refresh();
    expect(await failingActivitiesOnceQuiet(stack.client)).toEqual([]);
  }, 180_000);
});
