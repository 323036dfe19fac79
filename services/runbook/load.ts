import { createHash } from 'node:crypto';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, visit, type Alias, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { canonicalJson } from '../canonical-json.js';
import { crossCheck, environmentIssues } from './cross-check.js';
import { Runbook } from './schema.js';

/** One defect, located in its file: `file:line:column path: message`. */
export interface RunbookProblem {
  file: string;
  line: number;
  column: number;
  path: string;
  message: string;
}

export function formatProblem(problem: RunbookProblem): string {
  return `${problem.file}:${problem.line}:${problem.column} ${problem.path ? `${problem.path}: ` : ''}${problem.message}`;
}

export interface LoadedRunbook {
  file: string;
  runbook: Runbook;
  /** `sha256:<hex>` over the canonical JSON of the file's content: comments and layout do not count. */
  version: string;
}

/**
 * `warnings` depend on where the runbook is loaded (a secret unset in this process), so they never
 * make a runbook invalid.
 */
export type RunbookParse = { ok: true; loaded: LoadedRunbook; warnings: RunbookProblem[] } | { ok: false; problems: RunbookProblem[] };

/**
 * Largest runbook file read: the biggest shipped one is a few dozen KiB. The cap bounds the parse that
 * the catalogue's reload runs after a file changes (about a second at the cap).
 */
export const maxRunbookBytes = 1024 * 1024;

/** Hash of a runbook's content, its version. */
export function runbookVersion(content: unknown): string {
  return `sha256:${createHash('sha256').update(canonicalJson(content)).digest('hex')}`;
}

/** The node a path names, or the nearest ancestor that exists (a missing field points at its parent). */
function nodeAt(doc: Document, segments: (string | number)[], pointAtKey: boolean): Node | undefined {
  let node: unknown = doc.contents;
  let found: Node | undefined = (node as Node | null) ?? undefined;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) break;
      const last = i === segments.length - 1;
      if (last && pointAtKey) return pair.key as Node;
      node = pair.value;
      found = (pair.value as Node | null) ?? (pair.key as Node);
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (!item) break;
      node = item;
      found = item as Node;
    } else {
      break;
    }
  }
  return found;
}

function aliasProblem(
  doc: Document,
  error: unknown,
  problemAt: (node: Node | undefined, segments: (string | number)[], message: string) => RunbookProblem,
): RunbookProblem {
  const reason = error instanceof Error ? error.message : String(error);
  const unresolved = /^Unresolved alias .*: (.+)$/.exec(reason)?.[1];
  let culprit: Alias | undefined;
  visit(doc, {
    Alias(_key, alias) {
      if (unresolved === undefined || alias.source === unresolved) {
        culprit = alias;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  const message =
    unresolved !== undefined
      ? `YAML alias *${unresolved} names no anchor defined before it`
      : /Excessive alias count/.test(reason)
        ? 'YAML aliases expand too much (more than 100 uses): write the values out instead'
        : `YAML error: ${reason}`;
  return problemAt(culprit, [], message);
}

function friendly(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) return 'is required';
  return issue.message;
}

/** Parses and checks one runbook's text. Reports every problem found, not only the first. */
export function parseRunbook(text: string, file: string, env: NodeJS.ProcessEnv = process.env): RunbookParse {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const problemAt = (node: Node | undefined, segments: (string | number)[], message: string): RunbookProblem => {
    const offset = node?.range?.[0] ?? 0;
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col, path: segments.map(String).join('.'), message };
  };

  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.map((error) => {
        const { line, col } = lineCounter.linePos(error.pos[0]);
        const message = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
        return { file, line, column: col, path: '', message: `YAML syntax error: ${message}` };
      }),
    };
  }
  let content: unknown;
  try {
    content = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // Aliases are resolved only here: an unknown anchor or the alias-count guard (a "billion laughs"
    // file) is a defect of this file, located at the alias, not an error of the whole catalogue.
    return { ok: false, problems: [aliasProblem(doc, error, problemAt)] };
  }
  if (content === null || typeof content !== 'object' || Array.isArray(content)) {
    return { ok: false, problems: [problemAt(undefined, [], 'a runbook must be a YAML mapping with system, severities, roles, people, …')] };
  }

  const parsed = Runbook.safeParse(content);
  if (!parsed.success) {
    const problems = parsed.error.issues.flatMap((issue) => {
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((key) => {
          const segments = [...issue.path, key] as (string | number)[];
          return problemAt(nodeAt(doc, segments, true), segments, `unknown field '${key}'`);
        });
      }
      const segments = issue.path as (string | number)[];
      return [problemAt(nodeAt(doc, segments, false), segments, friendly(issue))];
    });
    return { ok: false, problems };
  }

  const crossIssues = crossCheck(parsed.data);
  if (crossIssues.length > 0) {
    return { ok: false, problems: crossIssues.map((issue) => problemAt(nodeAt(doc, issue.path, issue.atKey === true), issue.path, issue.message)) };
  }
  const warnings = environmentIssues(parsed.data, env).map((issue) => problemAt(nodeAt(doc, issue.path, false), issue.path, issue.message));
  return { ok: true, loaded: { file, runbook: parsed.data, version: runbookVersion(content) }, warnings };
}

