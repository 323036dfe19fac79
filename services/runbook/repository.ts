import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { jsonb } from '../db/jsonb.js';
import type { LoadedRunbook } from './load.js';
import type { Runbook } from './schema.js';

/**
 * Stores a runbook version (once; versions are content hashes) and points the system at it.
 * Called before an incident starts under that version.
 */
export async function recordRunbookVersion(db: Kysely<Database>, loaded: LoadedRunbook): Promise<void> {
  const system = loaded.runbook.system;
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('runbook_versions')
      .values({
        version: loaded.version,
        system_id: system.id,
        content: jsonb(loaded.runbook as unknown as Record<string, unknown>),
        source_file: loaded.file,
      })
      .onConflict((oc) => oc.column('version').doNothing())
      .execute();
    await trx
      .insertInto('systems')
      .values({ id: system.id, name: system.name, runbook_version: loaded.version, definition: jsonb(system as unknown as Record<string, unknown>) })
      .onConflict((oc) =>
        oc.column('id').doUpdateSet({
          name: system.name,
          runbook_version: loaded.version,
          definition: jsonb(system as unknown as Record<string, unknown>),
          updated_at: new Date(),
        }),
      )
      .execute();
  });
}

/** The runbook exactly as it was at a version. */
export async function findRunbookVersion(db: Kysely<Database>, version: string): Promise<Runbook | undefined> {
  const row = await db.selectFrom('runbook_versions').select('content').where('version', '=', version).executeTakeFirst();
  return row?.content as Runbook | undefined;
}

/** The runbook version a system was last pointed at, as recorded (for a system whose file is gone). */
export async function findRecordedRunbook(
  db: Kysely<Database>,
  systemId: string,
): Promise<{ version: string; content: Runbook; sourceFile: string } | undefined> {
  const row = await db
    .selectFrom('systems')
    .innerJoin('runbook_versions', 'runbook_versions.version', 'systems.runbook_version')
    .select(['runbook_versions.version', 'runbook_versions.content', 'runbook_versions.source_file'])
    .where('systems.id', '=', systemId)
    .executeTakeFirst();
  return row ? { version: row.version, content: row.content as unknown as Runbook, sourceFile: row.source_file } : undefined;
}
