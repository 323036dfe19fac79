import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../services/db/connect.js';
import { migrateUp } from '../../services/db/migrate.js';
import type { IncidentStart } from '../../services/incident/schema.js';

export interface TestDatabase extends DatabaseHandle {
  /** Connection URL (PostgreSQL) or data folder (PGlite). */
  location: string;
  /** Closes and deletes the database. */
  destroy(): Promise<void>;
}

/** A fresh, empty database in the test PostgreSQL, migrated unless `migrate: false`. */
export async function createPostgresTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const adminUrl = inject('postgresUrl');
  const name = `correx_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const handle = await openDatabase({ url: url.toString() });
  if (options.migrate !== false) await migrateUp(handle.db);
  return {
    ...handle,
    location: url.toString(),
    async destroy() {
      await handle.close();
      const cleanup = new pg.Client({ connectionString: adminUrl });
      await cleanup.connect();
      try {
        // An autovacuum worker can hold the database for a moment; FORCE ends it, retries cover the race.
        for (let attempt = 1; ; attempt++) {
          try {
            await cleanup.query(`drop database if exists ${name} with (force)`);
            break;
          } catch (error) {
            if (attempt >= 5) throw error;
            await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
          }
        }
      } finally {
        await cleanup.end();
      }
    },
  };
}

/** A fresh embedded PostgreSQL (PGlite) in a temporary folder, migrated unless `migrate: false`. */
export async function createPgliteTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'correx-pglite-'));
  const handle = await openDatabase({ pgliteDir: path.join(folder, 'pgdata') });
  if (options.migrate !== false) await migrateUp(handle.db);
  return {
    ...handle,
    location: folder,
    async destroy() {
      await handle.close();
      await rm(folder, { recursive: true, force: true });
    },
  };
}

export const testDatabaseBackends = [
  { backend: 'postgres', create: createPostgresTestDatabase },
  { backend: 'pglite', create: createPgliteTestDatabase },
] as const;

/** Polls until `probe` returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** An incident's opening as its workflow records it, with a fresh id (tests record it to have an incident to page about or append to). */
export function anIncidentStart(openedAt = '2026-11-22T10:00:00.000Z'): IncidentStart & { workflowId: string } {
  const incidentId = randomUUID();
  return {
    incidentId,
    workflowId: `incident:assistant-prod:${incidentId}`,
    systemId: 'assistant-prod',
    dedupKey: incidentId,
    title: 'Jailbreak success rate above 2%',
    severity: 'SEV2',
    summary: undefined,
    openedBy: 'alice',
    openedAt,
    runbookVersion: 'sha256:abc',
  };
}
