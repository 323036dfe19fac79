import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { authenticateTokenId, deleteConsoleSession, findConsoleSession, recordConsoleSession } from '../access/repository.js';
import type { Principal } from '../access/roles.js';
import type { Database } from '../db/schema.js';

/** A working day: long enough for an incident shift, short enough that a forgotten phone signs out. */
export const SESSION_LIFETIME_MS = 12 * 60 * 60 * 1000;

export interface ConsoleSession {
  principal: Principal;
  /** Sent back in every form; a POST without it is refused. */
  csrf: string;
  expiresAt: Date;
}

const hashOf = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');

export function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Opens a session for an authenticated token; it ends with the token if the token expires first. */
export async function openSession(db: Kysely<Database>, principal: Principal, now = new Date()): Promise<{ cookie: string; session: ConsoleSession }> {
  const cookie = randomSecret();
  const csrf = randomSecret();
  const lifetimeEnd = new Date(now.getTime() + SESSION_LIFETIME_MS);
  const expiresAt = principal.expiresAt && principal.expiresAt < lifetimeEnd ? principal.expiresAt : lifetimeEnd;
  await recordConsoleSession(db, { idHash: hashOf(cookie), tokenId: principal.tokenId, csrf, expiresAt }, now);
  return { cookie, session: { principal, csrf, expiresAt } };
}

/** The session a cookie stands for, checked against its token each time (revocation signs out at once). */
export async function findSession(db: Kysely<Database>, cookie: string, now = new Date()): Promise<ConsoleSession | undefined> {
  const row = await findConsoleSession(db, hashOf(cookie));
  if (!row || row.expires_at <= now) return undefined;
  const authenticated = await authenticateTokenId(db, row.token_id, now);
  if ('refused' in authenticated) return undefined;
  return { principal: authenticated.principal, csrf: row.csrf, expiresAt: row.expires_at };
}

export async function closeSession(db: Kysely<Database>, cookie: string): Promise<void> {
  await deleteConsoleSession(db, hashOf(cookie));
}

export function sameSecret(given: unknown, expected: string): boolean {
  if (typeof given !== 'string' || given.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}
