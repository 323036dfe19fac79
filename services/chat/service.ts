import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { sql, type Kysely } from 'kysely';
import type { ChannelSenders } from '../channel/delivery.js';
import { createMatrixSender, matrixClientFromConfig, transactionId, type MatrixClient, type MatrixEvent } from '../channel/matrix.js';
import type { Config } from '../config.js';
import { CorrectionClient } from '../correction/client.js';
import type { Database } from '../db/schema.js';
import { IncidentClient } from '../incident/client.js';
import { parseCommand, runCommand, type CommandDependencies } from './commands.js';
import { syncIncidentRooms } from './rooms.js';
import './schema.js';

/** The PostgreSQL advisory lock only one Correx process of a deployment holds while it runs the chat loops. */
export const chatLockKey = 7_250_224_013n;

/** Only messages: no presence, no account data, no room state beyond what a timeline carries. */
const syncFilter = (timelineLimit: number) => ({
  presence: { not_types: ['*'] },
  account_data: { not_types: ['*'] },
  room: {
    timeline: { types: ['m.room.message'], limit: timelineLimit },
    state: { not_types: ['*'] },
    ephemeral: { not_types: ['*'] },
    account_data: { not_types: ['*'] },
  },
});

export interface ChatOptions extends CommandDependencies {
  matrix: MatrixClient;
  /** The console's origin, for links in incident rooms. */
  publicUrl: string;
  /** Hold the advisory lock (a shared PostgreSQL); false for the embedded single-process database. */
  exclusive: boolean;
  /** How long a /sync waits for a message (30 s by default). */
  syncTimeoutMs?: number;
  /** How often the incident rooms are brought up to date (2 s by default). */
  roomsIntervalMs?: number;
  /** Messages per room one /sync carries (50 by default); more are read back page by page. */
  timelineLimit?: number;
  /** On the first start (no /sync position yet), commands older than this are not acted on (10 minutes by default). */
  firstSyncWindowMs?: number;
  log?: (line: string) => void;
}

