import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import type { Kysely } from 'kysely';
import { LineCounter, parseDocument, type Node } from 'yaml';
import type { Database } from '../db/schema.js';
import { loadRunbooks, runbookFiles, type LoadedRunbook, type RunbookProblem, type RunbookSet } from './load.js';
import { findRecordedRunbook, recordRunbookVersion } from './repository.js';
import type { Runbook } from './schema.js';

export interface RunbookInUse {
  runbook: Runbook;
  version: string;
  file: string;
  /** True when the file is currently invalid or gone and the last version recorded in the database is used. */
  fromLastRecorded: boolean;
}

export interface CatalogueTiming {
  /** How often the folder is looked at besides its change events, which some file systems (NFS, some container mounts) never send. */
  pollMs?: number;
  /** How long a change event waits for more before the folder is reloaded: editors and deploy tools write in several steps. */
  settleMs?: number;
}

interface Reload {
  set: RunbookSet;
  /** Why the folder could not be loaded at all (what served before goes on serving). */
  error?: Error;
}

/** Longest a reload may take before its thread is ended: a hung read (a stalled network mount) must not stop every later reload. */
const reloadTimeoutMs = 60_000;

/**
 * A thread that loads runbook folders (see load-thread.ts), started on the first reload and kept: parsing
 * a large runbook takes the better part of a second, which on the process's own thread would stall every
 * request.
 */
class LoaderThread {
  private thread: Worker | undefined;
  private readonly waiting = new Map<number, { thread: Worker; resolve(set: RunbookSet): void; reject(error: Error): void }>();
  private nextId = 0;

  load(dir: string): Promise<RunbookSet> {
    const thread = (this.thread ??= this.start());
    const id = this.nextId++;
    let timeout: NodeJS.Timeout | undefined;
    return new Promise<RunbookSet>((resolve, reject) => {
      this.waiting.set(id, { thread, resolve, reject });
      timeout = setTimeout(() => {
        reject(new Error(`loading the runbooks took longer than ${reloadTimeoutMs / 1000} s`));
        this.end();
      }, reloadTimeoutMs).unref();
      thread.postMessage({ id, paths: [dir] });
    }).finally(() => {
      clearTimeout(timeout);
      this.waiting.delete(id);
    });
  }

