import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { authenticate, createToken } from './repository.js';

export const LOCAL_ADMIN = 'local-admin';

export function localAdminTokenFile(dataDir: string): string {
  return path.resolve(dataDir, 'local-admin.token');
}

/**
 * Local mode's administrator token, kept in the data folder (mode 0600) so the CLI on the same machine
 * works without set-up. Reused across restarts while it is valid; replaced if revoked or lost.
 */
export async function ensureLocalAdminToken(db: Kysely<Database>, dataDir: string): Promise<{ secret: string; file: string; created: boolean }> {
  const file = localAdminTokenFile(dataDir);
  const existing = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (existing && 'principal' in (await authenticate(db, existing))) return { secret: existing, file, created: false };
  const { secret } = await createToken(db, { owner: LOCAL_ADMIN, roles: ['admin'], description: 'correx dev: local administrator' });
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return { secret, file, created: true };
}
