import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createMatrixSender, directRoomKey, ensureRoom, MatrixClient, roomTagType, type MatrixEvent } from '../../services/channel/matrix.js';
import { incidentRoomKey } from '../../services/chat/rooms.js';
import { chatLockKey, startChat, type RunningChat } from '../../services/chat/service.js';
import { CorrectionClient } from '../../services/correction/client.js';
import { IncidentClient } from '../../services/incident/client.js';
import { createMailer } from '../../services/notification/mailer.js';
import { installWorkerRuntime } from '../../services/temporal/runtime.js';
import { listTimeline } from '../../services/timeline/repository.js';
import { createCorrexWorker } from '../../services/worker.js';
import { startApi, type RunningApi } from '../support/api.js';
import { createPostgresTestDatabase, eventually, type TestDatabase } from '../support/database.js';
import { projectRoot } from '../support/environment.js';
import { startSynapse, type Synapse, type SynapseUser } from '../support/synapse.js';
import { testNamespace, type RunningWorker } from '../support/temporal.js';

// Matrix paging and incident rooms against a real Synapse (issue #23): Correx's account pages people in
// direct rooms, keeps a room per incident at or above the runbook's level, and acts on `!ack`,
// `!approve` and `!reject` sent there under the API's authority checks.

let synapse: Synapse;
let users: Record<'correx' | 'ada' | 'ben' | 'mallory', SynapseUser>;
let database: TestDatabase;
let worker: RunningWorker;
let api: RunningApi;
let chat: RunningChat;
let runbooksDir: string;
let outbox: string;

const as = (user: SynapseUser) => new MatrixClient({ homeserver: synapse.url, accessToken: user.accessToken });

/** A Correx worker on this file's namespace of the dev server, paging through the Matrix sender. */
async function startWorker(matrix: MatrixClient): Promise<RunningWorker> {
  installWorkerRuntime('warn');
  const address = inject('temporalAddress');
  const namespace = await testNamespace();
  const connection = await Connection.connect({ address });
  const native = await NativeConnection.connect({ address });
  const client = new Client({ connection, namespace });
  const taskQueue = `test-chat-${Date.now()}`;
  const db = database.db;
  const w = await createCorrexWorker({
    connection: native,
    namespace,
    taskQueue,
    db,
    mailer: createMailer({ smtpUrl: undefined, outboxDir: outbox, from: 'correx@test.local' }),
    drillMailer: createMailer({ smtpUrl: undefined, outboxDir: path.join(outbox, 'drills'), from: 'correx@test.local' }),
    secret: () => undefined,
    publicUrl: () => api?.url ?? 'http://correx.test',
    client,
    senders: { matrix: createMatrixSender({ db, matrix }) },
    workflowBundle: { code: await readFile(inject('workflowBundlePath'), 'utf8') },
  });
  const running = w.run();
  return {
    worker: w,
    client,
    connection,
    taskQueue,
    async stop() {
      if (w.getState() === 'RUNNING') w.shutdown();
      await running;
      await native.close();
      await connection.close();
    },
  };
}

beforeAll(async () => {
  synapse = await startSynapse();
  console.log(`Synapse answered after ${synapse.startedInMs} ms`);
  const [correx, ada, ben, mallory] = await Promise.all(['correx', 'ada', 'ben', 'mallory'].map((name) => synapse.register(name)));
  users = { correx: correx!, ada: ada!, ben: ben!, mallory: mallory! };
  database = await createPostgresTestDatabase();
  runbooksDir = await mkdtemp(path.join(os.tmpdir(), 'correx-chat-runbooks-'));
  outbox = await mkdtemp(path.join(os.tmpdir(), 'correx-chat-outbox-'));
  await copyFile(path.join(projectRoot, 'test/fixtures/runbooks/matrix-rooms.yaml'), path.join(runbooksDir, 'matrix-model.yaml'));
  const matrix = as(users.correx);
  worker = await startWorker(matrix);
  api = await startApi(database.db, worker, { runbooksDir });
  chat = chatFor(matrix);
  await chat.leading();
}, 120_000);

afterAll(async () => {
  await chat?.stop();
  await api?.close();
  await worker?.stop();
  await database?.destroy();
  await synapse?.stop();
  for (const dir of [runbooksDir, outbox]) if (dir) await rm(dir, { recursive: true, force: true });
});

