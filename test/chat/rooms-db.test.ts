import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureRoom, type MatrixClient } from '../../services/channel/matrix.js';
import { testDatabaseBackends, type TestDatabase } from '../support/database.js';

// Room creation on both databases (`correx dev` runs on the embedded one): the row first, one creator at
// a time, and the room id after, without a homeserver (a fake account that counts what it is asked).

describe.each(testDatabaseBackends)('chat rooms on $backend', ({ create }) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await create();
  });
  afterAll(() => database.destroy());

  it('are created once, even when asked for at the same time', async () => {
    let made = 0;
    const matrix = { joinedRooms: async () => [], stateEvent: async () => undefined } as unknown as MatrixClient;
    const createRoom = async () => {
      made += 1;
      await new Promise((resolve) => setTimeout(resolve, 50));
      return `!room${made}:example.org`;
    };
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => ensureRoom(database.db, matrix, 'direct:ada:@ada:example.org', { kind: 'direct', person: 'ada' }, createRoom)),
    );
    expect(made).toBe(1);
    expect(new Set(answers.map((a) => a.roomId))).toEqual(new Set(['!room1:example.org']));
    expect(answers.filter((a) => a.created)).toHaveLength(1);
    const row = await database.db.selectFrom('chat_rooms').selectAll().where('key', '=', 'direct:ada:@ada:example.org').executeTakeFirstOrThrow();
    expect(row).toMatchObject({ kind: 'direct', person: 'ada', room_id: '!room1:example.org', posted_seq: 0 });
  });
});
