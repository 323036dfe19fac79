import { describe, expect, it } from 'vitest';
import { checkChain, GENESIS_HASH, timelineEventHash } from '../../services/timeline/chain.js';

const incidentId = '5b0b7e0e-0000-4000-8000-000000000001';

function chain(length: number) {
  const events = [];
  let prevHash = GENESIS_HASH;
  for (let seq = 1; seq <= length; seq++) {
    const content = {
      seq,
      kind: 'note',
      actor: 'amara-okafor',
      occurredAt: new Date(Date.UTC(2026, 10, 23, 5, seq)).toISOString(),
      data: { n: seq },
      prevHash,
    };
    const hash = timelineEventHash({ ...content, incidentId });
    events.push({ ...content, hash });
    prevHash = hash;
  }
  return events;
}

async function* each<T>(items: T[]) {
  yield* items;
}

describe('checkChain: recomputes a stored timeline chain', () => {
  it('verifies an intact chain and reports its head', async () => {
    const events = chain(5);
    expect(await checkChain(incidentId, each(events))).toEqual({ ok: true, events: 5, headHash: events[4]!.hash });
    expect(await checkChain(incidentId, each([]))).toEqual({ ok: true, events: 0, headHash: GENESIS_HASH });
  });

  it('names the altered, missing or relinked event', async () => {
    const altered = chain(5);
    altered[2] = { ...altered[2]!, data: { n: 99 } };
    expect(await checkChain(incidentId, each(altered))).toMatchObject({ ok: false, brokenAt: 3, reason: expect.stringContaining('altered') });

    const missing = chain(5).filter((e) => e.seq !== 4);
    expect(await checkChain(incidentId, each(missing))).toMatchObject({ ok: false, brokenAt: 4, reason: expect.stringContaining('missing') });

    const relinked = chain(5);
    relinked[1] = { ...relinked[1]!, prevHash: 'f'.repeat(64) };
    expect(await checkChain(incidentId, each(relinked))).toMatchObject({ ok: false, brokenAt: 2, reason: expect.stringContaining('does not follow') });

    // Another incident's events do not verify as this one's.
    expect(await checkChain('5b0b7e0e-0000-4000-8000-000000000002', each(chain(2)))).toMatchObject({ ok: false, brokenAt: 1 });
  });
});