  private start(): Worker {
    const fromSource = import.meta.url.endsWith('.ts');
    const entry = new URL(`./load-thread.${fromSource ? 'ts' : 'js'}`, import.meta.url);
    // Run from the TypeScript sources (tests, `node --import tsx`), a new thread has no TypeScript loader
    // until tsx registers one in it.
    const viaTsx = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => tsx.register()).then(() => import(${JSON.stringify(entry.href)}))`;
    const thread = fromSource ? new Worker(viaTsx, { eval: true }) : new Worker(entry);
    // It never keeps a process from exiting.
    thread.unref();
    thread.on('message', (answer: { id: number; set?: RunbookSet; error?: string }) => {
      const waiting = this.waiting.get(answer.id);
      this.waiting.delete(answer.id);
      if (answer.set) waiting?.resolve(answer.set);
      else waiting?.reject(new Error(answer.error ?? 'the runbook loading thread answered nothing'));
    });
    const failed = (error: Error) => {
      if (this.thread === thread) this.thread = undefined;
      for (const waiting of this.waiting.values()) if (waiting.thread === thread) waiting.reject(error);
    };
    thread.on('error', failed);
    thread.on('exit', (code) => failed(new Error(`the runbook loading thread stopped (exit code ${code})`)));
    return thread;
  }

  end(): void {
    void this.thread?.terminate();
    this.thread = undefined;
  }
}

function unloadable(dir: string, error: unknown): RunbookSet {
  const reason = error instanceof Error ? error.message : String(error);
  return {
    runbooks: new Map(),
    problems: [{ file: dir, line: 1, column: 1, path: '', message: `cannot load the runbooks: ${reason}` }],
    warnings: [],
    files: [],
  };
}

/** A problem located where `segments` is written in the file (its first line when it cannot be read). */
export async function problemAt(file: string, segments: (string | number)[], message: string): Promise<RunbookProblem> {
  const path = segments.join('.');
  try {
    const lineCounter = new LineCounter();
    const doc = parseDocument(await readFile(file, 'utf8'), { lineCounter });
    const node = doc.getIn(segments, true) as Node | undefined;
    const { line, col } = lineCounter.linePos(node?.range?.[0] ?? 0);
    return { file, line, column: col, path, message };
  } catch {
    return { file, line: 1, column: 1, path, message };
  }
}

/**
 * Schedule ids name a schedule alone (`/v1/schedules/:id`, escalation targets), so they are unique
 * across every runbook: a runbook that reuses one defined by a runbook loaded before it is a problem
 * of its file, and its system serves its last recorded version, as for any broken file.
 */
export async function withUniqueScheduleIds(set: RunbookSet): Promise<RunbookSet> {
  const owners = new Map<string, LoadedRunbook>();
  const runbooks = new Map<string, LoadedRunbook>();
  const problems: RunbookProblem[] = [];
  for (const [systemId, loaded] of set.runbooks) {
    const clashes: RunbookProblem[] = [];
    for (const [index, schedule] of loaded.runbook.schedules.entries()) {
      const earlier = owners.get(schedule.id);
      if (earlier) {
        clashes.push(
          await problemAt(
            loaded.file,
            ['schedules', index, 'id'],
            `schedule '${schedule.id}' is already defined in ${earlier.file} (system '${earlier.runbook.system.id}'): schedule ids must be unique across all runbooks`,
          ),
        );
      }
    }
    if (clashes.length > 0) {
      problems.push(...clashes);
      continue;
    }
    for (const schedule of loaded.runbook.schedules) owners.set(schedule.id, loaded);
    runbooks.set(systemId, loaded);
  }
  if (problems.length === 0) return set;
  const dropped = new Set(problems.map((problem) => problem.file));
  return { ...set, runbooks, problems: [...set.problems, ...problems], warnings: set.warnings.filter((warning) => !dropped.has(warning.file)) };
}

/**
 * The runbooks in a folder, reloaded in the background whenever a file changes, so an edit applies to
 * the next incident without a restart (running incidents keep the version they started with), and no
 * request ever waits for a parse: requests are answered from the set loaded last. When a runbook file
 * is broken, the version last recorded in the database keeps serving, so alerts are never refused for
 * a typo.
 */
export class RunbookCatalogue {
  private serving: { signature: string; set: RunbookSet } | undefined;
  private firstLoad: Promise<RunbookSet> | undefined;
  private running: Promise<Reload> | undefined;
  private queued: { force: boolean; promise: Promise<Reload> } | undefined;
  private watcher: FSWatcher | undefined;
  private poller: NodeJS.Timeout | undefined;
  private settling: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly loader = new LoaderThread();
  private readonly pollMs: number;
  private readonly settleMs: number;
  private readonly recorded = new Map<string, string>();

  constructor(
    private readonly dir: string,
    private readonly db?: Kysely<Database>,
    timing: CatalogueTiming = {},
  ) {
    this.pollMs = timing.pollMs ?? 2_000;
    this.settleMs = timing.settleMs ?? 100;
  }

  /** What the files look like from outside: a reload is due when this changes. */
  private async signature(): Promise<string> {
    try {
      const files = await runbookFiles([this.dir]);
      const parts = await Promise.all(
        files.map(async (file) => {
          const info = await stat(file).catch(() => undefined);
          return `${file}:${info?.ino ?? 0}:${info?.size ?? 0}:${info?.mtimeMs ?? 0}:${info?.ctimeMs ?? 0}`;
        }),
      );
      return parts.join('|');
    } catch (error) {
      return `unreadable: ${(error as Error).message}`;
    }
  }

  private async reload(force: boolean): Promise<Reload> {
    if (this.closed && this.serving) return { set: this.serving.set };
    // Taken before the files are read: a change made while they are read shows as a new signature.
    const signature = await this.signature();
    if (!force && this.serving?.signature === signature) return { set: this.serving.set };
    let reload: Reload;
    try {
      // Before the first load nothing is served, so nothing can be stalled: no thread is needed for it
      // (and none is started in a process whose runbooks never change).
      reload = { set: await withUniqueScheduleIds(this.serving ? await this.loader.load(this.dir) : await loadRunbooks([this.dir])) };
    } catch (error) {
      // The same state is not retried on every poll; the next change (or refresh) tries again.
      reload = { set: this.serving?.set ?? unloadable(this.dir, error), error: error instanceof Error ? error : new Error(String(error)) };
    }
    this.serving = { signature, set: reload.set };
    this.watch();
    return reload;
  }

  /** One reload at a time, and at most one waiting: it starts after every change that asked for it. */
  private schedule(force: boolean): Promise<Reload> {
    if (this.queued) {
      this.queued.force ||= force;
      return this.queued.promise;
    }
    const queued = { force } as { force: boolean; promise: Promise<Reload> };
    // `reload` answers every failure, but a reload that threw anyway must not stall every later one.
    queued.promise = (this.running ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => {
        if (this.queued === queued) this.queued = undefined;
        const run = this.reload(queued.force);
        this.running = run;
        return run;
      });
    this.queued = queued;
    return queued.promise;
  }

  private check(): void {
    if (!this.closed) void this.schedule(false);
  }

  private watch(): void {
    if (this.closed) return;
    this.poller ??= setInterval(() => {
      // A folder that was missing, or whose watch failed, is watched again once it is back.
      if (!this.watcher) this.watch();
      this.check();
    }, this.pollMs).unref();
    if (this.watcher) return;
    try {
      this.watcher = watch(this.dir, { persistent: false }, () => {
        clearTimeout(this.settling);
        this.settling = setTimeout(() => this.check(), this.settleMs).unref();
      });
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      // No folder (yet), or one that cannot be watched: the poll notices changes.
    }
  }

  /**
   * Every runbook file as last loaded. The first call loads the folder and starts watching it; a process
   * awaits that before it serves. Whatever a file holds, the first load answers: a broken file is a
   * problem of the set, and its system serves its last recorded version.
   */
  async current(): Promise<RunbookSet> {
    if (this.serving) return this.serving.set;
    this.firstLoad ??= this.schedule(true).then((reload) => reload.set);
    return this.firstLoad;
  }

  /**
   * Reloads the folder now, whether or not a change was noticed, and resolves with the set once it
   * serves: for a caller that has just written a runbook and must see it next (tests, tools).
   */
  async refresh(): Promise<RunbookSet> {
    const reload = await this.schedule(true);
    if (reload.error !== undefined) throw reload.error;
    return reload.set;
  }

  /** Stops watching the folder (and a reload under way); what was loaded last goes on serving. */
  close(): void {
    this.closed = true;
    this.loader.end();
    clearInterval(this.poller);
    clearTimeout(this.settling);
    this.watcher?.close();
    this.watcher = undefined;
  }

  async find(systemId: string): Promise<RunbookInUse | undefined> {
    const set = await this.current();
    const loaded: LoadedRunbook | undefined = set.runbooks.get(systemId);
    if (loaded) return { ...loaded, fromLastRecorded: false };
    if (!this.db) return undefined;
    const row = await findRecordedRunbook(this.db, systemId);
    if (!row) return undefined;
    return { runbook: row.content, version: row.version, file: row.sourceFile, fromLastRecorded: true };
  }

  /**
   * Records the version an incident or a signal is about to use, and points its system at it. Once per
   * system and version in this process: versions are content hashes, so a recorded one never changes,
   * and alert storms do not rewrite the runbook on every alert.
   */
  async record(db: Kysely<Database>, inUse: RunbookInUse): Promise<void> {
    const systemId = inUse.runbook.system.id;
    if (inUse.fromLastRecorded || this.recorded.get(systemId) === inUse.version) return;
    await recordRunbookVersion(db, inUse);
    this.recorded.set(systemId, inUse.version);
  }

  /** Every person id some runbook in the folder names: the people tokens may act as. */
  async peopleIds(): Promise<Set<string>> {
    const set = await this.current();
    return new Set([...set.runbooks.values()].flatMap((loaded) => loaded.runbook.people.map((person) => person.id)));
  }

  async systemIds(): Promise<string[]> {
    return [...(await this.current()).runbooks.keys()].sort();
  }
}