async function trigger(title: string, severity: string, dedupKey: string): Promise<{ id: string; workflowId: string }> {
  const token = await api.token('ops-bot', ['responder']);
  const opened = await api.call('POST', '/v1/incidents', { token, body: { systemId: 'matrix-model', title, severity, dedupKey } });
  expect(opened.status, JSON.stringify(opened.body)).toBe(202);
  const id = opened.body.incidentId as string;
  const row = await eventually(() => database.db.selectFrom('incidents').select('workflow_id').where('id', '=', id).executeTakeFirst());
  return { id, workflowId: row.workflow_id };
}

/** The room a row of `chat_rooms` names, once created. */
const roomOf = (key: string) =>
  eventually(async () => (await database.db.selectFrom('chat_rooms').select('room_id').where('key', '=', key).executeTakeFirst())?.room_id ?? undefined);

/** A user's view of a room's messages, oldest first, once `wanted` matches one of them. */
async function messagesUntil(client: MatrixClient, roomId: string, wanted: (body: string) => boolean): Promise<MatrixEvent[]> {
  return eventually(async () => {
    const events = (await client.messages(roomId, { limit: 100 })).filter((e) => e.type === 'm.room.message').reverse();
    return events.some((e) => wanted(String(e.content.body))) ? events : undefined;
  });
}

function chatFor(matrix: MatrixClient, options: { timelineLimit?: number } = {}): RunningChat {
  return startChat({
    ...options,
    db: database.db,
    matrix,
    incidents: new IncidentClient(worker.client, worker.taskQueue),
    corrections: new CorrectionClient(worker.client),
    publicUrl: api.url,
    exclusive: true,
    syncTimeoutMs: 1_000,
    roomsIntervalMs: 200,
  });
}

let txn = 0;
const say = (client: MatrixClient, roomId: string, body: string) => client.sendMessage(roomId, `test-${Date.now()}-${++txn}`, { body });

describe('paging through Matrix', () => {
  it('pages the on-call person in their direct room; !ack there acknowledges as them, on the timeline with the Matrix identity, and paging stops', async () => {
    await api.token('ada', ['responder']);
    const incident = await trigger('Assistant leaks ticket contents', 'SEV3', 'leak-sev3');

    // The page reaches Ada's own Matrix account: she is invited to a direct room and reads it with her token.
    const roomId = await roomOf(directRoomKey('ada', users.ada.userId));
    const ada = as(users.ada);
    await ada.join(roomId);
    const seen = await messagesUntil(ada, roomId, (body) => body.includes('Assistant leaks ticket contents'));
    const page = String(seen.find((e) => String(e.content.body).includes('Assistant leaks ticket contents'))!.content.body);
    expect(page).toContain(`${api.url}/console/incidents/${incident.id}`);
    expect(page).toContain('!ack');
    expect(page).toMatch(/CLI: correx /);
    const pageSent = await eventually(async () => (await listTimeline(database.db, incident.id)).find((e) => e.kind === 'page.sent'));
    expect(pageSent.data).toMatchObject({ person: 'ada', channel: 'matrix' });
    // SEV3 is below the runbook's incidentRoom level: no incident room.
    expect(await database.db.selectFrom('chat_rooms').select('key').where('key', '=', incidentRoomKey(incident.id)).executeTakeFirst()).toBeUndefined();

    const ack = await say(ada, roomId, '!ack');
    const acknowledged = await eventually(async () => (await listTimeline(database.db, incident.id)).find((e) => e.kind === 'incident.acknowledged'));
    expect(acknowledged.actor).toBe('ada');
    expect(acknowledged.data).toMatchObject({ commander: 'ada', via: { channel: 'matrix', user: users.ada.userId, room: roomId, event: ack } });
    const row = await database.db.selectFrom('incidents').select(['state', 'commander']).where('id', '=', incident.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ state: 'acknowledged', commander: 'ada' });
    await messagesUntil(ada, roomId, (body) => body.startsWith('Acknowledged by ada'));
    // Paging stops: the escalation ends.
    const escalation = worker.client.workflow.getHandle(`${incident.workflowId}/escalation/${incident.id}`);
    await eventually(async () => ((await escalation.describe()).status.name === 'COMPLETED' ? true : undefined));
    // The command is on record once; a second !ack is refused by the workflow (already acknowledged), not acted on twice.
    expect(await database.db.selectFrom('chat_commands').select(['outcome', 'person']).where('event_id', '=', ack).executeTakeFirstOrThrow()).toEqual({
      outcome: 'done',
      person: 'ada',
    });
  });
});

