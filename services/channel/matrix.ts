import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { OperatorError } from '../errors.js';
import { ChannelDeliveryError, deliveryTimeoutMs, excerpt, type ChannelSender, type PageMessage } from './delivery.js';
import type { ContactMethod } from './kinds.js';

// --- the client-server API --------------------------------------------------------------------------

/** A Matrix event as /sync and /messages return it (the fields Correx reads). */
export interface MatrixEvent {
  event_id: string;
  type: string;
  sender: string;
  origin_server_ts: number;
  state_key?: string;
  content: Record<string, unknown>;
}

export interface SyncResponse {
  next_batch: string;
  rooms?: {
    join?: Record<string, { timeline?: { events?: MatrixEvent[]; limited?: boolean; prev_batch?: string } }>;
    invite?: Record<string, unknown>;
  };
}

/** The answer of a homeserver that refused a request: its HTTP status and Matrix error code. */
export class MatrixError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'MatrixError';
  }
}

export interface MatrixClientOptions {
  /** The homeserver's base URL (`https://matrix.example.com`), without `/_matrix`. */
  homeserver: string;
  accessToken: string;
  timeoutMs?: number;
}

/**
 * A small typed client over the Matrix client-server API (v3) with the global fetch: what Correx's own
 * account does (page people, keep incident rooms, read the commands sent there). Every send has a
 * transaction id the caller derives from its own idempotency key, so a retried send is the same event.
 */
export class MatrixClient {
  readonly homeserver: string;
  private readonly accessToken: string;
  private readonly timeoutMs: number;
  private own: string | undefined;

  constructor(options: MatrixClientOptions) {
    this.homeserver = options.homeserver.replace(/\/+$/, '');
    this.accessToken = options.accessToken;
    this.timeoutMs = options.timeoutMs ?? deliveryTimeoutMs;
  }

