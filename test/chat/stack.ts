import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { createMatrixSender, MatrixClient, type MatrixEvent } from '../../services/channel/matrix.js';
import { startChat, type RunningChat } from '../../services/chat/service.js';
import { CorrectionClient } from '../../services/correction/client.js';
import { IncidentClient } from '../../services/incident/client.js';
import { createMailer } from '../../services/notification/mailer.js';
import { installWorkerRuntime } from '../../services/temporal/runtime.js';
import { createCorrexWorker } from '../../services/worker.js';
import { startApi, type RunningApi } from '../support/api.js';
import { createPostgresTestDatabase, eventually, type TestDatabase } from '../support/database.js';
import { startSynapse, type Synapse, type SynapseUser } from '../support/synapse.js';
import { testNamespace, type RunningWorker } from '../support/temporal.js';

/**
 * Correx with Matrix for a test file: a real Synapse with Correx's account (`correx`) and the users
 * asked for, a PostgreSQL database, a worker on the dev server that pages through the Matrix sender,
 * the HTTP API serving the given runbook files, and the chat loops (rooms and commands).
 */
export interface MatrixStack {
  synapse: Synapse;
  users: Record<string, SynapseUser>;
  database: TestDatabase;
  worker: RunningWorker;
  api: RunningApi;
  chat: RunningChat;
  /** A client acting as a registered user. */
  as(user: string): MatrixClient;
  /** Chat loops as another process of the deployment would run them. */
  chatFor(options?: { timelineLimit?: number }): RunningChat;
  trigger(systemId: string, body: { title: string; severity: string; dedupKey: string }): Promise<{ id: string; workflowId: string }>;
  /** The room a row of `chat_rooms` names, once created. */
  roomOf(key: string): Promise<string>;
  /** A user's view of a room's messages, oldest first, once `wanted` matches one of them. */
  messagesUntil(client: MatrixClient, roomId: string, wanted: (body: string) => boolean): Promise<MatrixEvent[]>;
  say(client: MatrixClient, roomId: string, body: string): Promise<string>;
}

/** Registers hooks that start the stack before the file's tests and stop it after; `runbooks` are YAML texts by system id. */
export function useMatrixStack(options: { users: string[]; runbooks: () => Promise<Record<string, string>> }): MatrixStack {
  const stack = {} as MatrixStack;
  let outbox = '';
  let runbooksDir = '';
  let txn = 0;

  async function startWorker(matrix: MatrixClient): Promise<RunningWorker> {
    installWorkerRuntime('warn');
    const address = inject('temporalAddress');
    const namespace = await testNamespace();
    const connection = await Connection.connect({ address });
    const native = await NativeConnection.connect({ address });
    const client = new Client({ connection, namespace });
    const taskQueue = `test-chat-${Date.now()}`;
    const db = stack.database.db;
    const w = await createCorrexWorker({
      connection: native,
      namespace,
      taskQueue,
      db,
      mailer: createMailer({ smtpUrl: undefined, outboxDir: outbox, from: 'correx@test.local' }),
      drillMailer: createMailer({ smtpUrl: undefined, outboxDir: path.join(outbox, 'drills'), from: 'correx@test.local' }),
      secret: () => undefined,
      publicUrl: () => stack.api?.url ?? 'http://correx.test',
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

  stack.as = (user) => new MatrixClient({ homeserver: stack.synapse.url, accessToken: stack.users[user]!.accessToken });
  stack.chatFor = (chatOptions = {}) =>
    startChat({
      ...chatOptions,
      db: stack.database.db,
      matrix: stack.as('correx'),
      incidents: new IncidentClient(stack.worker.client, stack.worker.taskQueue, { db: stack.database.db }),
      corrections: new CorrectionClient(stack.worker.client),
      publicUrl: stack.api.url,
      exclusive: true,
      syncTimeoutMs: 1_000,
      roomsIntervalMs: 200,
    });
  stack.trigger = async (systemId, body) => {
    const token = await stack.api.token('ops-bot', ['responder']);
    const opened = await stack.api.call('POST', '/v1/incidents', { token, body: { systemId, ...body } });
    expect(opened.status, JSON.stringify(opened.body)).toBe(202);
    const id = opened.body.incidentId as string;
    const row = await eventually(() => stack.database.db.selectFrom('incidents').select('workflow_id').where('id', '=', id).executeTakeFirst());
    return { id, workflowId: row.workflow_id };
  };
  stack.roomOf = (key) =>
    eventually(
      async () => (await stack.database.db.selectFrom('chat_rooms').select('room_id').where('key', '=', key).executeTakeFirst())?.room_id ?? undefined,
    );
  stack.messagesUntil = (client, roomId, wanted) =>
    eventually(async () => {
      const events = (await client.messages(roomId, { limit: 100 })).filter((e) => e.type === 'm.room.message').reverse();
      return events.some((e) => wanted(String(e.content.body))) ? events : undefined;
    });
  stack.say = (client, roomId, body) => client.sendMessage(roomId, `test-${Date.now()}-${++txn}`, { body });

  beforeAll(async () => {
    stack.synapse = await startSynapse();
    console.log(`Synapse answered after ${stack.synapse.startedInMs} ms`);
    const names = ['correx', ...options.users];
    const registered = await Promise.all(names.map((name) => stack.synapse.register(name)));
    stack.users = Object.fromEntries(names.map((name, i) => [name, registered[i]!]));
    stack.database = await createPostgresTestDatabase();
    runbooksDir = await mkdtemp(path.join(os.tmpdir(), 'correx-chat-runbooks-'));
    outbox = await mkdtemp(path.join(os.tmpdir(), 'correx-chat-outbox-'));
    for (const [systemId, text] of Object.entries(await options.runbooks())) await writeFile(path.join(runbooksDir, `${systemId}.yaml`), text);
    stack.worker = await startWorker(stack.as('correx'));
    stack.api = await startApi(stack.database.db, stack.worker, { runbooksDir });
    stack.chat = stack.chatFor();
    await stack.chat.leading();
  }, 120_000);

  afterAll(async () => {
    await stack.chat?.stop();
    await stack.api?.close();
    await stack.worker?.stop();
    await stack.database?.destroy();
    await stack.synapse?.stop();
    for (const dir of [runbooksDir, outbox]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  return stack;
}
