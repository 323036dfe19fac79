import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../services/canonical-json.js';
import { GENESIS_HASH, timelineEventHash } from '../../services/timeline/chain.js';

describe('canonical JSON', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' }, u: undefined })).toBe('{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}');
  });

  it('sorts by UTF-16 code units, as RFC 8785 does', () => {
    expect(canonicalJson({ é: 1, z: 2, A: 3, '\u20ac': 4 })).toBe('{"A":3,"z":2,"é":1,"€":4}');
  });

  it('escapes strings as JSON and writes numbers in shortest form', () => {
    expect(canonicalJson({ s: 'line\n"quoted"', n: 1.5e-7, i: 100, neg: -0.25 })).toBe('{"i":100,"n":1.5e-7,"neg":-0.25,"s":"line\\n\\"quoted\\""}');
  });

  it('refuses values JSON cannot carry faithfully', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(/NaN/);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(/function/);
  });
});

describe('timeline event hash', () => {
  const event = {
    incidentId: '00000000-0000-4000-8000-000000000001',
    seq: 1,
    kind: 'incident.opened',
    actor: 'alice',
    occurredAt: '2026-11-22T10:00:00.000Z',
    data: { title: 'jailbreak rate high' },
    prevHash: GENESIS_HASH,
  };

  it('is a SHA-256 hex digest that does not depend on key order', () => {
    const reordered = {
      prevHash: event.prevHash,
      data: event.data,
      actor: event.actor,
      kind: event.kind,
      seq: 1,
      occurredAt: event.occurredAt,
      incidentId: event.incidentId,
    };
    expect(timelineEventHash(event)).toMatch(/^[0-9a-f]{64}$/);
    expect(timelineEventHash(reordered)).toBe(timelineEventHash(event));
  });

  it('changes when any field or the previous hash changes', () => {
    const base = timelineEventHash(event);
    expect(timelineEventHash({ ...event, actor: 'mallory' })).not.toBe(base);
    expect(timelineEventHash({ ...event, data: { title: 'jailbreak rate high ' } })).not.toBe(base);
    expect(timelineEventHash({ ...event, prevHash: 'f'.repeat(64) })).not.toBe(base);
  });
});
