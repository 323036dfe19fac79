import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { directRoomKey } from '../../services/channel/matrix.js';
import { whoIsOnCall } from '../../services/schedule/repository.js';
import { listTimeline } from '../../services/timeline/repository.js';
import { eventually } from '../support/database.js';
import { projectRoot } from '../support/environment.js';
import { useMatrixStack } from './stack.js';

// Issue #23's journey: a SEV2 at 03:00 local time pages the person on call under the schedule, not every
// holder of the role, on Matrix, and they acknowledge from there. The schedule's time zone is chosen so
// that it is about 03:00 there now (a fixed-offset zone), so the real worker and dev server run it.

/** The fixed-offset zone (Etc/GMT±n, signs inverted) where the local time is now 03:xx. */
function zoneAtThreeAm(now = new Date()): string {
  let offset = 3 - now.getUTCHours();
  if (offset < -12) offset += 24;
  if (offset > 14) offset -= 24;
  return offset === 0 ? 'Etc/GMT' : offset > 0 ? `Etc/GMT-${offset}` : `Etc/GMT+${-offset}`;
}

const zone = zoneAtThreeAm();

async function nightRunbook(): Promise<string> {
  const runbook = parse(await readFile(path.join(projectRoot, 'test/fixtures/runbooks/matrix-rooms.yaml'), 'utf8')) as Record<string, unknown>;
  const matrix = (id: string) => [{ channel: 'matrix', user: `@${id}:localhost` }];
  const lastWeek = DateTime.now().setZone(zone).minus({ days: 7 }).toFormat('yyyy-MM-dd');
  return stringify({
    ...runbook,
    system: { ...(runbook.system as object), id: 'night-model', name: 'Night support assistant' },
    people: [
      { id: 'dee', name: 'Dee Day', email: 'dee@support.example', roles: ['on-call'], contacts: matrix('dee') },
      { id: 'nora', name: 'Nora Night', email: 'nora@support.example', roles: ['on-call'], contacts: matrix('nora') },
      { id: 'omar', name: 'Omar Owl', email: 'omar@support.example', roles: ['on-call'], contacts: matrix('omar') },
      { id: 'ben', name: 'Ben Okoro', email: 'ben@support.example', roles: ['approver'] },
    ],
    incidentRoom: undefined,
    schedules: [
      {
        id: 'support-nights',
        name: 'Support on call',
        timeZone: zone,
        layers: [
          { id: 'days', members: ['dee'], start: `${lastWeek}T09:00`, shift: '1w' },
          // Nights win where they cover: Nora this week, Omar the next (from last week's 22:00 hand-off).
          { id: 'nights', members: ['nora', 'omar'], start: `${lastWeek}T22:00`, shift: '1w', restrictions: [{ from: '22:00', to: '06:00' }] },
        ],
        fallback: 'dee',
      },
    ],
    escalation: { levels: [{ targets: [{ schedule: 'support-nights' }], ackTimeout: '10m' }], repeat: 0 },
  });
}

/** A rotation handing over every 20 seconds, so a hand-off comes during the test. */
async function relayRunbook(): Promise<string> {
  const runbook = parse(await nightRunbook()) as Record<string, unknown>;
  const minuteAgo = DateTime.now().setZone(zone).minus({ minutes: 1 }).toFormat("yyyy-MM-dd'T'HH:mm");
  return stringify({
    ...runbook,
    system: { ...(runbook.system as object), id: 'relay-model', name: 'Relay assistant' },
    schedules: [{ id: 'relay', name: 'Relay on call', timeZone: zone, layers: [{ id: 'relay', members: ['nora', 'omar'], start: minuteAgo, shift: '20s' }] }],
    escalation: { levels: [{ targets: [{ schedule: 'relay' }], ackTimeout: '10m' }], repeat: 0 },
  });
}

const stack = useMatrixStack({
  users: ['dee', 'nora', 'omar'],
  runbooks: async () => ({ 'night-model': await nightRunbook(), 'relay-model': await relayRunbook() }),
});

