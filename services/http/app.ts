import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Kysely } from 'kysely';
import type { Access, Principal } from '../access/roles.js';
import type { GatewayDependencies } from '../correction/gateways.js';
import type { Database } from '../db/schema.js';
import type { MonitorClient } from '../monitoring/client.js';
import type { RunbookCatalogue } from '../runbook/catalogue.js';
import type { WorkflowClients } from '../temporal/clients.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Every route says who may call it; the service refuses to start with a route that does not. */
    access?: Access;
    /** PagerDuty's clients expect its own error bodies. */
    errorFormat?: 'problem' | 'pagerduty';
    /** Gateway traffic (a decision before each model request): the token is checked from memory, within the policy's staleness bound. */
    gateway?: boolean;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

export type CorrexApp = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger, ZodTypeProvider>;

/**
 * What route modules are given: the typed clients and repositories. The one process-local cache is the
 * policy gateways are answered from, whose staleness is bounded (services/correction/live-policy.ts).
 */
export interface RouteDependencies extends WorkflowClients {
  db: Kysely<Database>;
  gateways: GatewayDependencies;
  runbooks: RunbookCatalogue;
  monitor: MonitorClient;
  /** How long a write waits for its workflow to record the row it answers with (untilRecorded); 10 s by default. */
  recordTimeoutMs?: number;
  /** The Temporal web UI and the namespace, when configured: incidents link their workflow there. */
  temporalUi?: { url: string; namespace: string };
}

/** The person the authenticated token belongs to, recorded in the timeline for what they do. */
export function actorOf(request: FastifyRequest): string {
  if (!request.principal) throw new Error(`route ${request.routeOptions.url} needs a principal but is public`);
  return request.principal.owner;
}

/** A resource named in the path that does not exist. */
export class NotFound extends Error {
  override readonly name = 'NotFound';
}

/**
 * A workflow accepted the request, but the row the answer refers to was not written in time (the worker
 * is down or far behind). Answered 503 with Retry-After: answering as if it were recorded would send the
 * client to read a resource that is not there yet.
 */
export class NotRecordedYet extends Error {
  override readonly name = 'NotRecordedYet';
  readonly retryAfterSeconds = 5;
}

/** What to tell a client whose request was accepted but is not on record yet. */
export interface AcceptedWrite {
  /** What was accepted, e.g. `the incident <id>`. */
  accepted: string;
  /** Whether and how to retry safely, e.g. that the same Idempotency-Key answers with the same correction. */
  retry: string;
}

/**
 * Waits, briefly, until a workflow's first activity has written the row an answer refers to, so a
 * client can act on the id it gets back at once. The workflow will still write it if this gives up,
 * but the answer must not claim it exists: it throws NotRecordedYet, saying what was accepted.
 */
export async function untilRecorded(probe: () => Promise<unknown>, write: AcceptedWrite, timeoutMs = 10_000): Promise<void> {
  // Usually a few milliseconds away: look often at first, then back off.
  for (let waited = 0, attempt = 0; ; attempt++) {
    if (await probe()) return;
    if (waited >= timeoutMs) break;
    const pause = Math.min(attempt < 20 ? 10 : 50, timeoutMs - waited);
    await new Promise((resolve) => setTimeout(resolve, pause));
    waited += pause;
  }
  throw new NotRecordedYet(`${write.accepted} was accepted but is not recorded yet; ${write.retry}`);
}