  private async call<T>(method: string, path: string, body?: unknown, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<T> {
    const timeout = AbortSignal.timeout(options.timeoutMs ?? this.timeoutMs);
    let response: Response;
    try {
      response = await fetch(`${this.homeserver}/_matrix/client/v3${path}`, {
        method,
        headers: { authorization: `Bearer ${this.accessToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: options.signal ? AbortSignal.any([timeout, options.signal]) : timeout,
      });
    } catch (error) {
      const e = error as Error & { cause?: { code?: string; message?: string } };
      if (e.name === 'TimeoutError') throw new MatrixError(0, undefined, `the Matrix homeserver did not answer ${method} ${path.split('?')[0]} in time`);
      if (e.name === 'AbortError') throw e;
      throw new MatrixError(0, undefined, `the Matrix homeserver could not be reached: ${e.cause?.code ?? e.cause?.message ?? e.message}`);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const err = parsed as { errcode?: string; error?: string } | undefined;
      throw new MatrixError(
        response.status,
        err?.errcode,
        `the Matrix homeserver answered HTTP ${response.status} to ${method} ${path.split('?')[0]}: ${err?.errcode ? `${err.errcode} ${err.error ?? ''}`.trim() : excerpt(text)}`,
      );
    }
    return parsed as T;
  }

  /** The account's own user id. */
  async whoami(): Promise<string> {
    this.own ??= (await this.call<{ user_id: string }>('GET', '/account/whoami')).user_id;
    return this.own;
  }

  /** A new room; `stateKey` tags it with Correx's own state event so a room created before a crash is found again. */
  async createRoom(options: {
    name?: string;
    topic?: string;
    invite?: string[];
    isDirect?: boolean;
    tag?: { type: string; content: Record<string, unknown> };
  }): Promise<string> {
    const body = {
      preset: options.isDirect ? 'trusted_private_chat' : 'private_chat',
      ...(options.name ? { name: options.name } : {}),
      ...(options.topic ? { topic: options.topic } : {}),
      invite: options.invite ?? [],
      is_direct: options.isDirect ?? false,
      ...(options.tag ? { initial_state: [{ type: options.tag.type, state_key: '', content: options.tag.content }] } : {}),
    };
    return (await this.call<{ room_id: string }>('POST', '/createRoom', body)).room_id;
  }

  async invite(roomId: string, userId: string, reason?: string): Promise<void> {
    try {
      await this.call('POST', `/rooms/${encodeURIComponent(roomId)}/invite`, { user_id: userId, ...(reason ? { reason } : {}) });
    } catch (error) {
      // Already in the room (or invited): nothing to do.
      if (error instanceof MatrixError && error.status === 403 && /already (in|joined|invited)/i.test(error.message)) return;
      throw error;
    }
  }

  async join(roomIdOrAlias: string): Promise<string> {
    return (await this.call<{ room_id: string }>('POST', `/join/${encodeURIComponent(roomIdOrAlias)}`, {})).room_id;
  }

  async joinedRooms(): Promise<string[]> {
    return (await this.call<{ joined_rooms: string[] }>('GET', '/joined_rooms')).joined_rooms;
  }

  /** A state event's content, or undefined when the room has none of that type and key. */
  async stateEvent(roomId: string, type: string, stateKey = ''): Promise<Record<string, unknown> | undefined> {
    try {
      return await this.call<Record<string, unknown>>(
        'GET',
        `/rooms/${encodeURIComponent(roomId)}/state/${encodeURIComponent(type)}/${encodeURIComponent(stateKey)}`,
      );
    } catch (error) {
      if (error instanceof MatrixError && (error.status === 404 || error.status === 403)) return undefined;
      throw error;
    }
  }

  /**
   * Sends an `m.room.message` with `PUT …/send/m.room.message/{txnId}`: the homeserver answers a repeated
   * transaction id with the event it already sent, so a retry never posts twice.
   */
  async sendMessage(roomId: string, txnId: string, content: { body: string; html?: string; msgtype?: 'm.text' | 'm.notice' }): Promise<string> {
    const body = {
      msgtype: content.msgtype ?? 'm.text',
      body: content.body,
      ...(content.html ? { format: 'org.matrix.custom.html', formatted_body: content.html } : {}),
    };
    const path = `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${encodeURIComponent(txnId)}`;
    return (await this.call<{ event_id: string }>('PUT', path, body)).event_id;
  }

  /** Events since `since` (all joined rooms), waiting up to `timeoutMs` for one to arrive. */
  async sync(options: { since?: string; timeoutMs?: number; filter?: Record<string, unknown>; signal?: AbortSignal } = {}): Promise<SyncResponse> {
    const query = new URLSearchParams();
    if (options.since) query.set('since', options.since);
    query.set('timeout', String(options.timeoutMs ?? 0));
    if (options.filter) query.set('filter', JSON.stringify(options.filter));
    return this.call<SyncResponse>('GET', `/sync?${query}`, undefined, {
      timeoutMs: (options.timeoutMs ?? 0) + this.timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /**
   * A room's messages, newest first: the latest, or (`from`) those before a pagination token, down to
   * `to` (a /sync position: where an earlier read stopped) when given. One page; `end` continues it.
   */
  async messages(
    roomId: string,
    options: { limit?: number; from?: string; to?: string; filter?: Record<string, unknown> } = {},
  ): Promise<MatrixEvent[] & { end?: string }> {
    const query = new URLSearchParams({ dir: 'b', limit: String(options.limit ?? 50) });
    if (options.from) query.set('from', options.from);
    if (options.to) query.set('to', options.to);
    if (options.filter) query.set('filter', JSON.stringify(options.filter));
    const page = await this.call<{ chunk: MatrixEvent[]; end?: string }>('GET', `/rooms/${encodeURIComponent(roomId)}/messages?${query}`);
    return Object.assign(page.chunk, page.end ? { end: page.end } : {});
  }
}

/** A transaction id from an idempotency key: the same key, the same id (at most 64 characters of [A-Za-z0-9_-]). */
export function transactionId(idempotencyKey: string): string {
  return `correx-${createHash('sha256').update(idempotencyKey).digest('base64url').slice(0, 40)}`;
}

/** The Matrix account Correx acts as, from the configuration (a token in a file wins over one in the environment). */
export function matrixClientFromConfig(matrix: { homeserver: string; accessToken?: string; accessTokenFile?: string }): MatrixClient {
  let accessToken = matrix.accessToken;
  if (matrix.accessTokenFile) {
    try {
      accessToken = readFileSync(matrix.accessTokenFile, 'utf8').trim();
    } catch (error) {
      throw new OperatorError(
        `CORREX_MATRIX_ACCESS_TOKEN_FILE: cannot read ${matrix.accessTokenFile} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      );
    }
    if (!accessToken) throw new OperatorError(`CORREX_MATRIX_ACCESS_TOKEN_FILE: ${matrix.accessTokenFile} is empty`);
  }
  if (!accessToken) throw new OperatorError('CORREX_MATRIX_HOMESERVER is set but neither CORREX_MATRIX_ACCESS_TOKEN_FILE nor CORREX_MATRIX_ACCESS_TOKEN is');
  return new MatrixClient({ homeserver: matrix.homeserver, accessToken });
}

// --- direct rooms -----------------------------------------------------------------------------------

/** The state event type Correx tags its rooms with (`{ key }`), so a room whose creation was not recorded is found again. */
export const roomTagType = 'org.correx.room';

/**
 * The room `key` names, created at most once: a row is written before the homeserver is asked, and the
 * room id after; a row without a room id (a crash in between) is first looked for among the rooms the
 * account has joined, by the tag the room was created with.
 */
export async function ensureRoom(
  db: Kysely<Database>,
  matrix: MatrixClient,
  key: string,
  row: { kind: 'incident' | 'direct'; incidentId?: string; person?: string; matrixUser?: string },
  create: (tag: { type: string; content: Record<string, unknown> }) => Promise<string>,
): Promise<{ roomId: string; created: boolean }> {
  const existing = await db.selectFrom('chat_rooms').select(['room_id']).where('key', '=', key).executeTakeFirst();
  if (existing?.room_id) return { roomId: existing.room_id, created: false };
  // On record first (its own statement), so that a crash while the homeserver creates the room is noticed.
  await db
    .insertInto('chat_rooms')
    .values({ key, kind: row.kind, incident_id: row.incidentId ?? null, person: row.person ?? null, matrix_user: row.matrixUser ?? null })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  // One creator at a time per room (workers paging the same person at once): the others wait, then find it.
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext(${`correx:chat-room:${key}`}))`.execute(trx);
    const current = await trx.selectFrom('chat_rooms').select(['room_id']).where('key', '=', key).executeTakeFirstOrThrow();
    if (current.room_id) return { roomId: current.room_id, created: false };
    // A row without a room from before this attempt: perhaps created before a crash, so looked for by its tag.
    if (existing) {
      for (const roomId of await matrix.joinedRooms()) {
        const tag = await matrix.stateEvent(roomId, roomTagType);
        if (tag?.key === key) {
          await trx
            .updateTable('chat_rooms')
            .set({ room_id: roomId, updated_at: sql`now()` })
            .where('key', '=', key)
            .execute();
          return { roomId, created: false };
        }
      }
    }
    const roomId = await create({ type: roomTagType, content: { key } });
    await trx
      .updateTable('chat_rooms')
      .set({ room_id: roomId, updated_at: sql`now()` })
      .where('key', '=', key)
      .execute();
    return { roomId, created: true };
  });
}

/** The direct room between Correx's account and one person's Matrix account. */
export function directRoomKey(person: string, matrixUser: string): string {
  return `direct:${person}:${matrixUser}`;
}

/** A page as a Matrix message: what happened, what to do, where, and how to acknowledge from the room. */
export function pageText(page: PageMessage): { body: string; html: string } {
  // An escalation page is answered with !ack; a request for a vote (decision-requested, lift…) with !approve or !reject.
  const ack = ['escalation', 'hand-off'].includes(page.reason)
    ? 'Reply !ack in this room to acknowledge (stops the paging; the first to acknowledge leads the incident). !help lists the commands.'
    : 'Reply !approve <correction id> <rationale> or !reject <correction id> <rationale> in this room to decide, !ack to acknowledge the incident. !help lists the commands.';
  const lines = [page.subject, '', page.text.trim(), '', `To do: ${page.action.what}`, `Console: ${page.action.url}`];
  if (page.action.command) lines.push(`CLI: ${page.action.command}`);
  lines.push('', ack);
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const html = [
    `<p><strong>${esc(page.subject)}</strong></p>`,
    `<p>${esc(page.text.trim()).replace(/\n/g, '<br>')}</p>`,
    `<p>To do: <a href="${esc(page.action.url)}">${esc(page.action.what)}</a>${page.action.command ? `<br>CLI: <code>${esc(page.action.command)}</code>` : ''}</p>`,
    `<p>${esc(ack)}</p>`,
  ].join('');
  return { body: lines.join('\n'), html };
}

/**
 * The Matrix channel: a page goes to the direct room between Correx's account and the person (created
 * once per person and Matrix account, remembered in `chat_rooms`), with the page's idempotency key as
 * the transaction id, so a retried delivery is the same message. The room remembers the incident paged
 * last, which `!ack` sent there acknowledges.
 */
export function createMatrixSender(options: { db: Kysely<Database>; matrix: MatrixClient }): ChannelSender<Extract<ContactMethod, { channel: 'matrix' }>> {
  const { db, matrix } = options;
  return {
    async send(contact, page) {
      try {
        const key = directRoomKey(page.person.id, contact.user);
        const { roomId, created } = await ensureRoom(db, matrix, key, { kind: 'direct', person: page.person.id, matrixUser: contact.user }, (tag) =>
          matrix.createRoom({ name: 'Correx pages', topic: `Pages for ${page.person.name} from Correx`, invite: [contact.user], isDirect: true, tag }),
        );
        // Someone who left the room is asked back: the page must reach them.
        if (!created) await matrix.invite(roomId, contact.user).catch(() => {});
        await db
          .updateTable('chat_rooms')
          .set({ last_incident_id: page.incidentId, updated_at: sql`now()` })
          .where('key', '=', key)
          .execute();
        const text = pageText(page);
        const eventId = await matrix.sendMessage(roomId, transactionId(`page:${page.idempotencyKey}`), text);
        return { reference: eventId };
      } catch (error) {
        if (error instanceof ChannelDeliveryError) throw error;
        throw new ChannelDeliveryError('matrix', (error as Error).message);
      }
    },
  };
}