describe('incident rooms', () => {
  it('opens a room for a SEV2 with its responders, posts the key events, and acts on !approve from an approver but not from an unmapped user', async () => {
    await api.token('ben', ['approver']);
    const adaToken = await api.token('ada', ['responder']);
    const incident = await trigger('Assistant gives refund advice it must not', 'SEV2', 'refunds-sev2');
    const roomId = await roomOf(incidentRoomKey(incident.id));

    // Ada (level 1) and Ben (level 2) are invited; Ben reads the room with his own token.
    const members = await eventually(async () => {
      const response = await fetch(`${synapse.url}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/members`, {
        headers: { authorization: `Bearer ${users.correx.accessToken}` },
      });
      const chunk = ((await response.json()) as { chunk: { state_key: string; content: { membership: string } }[] }).chunk;
      return chunk.length >= 3 ? chunk : undefined;
    });
    expect(Object.fromEntries(members.map((m) => [m.state_key, m.content.membership]))).toMatchObject({
      [users.ada.userId]: 'invite',
      [users.ben.userId]: 'invite',
      [users.correx.userId]: 'join',
    });
    const ben = as(users.ben);
    await ben.join(roomId);
    await messagesUntil(ben, roomId, (body) => body.startsWith('Incident opened by') && body.includes('SEV2'));

    // Ada leads through the API and proposes a rollback; the room hears both.
    const acknowledged = await api.call('POST', `/v1/incidents/${incident.id}/acknowledge`, { token: adaToken, body: {} });
    expect(acknowledged.status, JSON.stringify(acknowledged.body)).toBe(200);
    const proposed = await api.call('POST', `/v1/incidents/${incident.id}/corrections`, {
      token: adaToken,
      body: { kind: 'rollback', scope: { all: true }, parameters: { targetVersion: '3.0' }, reason: 'Back to the version that refused' },
    });
    expect(proposed.status, JSON.stringify(proposed.body)).toBe(201);
    const correctionId = proposed.body.correctionId as string;
    await messagesUntil(ben, roomId, (body) => body.startsWith('Correction proposed by ada') && body.includes(correctionId));

    // Mallory has a Matrix account but is no one in the runbook: refused with a reply, and nothing changes.
    await as(users.correx).invite(roomId, users.mallory.userId);
    const mallory = as(users.mallory);
    await mallory.join(roomId);
    const refusedEvent = await say(mallory, roomId, `!approve ${correctionId} looks fine to me`);
    await messagesUntil(ben, roomId, (body) => body.includes(`${users.mallory.userId} is not a person of this incident's runbook`));
    expect(await database.db.selectFrom('approvals').select('actor').where('correction_id', '=', correctionId).execute()).toEqual([]);
    expect(await database.db.selectFrom('chat_commands').select('outcome').where('event_id', '=', refusedEvent).executeTakeFirstOrThrow()).toEqual({
      outcome: 'refused',
    });
    expect((await database.db.selectFrom('corrections').select('state').where('id', '=', correctionId).executeTakeFirstOrThrow()).state).toBe('proposed');

    // Ben approves from the room with a short id: his vote counts, meets the quorum, and the rollback applies.
    const vote = await say(ben, roomId, `!approve ${correctionId.slice(0, 8)} Contained and reversible`);
    const given = await eventually(async () => (await listTimeline(database.db, incident.id)).find((e) => e.kind === 'correction.approval_given'));
    expect(given.actor).toBe('ben');
    expect(given.data).toMatchObject({
      correctionId,
      rationale: 'Contained and reversible',
      via: { channel: 'matrix', user: users.ben.userId, room: roomId, event: vote },
    });
    await eventually(async () => (await listTimeline(database.db, incident.id)).find((e) => e.kind === 'correction.applied'), 30_000);
    const events = await messagesUntil(ben, roomId, (body) => body.includes('applied'));
    const bodies = events.map((e) => String(e.content.body));
    expect(bodies.some((b) => b.startsWith('Acknowledged by ada'))).toBe(true);
    expect(bodies.some((b) => b.startsWith('ben approved correction'))).toBe(true);
    expect(bodies.some((b) => b.startsWith('ben approved') && b.includes('from Matrix'))).toBe(true);
    // Each timeline event is posted once, however many passes the loop made.
    expect(bodies.filter((b) => b.startsWith('Incident opened by')).length).toBe(1);

    // !help answers anyone.
    await say(ben, roomId, '!help');
    await messagesUntil(ben, roomId, (body) => body.startsWith('Correx commands:'));
  });
});

