import { stat } from 'node:fs/promises';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { loadRunbooks, runbookFiles, type LoadedRunbook, type RunbookSet } from './load.js';
import { findRecordedRunbook, recordRunbookVersion } from './repository.js';
import type { Runbook } from './schema.js';

export interface RunbookInUse {
  runbook: Runbook;
  version: string;
  file: string;
  /** True when the file is currently invalid or gone and the last version recorded in the database is used. */
  fromLastRecorded: boolean;
}

/**
 * The runbooks in a folder, re-read whenever a file changes, so an edit applies to the next incident
 * without a restart (running incidents keep the version they started with). When a runbook file is
 * broken, the version last recorded in the database keeps serving, so alerts are never refused for a
 * typo.
 */
export class RunbookCatalogue {
  private cached: { signature: string; set: RunbookSet } | undefined;
  private reloading: { signature: string; promise: Promise<RunbookSet> } | undefined;
  private readonly recorded = new Map<string, string>();

  constructor(
    private readonly dir: string,
    private readonly db?: Kysely<Database>,
  ) {}

  private async signature(): Promise<string> {
    const files = await runbookFiles([this.dir]);
    const parts = await Promise.all(
      files.map(async (file) => {
        const info = await stat(file).catch(() => undefined);
        return `${file}:${info?.mtimeMs ?? 0}:${info?.size ?? 0}`;
      }),
    );
    return parts.join('|');
  }

  /**
   * Every runbook file, freshly validated if anything changed. Requests that see the same change share
   * one reload, so a burst of alerts after an edit parses each file once, not once per request.
   */
  async current(): Promise<RunbookSet> {
    const signature = await this.signature();
    if (this.cached?.signature === signature) return this.cached.set;
    if (this.reloading?.signature !== signature) {
      const reload = loadRunbooks([this.dir]).then(
        (set) => {
          if (this.reloading?.promise === reload) this.reloading = undefined;
          this.cached = { signature, set };
          return set;
        },
        (error: unknown) => {
          if (this.reloading?.promise === reload) this.reloading = undefined;
          throw error;
        },
      );
      this.reloading = { signature, promise: reload };
    }
    return this.reloading.promise;
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
