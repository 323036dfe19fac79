import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { canonicalJson } from '../canonical-json.js';
import { jsonb } from '../db/jsonb.js';
import type { Database } from '../db/schema.js';

/**
 * The `Idempotency-Key` request header of an action that must not happen twice when a client retries
 * after a lost answer. Loose: the other headers pass through untouched.
 */
export const IdempotencyKeyHeaders = z.looseObject({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
    .optional()
    .meta({
      description:
        'A fresh value (a UUID) per action, sent again unchanged on each retry of it. The same key from the same token answers with the result of the first request, without acting again; the same key with a different request answers 422. Keys are kept for 24 hours.',
    }),
});

/** A key sent again with a different request: the client has a bug, and acting on it would be a guess. */
export class IdempotencyKeyReused extends Error {
  override readonly name = 'IdempotencyKeyReused';
  readonly statusCode = 422;
}

/** How long a key is remembered; an older one is forgotten and may be used afresh. */
const KEEP_MS = 24 * 60 * 60 * 1000;

export interface IdempotentOutcome<T> {
  status: number;
  body: T;
}

/**
 * Runs an action at most once per `Idempotency-Key` (per token): records the key and the request's
 * fingerprint before acting, runs `act` with an id derived from the key (for the Temporal Update,
 * which Temporal deduplicates, so a retry after an answer was lost gets the first outcome again),
 * stores the answer, and sends it. Without the header, it simply acts.
 */
export async function idempotent<T>(
  db: Kysely<Database>,
  request: FastifyRequest,
  reply: FastifyReply,
  act: (actionId: string | undefined) => Promise<IdempotentOutcome<T>>,
): Promise<FastifyReply> {
  const key = (request.headers as Record<string, unknown>)['idempotency-key'];
  const principal = request.principal;
  if (typeof key !== 'string' || !principal) {
    const outcome = await act(undefined);
    return reply.code(outcome.status).send(outcome.body);
  }
  const operation = `${request.method} ${request.routeOptions.url}`;
  const fingerprint = createHash('sha256')
    .update(canonicalJson({ operation, params: request.params ?? {}, body: request.body ?? null }))
    .digest('hex');
  await db
    .deleteFrom('idempotency_keys')
    .where('token_id', '=', principal.tokenId)
    .where('key', '=', key)
    .where('created_at', '<', new Date(Date.now() - KEEP_MS))
    .execute();
  await db
    .insertInto('idempotency_keys')
    .values({ token_id: principal.tokenId, key, operation, fingerprint })
    .onConflict((oc) => oc.columns(['token_id', 'key']).doNothing())
    .execute();
  const recorded = await db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('token_id', '=', principal.tokenId)
    .where('key', '=', key)
    .executeTakeFirstOrThrow();
  if (recorded.fingerprint !== fingerprint) {
    throw new IdempotencyKeyReused(
      `Idempotency-Key ${key} was first used with a different request (${recorded.operation === operation ? 'another path or body' : recorded.operation}); use a fresh key for a new action`,
    );
  }
  if (recorded.status !== null) {
    return reply.code(recorded.status).header('idempotency-replayed', 'true').send(recorded.response);
  }
  // Not answered yet: never acted, or acted and the answer was lost. Acting again with the same
  // action id is safe either way.
  const actionId = `idempotency-${createHash('sha256').update(`${principal.tokenId}:${key}`).digest('hex').slice(0, 40)}`;
  const outcome = await act(actionId);
  await db
    .updateTable('idempotency_keys')
    .set({ status: outcome.status, response: jsonb(outcome.body as unknown), completed_at: new Date() })
    .where('token_id', '=', principal.tokenId)
    .where('key', '=', key)
    .execute();
  return reply.code(outcome.status).send(outcome.body);
}