describe('a SEV2 at 03:00', () => {
  it('pages the person on call under the schedule on Matrix, who acknowledges from there', async () => {
    expect([3, 4]).toContain(DateTime.now().setZone(zone).hour);
    await stack.api.token('nora', ['responder']);
    const incident = await stack.trigger('night-model', { title: 'Assistant promises refunds at night', severity: 'SEV2', dedupKey: 'night-refunds' });

    const page = await eventually(async () => (await listTimeline(stack.database.db, incident.id)).find((e) => e.kind === 'page.sent'));
    expect(page.data).toMatchObject({ person: 'nora', channel: 'matrix', onCall: { scheduleId: 'support-nights' } });
    const roomId = await stack.roomOf(directRoomKey('nora', stack.users.nora!.userId));
    const nora = stack.as('nora');
    await nora.join(roomId);
    // The page says why her: which schedule, and what put her on call there.
    await stack.messagesUntil(
      nora,
      roomId,
      (body) =>
        body.includes('Assistant promises refunds at night') &&
        body.includes('!ack') &&
        body.includes("You are on call under schedule 'Support on call' (support-nights) by your turn in rotation 'nights'"),
    );

    const ack = await stack.say(nora, roomId, '!ack');
    const acknowledged = await eventually(async () => (await listTimeline(stack.database.db, incident.id)).find((e) => e.kind === 'incident.acknowledged'));
    expect(acknowledged).toMatchObject({ actor: 'nora', data: { commander: 'nora', via: { channel: 'matrix', user: stack.users.nora!.userId, event: ack } } });
    // Only the person on call was paged: not Dee (days, fallback) nor Omar (next week's nights), though all hold on-call.
    const pages = (await listTimeline(stack.database.db, incident.id)).filter((e) => e.kind === 'page.sent');
    expect(pages.map((e) => (e.data as { person: string }).person)).toEqual(['nora']);
    for (const other of ['dee', 'omar'])
      expect(await stack.database.db.selectFrom('chat_rooms').select('key').where('person', '=', other).executeTakeFirst()).toBeUndefined();
  });

  it('pages whoever takes over the schedule while the incident is open, with where it stands', async () => {
    const tokens = { nora: await stack.api.token('nora', ['responder']), omar: await stack.api.token('omar', ['responder']) };
    const incident = await stack.trigger('relay-model', { title: 'Relay assistant leaks a prompt', severity: 'SEV2', dedupKey: 'relay-leak' });
    const first = await eventually(async () => (await listTimeline(stack.database.db, incident.id)).find((e) => e.kind === 'page.sent'));
    const paged = (first.data as { person: string }).person;
    const incoming = paged === 'nora' ? 'omar' : 'nora';
    // The other person comes on call (within a shift, 20 s) before the page is acknowledged: they
    // were never paged, so they are briefed as soon as the incident has a commander.
    await eventually(async () => ((await whoIsOnCall(stack.database.db, 'relay', new Date()))?.person === incoming ? true : undefined), 40_000);
    const ack = await stack.api.call('POST', `/v1/incidents/${incident.id}/acknowledge`, { token: tokens[paged as 'nora' | 'omar'] });
    expect(ack.status).toBe(200);

    const handOffs = async () =>
      (await listTimeline(stack.database.db, incident.id)).filter((e) => e.kind === 'page.sent' && (e.data as { reason: string }).reason === 'hand-off');
    const [handOff] = await eventually(async () => ((await handOffs()).length > 0 ? handOffs() : undefined), 40_000);
    expect(handOff!.data).toMatchObject({ person: incoming, channel: 'matrix', onCall: { scheduleId: 'relay', source: { kind: 'layer', layer: 'relay' } } });
    const roomId = await stack.roomOf(directRoomKey(incoming, stack.users[incoming]!.userId));
    const person = stack.as(incoming);
    await person.join(roomId);
    await stack.messagesUntil(
      person,
      roomId,
      (body) => body.includes('you have just come on call') && body.includes(`commander ${paged}`) && body.includes('No correction is in force.'),
    );
    // And the hand-off after that, back to the commander's turn, pages them with the briefing too.
    const [, back] = await eventually(async () => ((await handOffs()).length > 1 ? handOffs() : undefined), 40_000);
    expect(back!.data).toMatchObject({ person: paged, onCall: { scheduleId: 'relay' } });
  }, 120_000);
});
