import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { directRoomKey, ensureRoom, roomTagType } from '../../services/channel/matrix.js';
import { incidentRoomKey } from '../../services/chat/rooms.js';
import { chatLockKey } from '../../services/chat/service.js';
import { listTimeline } from '../../services/timeline/repository.js';
import { incidentStateQuery } from '../../workflows/incident/messages.js';
import { eventually } from '../support/database.js';
import { projectRoot } from '../support/environment.js';
import { useMatrixStack } from './stack.js';

// Matrix paging and incident rooms against a real Synapse (issue #23): Correx's account pages people in
// direct rooms, keeps a room per incident at or above the runbook's level, and acts on `!ack`,
// `!approve` and `!reject` sent there under the API's authority checks.

const stack = useMatrixStack({
  users: ['ada', 'ben', 'mallory'],
  runbooks: async () => ({ 'matrix-model': await readFile(path.join(projectRoot, 'test/fixtures/runbooks/matrix-rooms.yaml'), 'utf8') }),
});
const as = (user: string) => stack.as(user);
const say: typeof stack.say = (...args) => stack.say(...args);
const roomOf = (key: string) => stack.roomOf(key);
const messagesUntil: typeof stack.messagesUntil = (...args) => stack.messagesUntil(...args);
const trigger = (title: string, severity: string, dedupKey: string) => stack.trigger('matrix-model', { title, severity, dedupKey });

describe('paging through Matrix', () => {
  it('pages the on-call person in their direct room; !ack there acknowledges as them, on the timeline with the Matrix identity, and paging stops', async () => {
    await stack.api.token('ada', ['responder']);
    const incident = await trigger('Assistant leaks ticket contents', 'SEV3', 'leak-sev3');

    // The page reaches Ada's own Matrix account: she is invited to a direct room and reads it with her token.
    const roomId = await roomOf(directRoomKey('ada', stack.users.ada!.userId));
    const ada = as('ada');
    await ada.join(roomId);
    const seen = await messagesUntil(ada, roomId, (body) => body.includes('Assistant leaks ticket contents'));
    const page = String(seen.find((e) => String(e.content.body).includes('Assistant leaks ticket contents'))!.content.body);
    expect(page).toContain(`${stack.api.url}/console/incidents/${incident.id}`);
    expect(page).toContain('!ack');
    expect(page).toMatch(/CLI: correx /);
    const pageSent = await eventually(async () => (await listTimeline(stack.database.db, incident.id)).find((e) => e.kind === 'page.sent'));
    expect(pageSent.data).toMatchObject({ person: 'ada', channel: 'matrix' });
    // SEV3 is below the runbook's incidentRoom level: no incident room.
    expect(await stack.database.db.selectFrom('chat_rooms').select('key').where('key', '=', incidentRoomKey(incident.id)).executeTakeFirst()).toBeUndefined();

    const ack = await say(ada, roomId, '!ack');
    const acknowledged = await eventually(async () => (await listTimeline(stack.database.db, incident.id)).find((e) => e.kind === 'incident.acknowledged'));
    expect(acknowledged.actor).toBe('ada');
    expect(acknowledged.data).toMatchObject({ commander: 'ada', via: { channel: 'matrix', user: stack.users.ada!.userId, room: roomId, event: ack } });
    const row = await stack.database.db.selectFrom('incidents').select(['state', 'commander']).where('id', '=', incident.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ state: 'acknowledged', commander: 'ada' });
    await messagesUntil(ada, roomId, (body) => body.startsWith('Acknowledged by ada'));
    // Paging stops, stopped by her acknowledgement.
    const escalation = async () => (await stack.worker.client.workflow.getHandle(incident.workflowId).query(incidentStateQuery)).escalation;
    await eventually(async () => ((await escalation())?.state === 'stopped' ? true : undefined));
    expect(await escalation()).toMatchObject({ state: 'stopped', stoppedBy: 'ada' });
    // The command is on record once; a second !ack is refused by the workflow (already acknowledged), not acted on twice.
    expect(await stack.database.db.selectFrom('chat_commands').select(['outcome', 'person']).where('event_id', '=', ack).executeTakeFirstOrThrow()).toEqual({
      outcome: 'done',
      person: 'ada',
    });
  });
});

