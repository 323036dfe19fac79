import type { Kysely, Selectable } from 'kysely';
import type { ApiTokensTable, ConsoleSessionsTable, Database } from '../db/schema.js';
import { Batched } from '../db/batch.js';
import { jsonb } from '../db/jsonb.js';
import { parseDuration } from '../duration.js';
import { roles as knownRoles, type Principal, type Role } from './roles.js';
import type { TokenRecord, TokenRequest } from './schema.js';
import { hashToken, mintToken } from './token.js';

function toRecord(row: Selectable<ApiTokensTable>): TokenRecord {
  return {
    id: row.id,
    prefix: row.prefix,
    kind: row.kind,
    owner: row.owner,
    roles: row.roles,
    description: row.description,
    systemId: row.system_id,
    createdAt: row.created_at.toISOString(),
    createdBy: row.created_by,
    expiresAt: row.expires_at?.toISOString() ?? null,
    revokedAt: row.revoked_at?.toISOString() ?? null,
    lastUsedAt: row.last_used_at?.toISOString() ?? null,
  };
}

/** Creates a token; its secret is returned here once and never stored. */
export async function createToken(
  db: Kysely<Database>,
  request: TokenRequest,
  options: { createdBy?: string; now?: Date } = {},
): Promise<{ secret: string; token: TokenRecord }> {
  const now = options.now ?? new Date();
  const kind = request.integrationKeyFor ? 'integration-key' : 'token';
  const minted = mintToken(kind);
  const row = await db
    .insertInto('api_tokens')
    .values({
      prefix: minted.prefix,
      hash: minted.hash,
      kind,
      owner: request.owner,
      roles: jsonb<string[]>(request.roles),
      description: request.description ?? null,
      system_id: request.integrationKeyFor ?? null,
      created_by: options.createdBy ?? null,
      expires_at: request.expiresIn ? new Date(now.getTime() + parseDuration(request.expiresIn)!) : null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return { secret: minted.secret, token: toRecord(row) };
}

export async function listTokens(db: Kysely<Database>, options: { includeRevoked?: boolean } = {}): Promise<TokenRecord[]> {
  let query = db.selectFrom('api_tokens').selectAll().orderBy('created_at').orderBy('id');
  if (!options.includeRevoked) query = query.where('revoked_at', 'is', null);
  return (await query.execute()).map(toRecord);
}

/** Revokes by id or prefix; revoking twice keeps the first time. Undefined when no token matches. */
export async function revokeToken(db: Kysely<Database>, idOrPrefix: string, now = new Date()): Promise<TokenRecord | undefined> {
  const isId = /^[0-9a-f-]{36}$/i.test(idOrPrefix);
  const row = await db
    .selectFrom('api_tokens')
    .selectAll()
    .where(isId ? 'id' : 'prefix', '=', idOrPrefix)
    .executeTakeFirst();
  if (!row) return undefined;
  if (row.revoked_at) return toRecord(row);
  const revoked = await db.updateTable('api_tokens').set({ revoked_at: now }).where('id', '=', row.id).returningAll().executeTakeFirstOrThrow();
  return toRecord(revoked);
}

export type Authentication = { principal: Principal } | { refused: 'unknown' | 'revoked' | 'expired' };

/** Looks the secret up by hash on every request, so a revocation takes effect at once everywhere. */
export async function authenticate(db: Kysely<Database>, secret: string, now = new Date()): Promise<Authentication> {
  return admit(db, await tokenReads(db).submit(hashToken(secret)), now);
}

/**
 * Token lookups of requests that arrive together go in one query (an alert storm authenticates every
 * payload). No cache: a revoked token is refused by the next query, on every API instance.
 */
const tokenReadsByDatabase = new WeakMap<Kysely<Database>, Batched<string, Selectable<ApiTokensTable> | undefined>>();
function tokenReads(db: Kysely<Database>): Batched<string, Selectable<ApiTokensTable> | undefined> {
  let reads = tokenReadsByDatabase.get(db);
  if (!reads) {
    reads = new Batched(async (hashes) => {
      const rows = await db
        .selectFrom('api_tokens')
        .selectAll()
        .where('hash', 'in', [...new Set(hashes)])
        .execute();
      const byHash = new Map(rows.map((row) => [row.hash, row]));
      return hashes.map((hash) => byHash.get(hash));
    });
    tokenReadsByDatabase.set(db, reads);
  }
  return reads;
}

/** The same checks for a console session, which stands for the token it was opened with. */
export async function authenticateTokenId(db: Kysely<Database>, tokenId: string, now = new Date()): Promise<Authentication> {
  return admit(db, await db.selectFrom('api_tokens').selectAll().where('id', '=', tokenId).executeTakeFirst(), now);
}

async function admit(db: Kysely<Database>, row: Selectable<ApiTokensTable> | undefined, now: Date): Promise<Authentication> {
  if (!row) return { refused: 'unknown' };
  if (row.revoked_at) return { refused: 'revoked' };
  if (row.expires_at && row.expires_at.getTime() <= now.getTime()) return { refused: 'expired' };
  // Coarse on purpose: one write a minute per token, not one per request.
  if (!row.last_used_at || now.getTime() - row.last_used_at.getTime() > 60_000) {
    await db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', row.id).execute();
  }
  return {
    principal: {
      tokenId: row.id,
      prefix: row.prefix,
      owner: row.owner,
      roles: row.roles.filter((r): r is Role => (knownRoles as readonly string[]).includes(r)),
      systemId: row.system_id,
      expiresAt: row.expires_at,
    },
  };
}

/** A console session as stored: the hash of its cookie (never the cookie), its token and CSRF secret. */
export type ConsoleSessionRow = Selectable<ConsoleSessionsTable>;

/** Stores a new session, and sweeps expired ones as it does, so the table never grows without bound. */
export async function recordConsoleSession(
  db: Kysely<Database>,
  s: { idHash: string; tokenId: string; csrf: string; expiresAt: Date },
  now = new Date(),
): Promise<void> {
  await db.insertInto('console_sessions').values({ id_hash: s.idHash, token_id: s.tokenId, csrf: s.csrf, expires_at: s.expiresAt }).execute();
  await db.deleteFrom('console_sessions').where('expires_at', '<', now).execute();
}

export async function findConsoleSession(db: Kysely<Database>, idHash: string): Promise<ConsoleSessionRow | undefined> {
  return db.selectFrom('console_sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
}

export async function deleteConsoleSession(db: Kysely<Database>, idHash: string): Promise<void> {
  await db.deleteFrom('console_sessions').where('id_hash', '=', idHash).execute();
}
