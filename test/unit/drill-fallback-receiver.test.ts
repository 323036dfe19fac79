import { describe, expect, it } from 'vitest';
import { signWebhook } from '../../services/correction/enforcement.js';
import { drillFallbackReceiver } from '../../services/drill/fallback-receiver.js';

const secrets: Record<string, string> = { CORREX_TEST_FALLBACK: 'the-consumers-secret' };
const secret = (name: string) => secrets[name];
const now = () => Math.floor(Date.now() / 1000);

describe("the dry-run receiver: a consumer's fallback webhook as a drill switches it", () => {
  const switchAt = async (url: string, body: Record<string, unknown>, options: { key?: string; signWith?: string; at?: number } = {}) => {
    const text = JSON.stringify(body);
    return fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(options.key ? { 'idempotency-key': options.key } : {}),
        ...(options.signWith ? { 'correx-signature': signWebhook(options.signWith, text, options.at ?? now()) } : {}),
      },
      body: text,
    });
  };
  const readBack = async (url: string, correctionId: string) =>
    (await fetch(`${url}/${correctionId}`, { headers: { 'correx-signature': signWebhook('the-consumers-secret', '', now()) } })).json();

  it('refuses what a careful consumer refuses: no signature, another secret, an old signature, no idempotency key', async () => {
    const url = (await drillFallbackReceiver(secret)).url('CORREX_TEST_FALLBACK', 'kiosks');
    const body = { action: 'activate', consumer: 'kiosks', correctionId: 'c-1' };
    const answers = await Promise.all([
      switchAt(url, body, { key: 'k' }),
      switchAt(url, body, { key: 'k', signWith: 'another-secret' }),
      switchAt(url, body, { key: 'k', signWith: 'the-consumers-secret', at: now() - 600 }),
      switchAt(url, body, { signWith: 'the-consumers-secret' }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 400]);
    expect(await Promise.all(answers.map(async (a) => ((await a.json()) as { error: string }).error))).toEqual([
      'no Correx-Signature header of the form t=<unix seconds>,v1=<hex HMAC-SHA256>',
      'the signature does not verify with the secret',
      'the signature is older or newer than five minutes',
      'an Idempotency-Key header is required',
    ]);
    expect(await readBack(url, 'c-1')).toEqual({ active: false });
  });

  it('switches once per idempotency key and reads back per correction and consumer', async () => {
    const receiver = await drillFallbackReceiver(secret);
    const kiosks = receiver.url('CORREX_TEST_FALLBACK', 'kiosks');
    const signed = { signWith: 'the-consumers-secret' };
    expect((await switchAt(kiosks, { action: 'activate', consumer: 'kiosks', correctionId: 'c-2' }, { ...signed, key: 'c-2:kiosks:on' })).status).toBe(200);
    expect(await readBack(kiosks, 'c-2')).toEqual({ active: true });
    // Another consumer of the same correction is its own switch.
    expect(await readBack(receiver.url('CORREX_TEST_FALLBACK', 'portal'), 'c-2')).toEqual({ active: false });
    // A key seen before takes no effect again, whatever its body says.
    await switchAt(kiosks, { action: 'deactivate', consumer: 'kiosks', correctionId: 'c-2' }, { ...signed, key: 'c-2:kiosks:on' });
    expect(await readBack(kiosks, 'c-2')).toEqual({ active: true });
    await switchAt(kiosks, { action: 'deactivate', consumer: 'kiosks', correctionId: 'c-2' }, { ...signed, key: 'c-2:kiosks:off' });
    expect(await readBack(kiosks, 'c-2')).toEqual({ active: false });
    // The body must be for the consumer the URL names.
    expect((await switchAt(kiosks, { action: 'activate', consumer: 'portal', correctionId: 'c-3' }, { ...signed, key: 'c-3' })).status).toBe(400);
  });
});