describe('across restarts', () => {
  it('one process at a time runs the rooms and commands; a command sent while none does is handled once, after', async () => {
    const ben = as(users.ben);
    const roomId = (await database.db.selectFrom('chat_rooms').select('room_id').where('kind', '=', 'incident').executeTakeFirstOrThrow()).room_id!;
    const replies = async () => (await ben.messages(roomId, { limit: 100 })).filter((e) => String(e.content.body).startsWith('Correx commands:')).length;
    const before = await replies();

    // A second process waits for the advisory lock while the first holds it.
    const second = chatFor(as(users.correx));
    const secondLeads = second.leading().then(() => true);
    expect(await Promise.race([secondLeads, new Promise((resolve) => setTimeout(() => resolve(false), 1_500))])).toBe(false);

    // The first stops; a command arrives while nobody listens; the second takes over and answers it once.
    await chat.stop();
    const help = await say(ben, roomId, '!help');
    expect(await secondLeads).toBe(true);
    await eventually(async () => ((await replies()) === before + 1 ? true : undefined), 30_000);
    await second.stop();

    // Started again from the stored /sync position: nothing handled twice.
    chat = chatFor(as(users.correx));
    await chat.leading();
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(await replies()).toBe(before + 1);

    // More commands arrive while nobody listens than one /sync carries: the rest are read back, none lost.
    await chat.stop();
    const missed = [];
    for (let i = 0; i < 5; i++) missed.push(await say(ben, roomId, '!help'));
    chat = chatFor(as(users.correx), { timelineLimit: 2 });
    await eventually(async () => ((await replies()) === before + 6 ? true : undefined), 30_000);
    const handled = await database.db.selectFrom('chat_commands').select(['event_id', 'outcome']).where('event_id', 'in', missed).execute();
    expect(handled.map((c) => c.outcome)).toEqual(['help', 'help', 'help', 'help', 'help']);
    expect(await database.db.selectFrom('chat_commands').select('outcome').where('event_id', '=', help).executeTakeFirstOrThrow()).toEqual({ outcome: 'help' });
  }, 60_000);

  it('stops when the connection holding the lock is lost, and takes the lock again on a new one', async () => {
    const ben = as(users.ben);
    const roomId = (await database.db.selectFrom('chat_rooms').select('room_id').where('kind', '=', 'incident').executeTakeFirstOrThrow()).room_id!;
    const holder = async () =>
      (
        await sql<{ pid: number }>`select pid from pg_locks where locktype = 'advisory' and granted and objid = ${Number(chatLockKey & 0xffffffffn)}`.execute(
          database.db,
        )
      ).rows[0]?.pid;
    const before = await eventually(holder);
    // PostgreSQL restarted, failed over, or a proxy dropped the connection.
    await sql`select pg_terminate_backend(${before})`.execute(database.db);
    const after = await eventually(async () => {
      const pid = await holder();
      return pid !== undefined && pid !== before ? pid : undefined;
    }, 30_000);
    expect(after).not.toBe(before);
    const help = await say(ben, roomId, '!help');
    await eventually(
      async () => (await database.db.selectFrom('chat_commands').select('outcome').where('event_id', '=', help).executeTakeFirst())?.outcome ?? undefined,
    );
  }, 60_000);

  it('finds the room made before a crash by its tag, instead of making a second', async () => {
    const matrix = as(users.correx);
    const key = 'direct:nobody:@ada:localhost';
    // The row was written, the homeserver made the room, and the process died before recording its id.
    await database.db.insertInto('chat_rooms').values({ key, kind: 'direct', person: 'nobody', matrix_user: users.ada.userId }).execute();
    const made = await matrix.createRoom({ name: 'made before the crash', invite: [], tag: { type: roomTagType, content: { key } } });
    let created = 0;
    const found = await ensureRoom(database.db, matrix, key, { kind: 'direct' }, async (tag) => {
      created += 1;
      return matrix.createRoom({ tag });
    });
    expect(found).toEqual({ roomId: made, created: false });
    expect(created).toBe(0);
    expect((await database.db.selectFrom('chat_rooms').select('room_id').where('key', '=', key).executeTakeFirstOrThrow()).room_id).toBe(made);
  });
});
