import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../services/config.js';
import {
  correctionWorkflowId,
  incidentWorkflowId,
  legacyIncidentWorkflowId,
  reviewWorkflowId,
  safeWorkflowIdPattern,
  sha256Hex,
  temporalUiWorkflowUrl,
} from '../../services/identity.js';

describe('workflow ids without shell-special characters', () => {
  it('keeps a safe dedup key as it was, and encodes any other readably with a hash', () => {
    expect(incidentWorkflowId('frontier-assistant', 'jailbreak-rate')).toBe('incident:frontier-assistant:jailbreak-rate');
    expect(incidentWorkflowId('frontier-assistant', 'drill:7f0c/a.b_c-d')).toBe('incident:frontier-assistant:drill:7f0c/a.b_c-d');
    expect(incidentWorkflowId('frontier-assistant', 'error rate (eu)')).toMatch(/^incident:frontier-assistant:error-rate-eu-\.h[0-9a-f]{16}$/);
    const key = 'monitor:jailbreak-rate|alertname=JailbreakRateHigh|region=eu west:1';
    const id = incidentWorkflowId('frontier-assistant', key);
    expect(id).toBe(
      `incident:frontier-assistant:monitor:jailbreak-rate-alertname-JailbreakRateHigh-region-eu-west:1.h${createHash('sha256').update(key).digest('hex').slice(0, 16)}`,
    );
    expect(legacyIncidentWorkflowId('frontier-assistant', key)).toBe(`incident:frontier-assistant:${key}`);
    // Children follow the incident's id.
    expect(correctionWorkflowId(id, 'c1')).toMatch(safeWorkflowIdPattern);
    expect(reviewWorkflowId(id, 'i1')).toMatch(safeWorkflowIdPattern);
  });

  it('makes ids that are safe, deterministic, bounded and distinct for distinct keys', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }), (a, b) => {
        const idA = incidentWorkflowId('sys', `${a}x`);
        expect(idA).toMatch(safeWorkflowIdPattern);
        expect(idA).not.toMatch(/[|= '"$`\\;&<>()*?!#~]/);
        expect(incidentWorkflowId('sys', `${a}x`)).toBe(idA);
        expect(idA.length).toBeLessThanOrEqual(Math.max('incident:sys:'.length + 1 + 100 + 18, 'incident:sys:'.length + a.length + 1));
        if (`${a}x` !== `${b}x`) expect(incidentWorkflowId('sys', `${b}x`)).not.toBe(idA);
      }),
      { numRuns: 500 },
    );
    // Two keys that read the same once their unsafe characters are replaced still get different ids.
    expect(incidentWorkflowId('sys', 'a|b')).not.toBe(incidentWorkflowId('sys', 'a=b'));
    expect(incidentWorkflowId('sys', 'a|b')).not.toBe(incidentWorkflowId('sys', 'a-b'));
  });

  it('computes SHA-256 as node:crypto does, in plain JavaScript (workflows have no node:crypto)', () => {
    for (const text of ['', 'abc', 'a'.repeat(55), 'a'.repeat(56), 'a'.repeat(64), 'a'.repeat(1000), 'héllo wörld ✓ 😀'])
      expect(sha256Hex(text)).toBe(createHash('sha256').update(text).digest('hex'));
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 500 }), (text) => {
        expect(sha256Hex(text)).toBe(createHash('sha256').update(text).digest('hex'));
      }),
      { numRuns: 300 },
    );
  });
});

describe('the Temporal UI link', () => {
  it('reads CORREX_TEMPORAL_UI_URL without its trailing slash, and refuses anything but http(s)', () => {
    expect(loadConfig({}).temporal.uiUrl).toBeUndefined();
    expect(loadConfig({ CORREX_TEMPORAL_UI_URL: 'https://temporal.example.com/' }).temporal.uiUrl).toBe('https://temporal.example.com');
    expect(() => loadConfig({ CORREX_TEMPORAL_UI_URL: 'temporal.example.com' })).toThrow(/CORREX_TEMPORAL_UI_URL: must be an http\(s\) URL/);
  });

  it('links a workflow by its namespace and id, URL-encoded', () => {
    expect(temporalUiWorkflowUrl('http://127.0.0.1:8233/', 'default', 'incident:sys:a/b')).toBe(
      'http://127.0.0.1:8233/namespaces/default/workflows/incident%3Asys%3Aa%2Fb',
    );
    expect(temporalUiWorkflowUrl('https://cloud.temporal.io', 'correx.acct1', 'incident:sys:k')).toBe(
      'https://cloud.temporal.io/namespaces/correx.acct1/workflows/incident%3Asys%3Ak',
    );
  });
});