export interface RunningChat {
  /** Resolves once this process holds the lock (or at once when not exclusive); for tests. */
  leading(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The Matrix side of Correx in one process of the deployment (whichever holds the advisory lock): the
 * incident rooms kept up to date with their timelines, and the commands people send to incident rooms
 * and page rooms read with /sync and carried out (services/chat/commands.ts). The /sync position is
 * stored after each batch and each command once per Matrix event id, so after a restart nothing is
 * handled twice and nothing sent meanwhile is missed.
 */
export function startChat(options: ChatOptions): RunningChat {
  const log = options.log ?? (() => {});
  const controller = new AbortController();
  const { signal } = controller;
  let markLeading: () => void = () => {};
  const leadingPromise = new Promise<void>((resolve) => (markLeading = resolve));

  const pause = (ms: number, until: AbortSignal = signal) => sleep(ms, undefined, { signal: until }).catch(() => {});

  /**
   * Runs both loops until stopped, or until `alive` fails (the connection holding the lock is gone, and
   * with it the lock): then both stop, so that two processes never run them at once.
   */
  const lead = async (alive: () => Promise<unknown>) => {
    markLeading();
    const lost = new AbortController();
    const ending = AbortSignal.any([signal, lost.signal]);
    const check = async () => {
      try {
        await alive();
      } catch (error) {
        log(`lost the lock's connection (${(error as Error).message}); stopping until it is held again`);
        lost.abort();
        throw error;
      }
    };
    const roomsLoop = async () => {
      while (!ending.aborted) {
        try {
          await check();
          await syncIncidentRooms({ db: options.db, matrix: options.matrix, publicUrl: options.publicUrl, log });
        } catch (error) {
          if (ending.aborted) return;
          log(`incident rooms: ${(error as Error).message}`);
        }
        await pause(options.roomsIntervalMs ?? 2_000, ending);
      }
    };
    const syncLoop = async () => {
      let failures = 0;
      while (!ending.aborted) {
        try {
          await check();
          await syncOnce(options, ending, log);
          failures = 0;
        } catch (error) {
          if (ending.aborted) return;
          failures += 1;
          log(`matrix /sync: ${(error as Error).message}`);
          await pause(Math.min(failures, 10) * 1_000, ending);
        }
      }
    };
    await Promise.all([roomsLoop(), syncLoop()]);
  };

  const running = (async () => {
    await options.matrix.whoami().catch((error: unknown) => log(`matrix: ${(error as Error).message}`));
    while (!signal.aborted) {
      try {
        if (!options.exclusive) {
          await lead(async () => {});
          return;
        }
        await options.db.connection().execute(async (conn) => {
          const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_lock(${chatLockKey}) as locked`.execute(conn);
          if (!rows[0]?.locked) return;
          log('this process runs the Matrix rooms and commands');
          try {
            // A lost connection loses the lock: the loops stop and this process tries for it again.
            await lead(() => sql`select 1`.execute(conn));
          } finally {
            await sql`select pg_advisory_unlock(${chatLockKey})`.execute(conn).catch(() => {});
          }
        });
      } catch (error) {
        if (!signal.aborted) log(`chat: ${(error as Error).message}`);
      }
      await pause(5_000);
    }
  })();

  return {
    leading: () => leadingPromise,
    async stop() {
      controller.abort();
      await running;
    },
  };
}

/** One /sync: each new command in a room Correx keeps, handled once; then the position stored. */
async function syncOnce(options: ChatOptions, signal: AbortSignal, log: (line: string) => void): Promise<void> {
  const { db, matrix } = options;
  const self = await matrix.whoami();
  const stored = await db.selectFrom('chat_sync').select('next_batch').where('account', '=', self).executeTakeFirst();
  const response = await matrix.sync({
    ...(stored ? { since: stored.next_batch } : {}),
    timeoutMs: stored ? (options.syncTimeoutMs ?? 30_000) : 0,
    filter: syncFilter(options.timelineLimit ?? 50),
    signal,
  });
  const notBefore = stored ? 0 : Date.now() - (options.firstSyncWindowMs ?? 10 * 60_000);
  for (const [roomId, joined] of Object.entries(response.rooms?.join ?? {})) {
    let timeline = joined.timeline?.events ?? [];
    // More arrived than one sync carries (Correx was down, say): the rest, back to where the last read stopped.
    if (stored && joined.timeline?.limited && joined.timeline.prev_batch)
      timeline = [...(await earlier(matrix, roomId, joined.timeline.prev_batch, stored.next_batch)), ...timeline];
    const events = timeline.filter(
      (e) => e.type === 'm.room.message' && e.sender !== self && typeof e.content.body === 'string' && e.origin_server_ts >= notBefore,
    );
    if (!events.length) continue;
    const room = await db.selectFrom('chat_rooms').select(['kind', 'incident_id', 'last_incident_id']).where('room_id', '=', roomId).executeTakeFirst();
    if (!room) continue;
    for (const event of events) {
      if (signal.aborted) return;
      await handleEvent(options, { roomId, kind: room.kind, incidentId: room.kind === 'incident' ? room.incident_id : room.last_incident_id }, event, log);
    }
  }
  await db
    .insertInto('chat_sync')
    .values({ account: self, next_batch: response.next_batch })
    .onConflict((oc) => oc.column('account').doUpdateSet({ next_batch: response.next_batch, updated_at: sql`now()` }))
    .execute();
}

/** A room's messages between two positions, oldest first (at most 1,000: a command older than that is not acted on). */
async function earlier(matrix: MatrixClient, roomId: string, from: string, to: string): Promise<MatrixEvent[]> {
  const events: MatrixEvent[] = [];
  for (let token: string | undefined = from; token && events.length < 1_000;) {
    const page = await matrix.messages(roomId, { from: token, to, limit: 100, filter: { types: ['m.room.message'] } });
    events.push(...page);
    token = page.length ? page.end : undefined;
  }
  return events.reverse();
}

async function handleEvent(
  options: ChatOptions,
  room: { roomId: string; kind: 'incident' | 'direct'; incidentId: string | null },
  event: MatrixEvent,
  log: (line: string) => void,
): Promise<void> {
  const body = String(event.content.body);
  const command = parseCommand(body);
  if (!command) return;
  const { db, matrix } = options;
  // Once per Matrix event: a command on record and handled is not handled again; one on record but not
  // handled (a crash in between) is, and its vote has the same update id, so it still counts once.
  await db
    .insertInto('chat_commands')
    .values({ event_id: event.event_id, room_id: room.roomId, sender: event.sender, body: body.slice(0, 2000), person: null, incident_id: null })
    .onConflict((oc) => oc.column('event_id').doNothing())
    .execute();
  const row = await db.selectFrom('chat_commands').select(['outcome', 'reply']).where('event_id', '=', event.event_id).executeTakeFirstOrThrow();
  let reply = row.reply;
  if (row.outcome === null) {
    const outcome = await runCommand(options, command, { room, sender: event.sender, eventId: event.event_id });
    reply = outcome.reply;
    await db
      .updateTable('chat_commands')
      .set({ outcome: outcome.outcome, reply: outcome.reply, person: outcome.person ?? null, incident_id: outcome.incidentId ?? null, handled_at: new Date() })
      .where('event_id', '=', event.event_id)
      .execute();
    log(`${event.sender} in ${room.roomId}: ${body.split('\n')[0]} → ${outcome.outcome}`);
  }
  // The reply's transaction id is the command's event id: sent again after a crash, it is the same message.
  if (reply) await matrix.sendMessage(room.roomId, transactionId(`reply:${event.event_id}`), { body: reply, msgtype: 'm.notice' });
}

/** The Matrix sender a worker pages with (`senders` of createCorrexWorker), when Matrix is configured. */
export function configuredMatrixSenders(config: Pick<Config, 'matrix'>, db: Kysely<Database>): ChannelSenders {
  return config.matrix ? { matrix: createMatrixSender({ db, matrix: matrixClientFromConfig(config.matrix) }) } : {};
}

/**
 * The incident rooms and the command listener in an API process, when Matrix is configured: one process
 * of the deployment runs them at a time (`exclusive`: the advisory lock, on a shared PostgreSQL).
 */
export function startConfiguredChat(
  config: Pick<Config, 'matrix' | 'publicUrl' | 'temporal'>,
  deps: { db: Kysely<Database>; client: Client; exclusive: boolean; say: (line: string) => void },
): { stop(): Promise<void> } {
  if (!config.matrix) return { stop: async () => {} };
  const matrix = matrixClientFromConfig(config.matrix);
  deps.say(`Matrix: incident rooms and commands through ${config.matrix.homeserver}`);
  return startChat({
    db: deps.db,
    matrix,
    incidents: new IncidentClient(deps.client, config.temporal.taskQueue, { db: deps.db }),
    corrections: new CorrectionClient(deps.client),
    publicUrl: config.publicUrl,
    exclusive: deps.exclusive,
    log: (line) => deps.say(`matrix: ${line}`),
  });
}