/** Offset of the first byte that is not part of well-formed UTF-8 (the lead byte of a broken sequence). */
function firstInvalidUtf8(bytes: Uint8Array): number | undefined {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i++;
      continue;
    }
    // Ranges of the Unicode standard's table 3-7: no overlong forms, no surrogates, nothing above U+10FFFF.
    let length: number;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) length = 2;
    else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead === 0xe0) low = 0xa0;
      if (lead === 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead === 0xf0) low = 0x90;
      if (lead === 0xf4) high = 0x8f;
    } else return i;
    for (let k = 1; k < length; k++) {
      const next = bytes[i + k];
      if (next === undefined || next < low || next > high) return i;
      low = 0x80;
      high = 0xbf;
    }
    i += length;
  }
  return undefined;
}

/** The text of a runbook file's bytes, or where they are not UTF-8 without a byte-order mark. */
function decodeRunbook(bytes: Uint8Array, file: string): { text: string | undefined; problems: RunbookProblem[] } {
  const problems: RunbookProblem[] = [];
  // A BOM is invisible in editors and in diffs; runbooks are plain UTF-8 so that every tool reading
  // them (editors' YAML servers, grep, review tools) sees the same text Correx does.
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  if (bom) problems.push({ file, line: 1, column: 1, path: '', message: 'the file starts with a byte-order mark (U+FEFF): save it as UTF-8 without BOM' });
  const body = bom ? bytes.subarray(3) : bytes;
  try {
    return { text: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body), problems };
  } catch {
    const offset = firstInvalidUtf8(body) ?? 0;
    const lineStart = offset === 0 ? 0 : body.lastIndexOf(0x0a, offset - 1) + 1;
    const line = body.subarray(0, offset).filter((byte) => byte === 0x0a).length + 1;
    const column = new TextDecoder('utf-8').decode(body.subarray(lineStart, offset)).length + 1;
    const byte = body[offset]?.toString(16).toUpperCase().padStart(2, '0');
    problems.push({ file, line, column, path: '', message: `invalid UTF-8 (byte 0x${byte ?? '??'}): save the file as UTF-8` });
    return { text: undefined, problems };
  }
}

export async function loadRunbookFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<RunbookParse> {
  const unreadable = (message: string): RunbookParse => ({ ok: false, problems: [{ file, line: 1, column: 1, path: '', message }] });
  let bytes: Uint8Array;
  try {
    // Size and bytes from one handle, so a file swapped in between (editors save by rename) cannot slip past the cap.
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      if (size > maxRunbookBytes) return unreadable(tooLarge(size));
      bytes = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    return unreadable(`cannot read: ${reason}`);
  }
  // It may have grown between the size check and the read.
  if (bytes.length > maxRunbookBytes) return unreadable(tooLarge(bytes.length));
  const decoded = decodeRunbook(bytes, file);
  if (decoded.text === undefined) return { ok: false, problems: decoded.problems };
  const result = parseRunbook(decoded.text, file, env);
  if (decoded.problems.length === 0) return result;
  return { ok: false, problems: [...decoded.problems, ...(result.ok ? [] : result.problems)] };
}

function tooLarge(size: number): string {
  return `the file is ${(size / 1024 / 1024).toFixed(1)} MiB (${size} bytes); a runbook may be at most 1 MiB, so it was not read: is this the right file?`;
}

const isRunbookFile = (name: string) => /\.ya?ml$/i.test(name);

/** The runbook files named: files as given, folders by their *.yaml / *.yml files (sorted). */
export async function runbookFiles(paths: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const entry of paths) {
    const info = await stat(entry).catch(() => undefined);
    if (info?.isDirectory()) {
      const names = (await readdir(entry)).filter(isRunbookFile).sort();
      files.push(...names.map((name) => path.join(entry, name)));
    } else {
      files.push(entry);
    }
  }
  return files;
}

export interface RunbookSet {
  runbooks: Map<string, LoadedRunbook>;
  problems: RunbookProblem[];
  /** Of the runbooks loaded: what this process's environment lacks for them (see RunbookParse). */
  warnings: RunbookProblem[];
  files: string[];
}

/** Loads several runbooks; a system may be defined by only one of them. */
export async function loadRunbooks(paths: string[]): Promise<RunbookSet> {
  const files = await runbookFiles(paths);
  const runbooks = new Map<string, LoadedRunbook>();
  const problems: RunbookProblem[] = [];
  const warnings: RunbookProblem[] = [];
  for (const file of files) {
    // One file can never take the other systems down: whatever goes wrong in it is its own problem.
    const result = await loadRunbookFile(file).catch((error: unknown): RunbookParse => ({
      ok: false,
      problems: [{ file, line: 1, column: 1, path: '', message: `cannot load: ${error instanceof Error ? error.message : String(error)}` }],
    }));
    if (!result.ok) {
      problems.push(...result.problems);
      continue;
    }
    const id = result.loaded.runbook.system.id;
    const earlier = runbooks.get(id);
    if (earlier) {
      const text = await readFile(file, 'utf8');
      const lineCounter = new LineCounter();
      const doc = parseDocument(text, { lineCounter });
      const node = nodeAt(doc, ['system', 'id'], false);
      const { line, col } = lineCounter.linePos(node?.range?.[0] ?? 0);
      problems.push({ file, line, column: col, path: 'system.id', message: `system '${id}' is already defined in ${earlier.file}` });
      continue;
    }
    runbooks.set(id, result.loaded);
    warnings.push(...result.warnings);
  }
  return { runbooks, problems, warnings, files };
}