describe('incident rooms', () => {
  it('opens a room for a SEV2 with its responders, posts the key events, and acts on !approve from an approver but not from an unmapped user', async () => {
    await stack.api.token('ben', ['approver']);
    const adaToken = await stack.api.token('ada', ['responder']);
    const incident = await trigger('Assistant gives refund advice it must not', 'SEV2', 'refunds-sev2');
    const roomId = await roomOf(incidentRoomKey(incident.id));

    // Ada (level 1) and Ben (level 2) are invited; Ben reads the room with his own token.
    const members = await eventually(async () => {
      const response = await fetch(`${stack.synapse.url}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/members`, {
        headers: { authorization: `Bearer ${stack.users.correx!.accessToken}` },
      });
      const chunk = ((await response.json()) as { chunk: { state_key: string; content: { membership: string } }[] }).chunk;
      return chunk.length >= 3 ? chunk : undefined;
    });
    expect(Object.fromEntries(members.map((m) => [m.state_key, m.content.membership]))).toMatchObject({
      [stack.users.ada!.userId]: 'invite',
      [stack.users.ben!.userId]: 'invite',
      [stack.users.correx!.userId]: 'join',
    });
    const ben = as('ben');
    await ben.join(roomId);
    await messagesUntil(ben, roomId, (body) => body.startsWith('Incident opened by') && body.includes('SEV2'));

    // Ada leads through the API and proposes a rollback; the room hears both.
    const acknowledged = await stack.api.call('POST', `/v1/incidents/${incident.id}/acknowledge`, { token: adaToken, body: {} });
    expect(acknowledged.status, JSON.stringify(acknowledged.body)).toBe(200);
    const proposed = await stack.api.call('POST', `/v1/incidents/${incident.id}/corrections`, {
      token: adaToken,
      body: { kind: 'rollback', scope: { all: true }, parameters: { targetVersion: '3.0' }, reason: 'Back to the version that refused' },
    });
    expect(proposed.status, JSON.stringify(proposed.body)).toBe(201);
    const correctionId = proposed.body.correctionId as string;
    await messagesUntil(ben, roomId, (body) => body.startsWith('Correction proposed by ada') && body.includes(correctionId));

    // Mallory has a Matrix account but is no one in the runbook: refused with a reply, and nothing changes.
    await as('correx').invite(roomId, stack.users.mallory!.userId);
    const mallory = as('mallory');
    await mallory.join(roomId);
    const refusedEvent = await say(mallory, roomId, `!approve ${correctionId} looks fine to me`);
    await messagesUntil(ben, roomId, (body) => body.includes(`${stack.users.mallory!.userId} is not a person of this incident's runbook`));
    expect(await stack.database.db.selectFrom('approvals').select('actor').where('correction_id', '=', correctionId).execute()).toEqual([]);
    expect(await stack.database.db.selectFrom('chat_commands').select('outcome').where('event_id', '=', refusedEvent).executeTakeFirstOrThrow()).toEqual({
      outcome: 'refused',
    });
    expect((await stack.database.db.selectFrom('corrections').select('state').where('id', '=', correctionId).executeTakeFirstOrThrow()).state).toBe('proposed');

    // Ben approves from the room with a short id: his vote counts, meets the quorum, and the rollback applies.
    const vote = await say(ben, roomId, `!approve ${correctionId.slice(0, 8)} Contained and reversible`);
    const given = await eventually(async () => (await listTimeline(stack.database.db, incident.id)).find((e) => e.kind === 'correction.approval_given'));
    expect(given.actor).toBe('ben');
    expect(given.data).toMatchObject({
      correctionId,
      rationale: 'Contained and reversible',
      via: { channel: 'matrix', user: stack.users.ben!.userId, room: roomId, event: vote },
    });
    await eventually(async () => (await listTimeline(stack.database.db, incident.id)).find((e) => e.kind === 'correction.applied'), 30_000);
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
    const ben = as('ben');
    const roomId = (await stack.database.db.selectFrom('chat_rooms').select('room_id').where('kind', '=', 'incident').executeTakeFirstOrThrow()).room_id!;
    const replies = async () => (await ben.messages(roomId, { limit: 100 })).filter((e) => String(e.content.body).startsWith('Correx commands:')).length;
    const before = await replies();

    // A second process waits for the advisory lock while the first holds it.
    const second = stack.chatFor();
    const secondLeads = second.leading().then(() => true);
    expect(await Promise.race([secondLeads, new Promise((resolve) => setTimeout(() => resolve(false), 1_500))])).toBe(false);

    // The first stops; a command arrives while nobody listens; the second takes over and answers it once.
    await stack.chat.stop();
    const help = await say(ben, roomId, '!help');
    expect(await secondLeads).toBe(true);
    await eventually(async () => ((await replies()) === before + 1 ? true : undefined), 30_000);
    await second.stop();

    // Started again from the stored /sync position: nothing handled twice.
    stack.chat = stack.chatFor();
    await stack.chat.leading();
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(await replies()).toBe(before + 1);

    // More commands arrive while nobody listens than one /sync carries: the rest are read back, none lost.
    await stack.chat.stop();
    const missed = [];
    for (let i = 0; i < 5; i++) missed.push(await say(ben, roomId, '!help'));
    stack.chat = stack.chatFor({ timelineLimit: 2 });
    await eventually(async () => ((await replies()) === before + 6 ? true : undefined), 30_000);
    const handled = await stack.database.db.selectFrom('chat_commands').select(['event_id', 'outcome']).where('event_id', 'in', missed).execute();
    expect(handled.map((c) => c.outcome)).toEqual(['help', 'help', 'help', 'help', 'help']);
    expect(await stack.database.db.selectFrom('chat_commands').select('outcome').where('event_id', '=', help).executeTakeFirstOrThrow()).toEqual({
      outcome: 'help',
    });
  }, 60_000);

  it('stops when the connection holding the lock is lost, and takes the lock again on a new one', async () => {
    const ben = as('ben');
    const roomId = (await stack.database.db.selectFrom('chat_rooms').select('room_id').where('kind', '=', 'incident').executeTakeFirstOrThrow()).room_id!;
    const holder = async () =>
      (
        await sql<{ pid: number }>`select pid from pg_locks where locktype = 'advisory' and granted and objid = ${Number(chatLockKey & 0xffffffffn)}`.execute(
          stack.database.db,
        )
      ).rows[0]?.pid;
    const before = await eventually(holder);
    // PostgreSQL restarted, failed over, or a proxy dropped the connection.
    await sql`select pg_terminate_backend(${before})`.execute(stack.database.db);
    const after = await eventually(async () => {
      const pid = await holder();
      return pid !== undefined && pid !== before ? pid : undefined;
    }, 30_000);
    expect(after).not.toBe(before);
    const help = await say(ben, roomId, '!help');
    await eventually(
      async () => (await stack.database.db.selectFrom('chat_commands').select('outcome').where('event_id', '=', help).executeTakeFirst())?.outcome ?? undefined,
    );
  }, 60_000);

  it('finds the room made before a crash by its tag, instead of making a second', async () => {
    const matrix = as('correx');
    const key = 'direct:nobody:@ada:localhost';
    // The row was written, the homeserver made the room, and the process died before recording its id.
    await stack.database.db.insertInto('chat_rooms').values({ key, kind: 'direct', person: 'nobody', matrix_user: stack.users.ada!.userId }).execute();
    const made = await matrix.createRoom({ name: 'made before the crash', invite: [], tag: { type: roomTagType, content: { key } } });
    let created = 0;
    const found = await ensureRoom(stack.database.db, matrix, key, { kind: 'direct' }, async (tag) => {
      created += 1;
      return matrix.createRoom({ tag });
    });
    expect(found).toEqual({ roomId: made, created: false });
    expect(created).toBe(0);
    expect((await stack.database.db.selectFrom('chat_rooms').select('room_id').where('key', '=', key).executeTakeFirstOrThrow()).room_id).toBe(made);
  });
});
