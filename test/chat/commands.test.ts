import { describe, expect, it } from 'vitest';
import { pageText, transactionId } from '../../services/channel/matrix.js';
import { parseCommand } from '../../services/chat/commands.js';
import { describeEvent, personOf, responders, wantsRoom } from '../../services/chat/rooms.js';
import type { Runbook } from '../../services/runbook/schema.js';

const runbook = {
  severities: [{ id: 'SEV1' }, { id: 'SEV2' }, { id: 'SEV3' }],
  incidentRoom: { atOrAbove: 'SEV2' },
  people: [
    { id: 'ada', roles: ['on-call'], contacts: [{ channel: 'email' }, { channel: 'matrix', user: '@ada:example.org' }] },
    { id: 'ben', roles: ['approver'], contacts: [{ channel: 'matrix', user: '@ben:example.org' }] },
    { id: 'cleo', roles: ['approver'] },
    { id: 'dan', roles: ['support'] },
  ],
  escalation: { levels: [{ targets: [{ role: 'on-call' }] }, { targets: [{ person: 'ben' }, { schedule: 'nights' }] }] },
  schedules: [{ id: 'nights', layers: [{ members: ['cleo'] }], fallback: 'dan' }],
} as unknown as Runbook;

describe('chat commands', () => {
  it('reads !ack, !approve and !reject with a rationale, !help, and says what is wrong otherwise', () => {
    expect(parseCommand('  !ack ')).toEqual({ name: 'ack' });
    expect(parseCommand('!approve 1a2b3c4d Contained and reversible')).toEqual({
      name: 'approve',
      correction: '1a2b3c4d',
      rationale: 'Contained and reversible',
    });
    expect(parseCommand('!REJECT 1a2b3c4d too broad')).toEqual({ name: 'reject', correction: '1a2b3c4d', rationale: 'too broad' });
    expect(parseCommand('!approve 1a2b3c4d')).toEqual({ name: 'usage', text: 'usage: !approve <correction id> <rationale>' });
    expect(parseCommand('!help')).toEqual({ name: 'help' });
    expect(parseCommand('!shutdown')).toEqual({ name: 'unknown', text: 'unknown command !shutdown' });
    expect(parseCommand('ack please')).toBeUndefined();
  });
});

describe('incident rooms', () => {
  it('are opened at or above the runbook level (most severe first), never without one', () => {
    expect(['SEV1', 'SEV2', 'SEV3', 'SEV9'].map((s) => wantsRoom(runbook, s))).toEqual([true, true, false, false]);
    expect(wantsRoom({ ...runbook, incidentRoom: undefined }, 'SEV1')).toBe(false);
  });

  it('invite every escalation level: role holders, people, schedule members and fallbacks', () => {
    expect(responders(runbook).sort()).toEqual(['ada', 'ben', 'cleo', 'dan']);
  });

  it('map a Matrix user to the runbook person whose contact it is, and nobody else', () => {
    expect(personOf(runbook, '@ben:example.org')).toBe('ben');
    expect(personOf(runbook, '@mallory:example.org')).toBeUndefined();
  });

  it('post the key events with the chat identity, and leave the rest out', () => {
    const via = { channel: 'matrix', user: '@ben:example.org', room: '!r:example.org', event: '$e' };
    expect(
      describeEvent({ kind: 'correction.approval_given', actor: 'ben', data: { correctionId: 'c0ffee00-0000', role: 'approver', rationale: 'ok', via } }),
    ).toBe('ben approved correction c0ffee00 as approver (from Matrix, @ben:example.org): ok');
    expect(describeEvent({ kind: 'incident.acknowledged', actor: 'ada', data: {} })).toBe('Acknowledged by ada; ada leads the incident. Paging stopped.');
    expect(describeEvent({ kind: 'notice.sent', actor: 'system', data: {} })).toBeUndefined();
  });
});

describe('Matrix pages', () => {
  it('say what to do, where, in a terminal, and how to acknowledge from the room', () => {
    const { body, html } = pageText({
      incidentId: 'i',
      idempotencyKey: 'k',
      person: { id: 'ada', name: 'Ada', email: 'ada@example.org' },
      subject: '[SEV2] <Jailbreak> rate',
      text: 'You are on call.',
      reason: 'escalation',
      action: { what: 'Acknowledge the incident', url: 'https://correx.example/console/incidents/i', command: 'correx incident ack i' },
    });
    expect(body).toContain('Console: https://correx.example/console/incidents/i');
    expect(body).toContain('CLI: correx incident ack i');
    expect(body).toContain('!ack');
    expect(html).toContain('&lt;Jailbreak&gt;');
    const vote = pageText({
      incidentId: 'i',
      idempotencyKey: 'k2',
      person: { id: 'ben', name: 'Ben', email: 'ben@example.org' },
      subject: 'Decide on a rollback',
      text: 'Ada proposes a rollback.',
      reason: 'decision-requested',
      action: {
        what: 'Approve or reject the rollback',
        url: 'https://correx.example/console/incidents/i#decisions',
        command: 'correx correction approve c1 --rationale "…"',
      },
    });
    expect(vote.body).toContain('!approve <correction id> <rationale>');
  });

  it('have a transaction id per idempotency key, the same on every retry', () => {
    expect(transactionId('page:k')).toBe(transactionId('page:k'));
    expect(transactionId('page:k')).not.toBe(transactionId('page:l'));
    expect(transactionId('page:k')).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
  });
});
