import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCorrex } from '../support/cli.js';

interface Seen {
  method: string;
  url: string;
  key: string | undefined;
}

// A stand-in for Correx that is briefly unavailable: the first proposal of each key gets 503 with
// Retry-After (as while PostgreSQL restarts), the next one 201.
describe('correx correction propose', () => {
  let server: http.Server;
  let url: string;
  const seen: Seen[] = [];
  const correctionIds = new Map<string, string>();

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        const key = request.headers['idempotency-key'] as string | undefined;
        seen.push({ method: request.method!, url: request.url!, key });
        if (request.method === 'POST' && request.url!.endsWith('/corrections')) {
          if (key && !correctionIds.has(key)) {
            correctionIds.set(key, randomUUID());
            response.writeHead(503, { 'content-type': 'application/problem+json', 'retry-after': '0' });
            return response.end(JSON.stringify({ title: 'Service unavailable', status: 503, detail: 'the database does not answer; retry shortly' }));
          }
          response.writeHead(201, { 'content-type': 'application/json' });
          return response.end(JSON.stringify({ correctionId: correctionIds.get(key ?? '') ?? randomUUID(), workflowId: 'w' }));
        }
        response.writeHead(404, { 'content-type': 'application/problem+json' });
        response.end(JSON.stringify({ title: 'Not found', status: 404 }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const propose = (incidentId: string) =>
    runCorrex([
      'correction',
      'propose',
      incidentId,
      '--kind',
      'rate_limit',
      '--param',
      'requestsPerMinute=10',
      '--param',
      'per=user',
      '--reason',
      'jailbreaks',
      '--server',
      url,
      '--token',
      'crx_test',
    ]);

  it('sends a fresh Idempotency-Key per invocation and the same one on its retries', async () => {
    const incidentId = randomUUID();
    const first = await propose(incidentId);
    expect(first.code, first.stderr).toBe(0);
    const second = await propose(incidentId);
    expect(second.code, second.stderr).toBe(0);

    const posts = seen.filter((s) => s.method === 'POST');
    expect(posts).toHaveLength(4);
    for (const post of posts) expect(post.key).toMatch(/^[0-9a-f-]{36}$/);
    // Each invocation: a 503, then the retry with the same key.
    expect(posts[0]!.key).toBe(posts[1]!.key);
    expect(posts[2]!.key).toBe(posts[3]!.key);
    expect(posts[0]!.key).not.toBe(posts[2]!.key);
    expect(first.stderr).toMatch(/correx: the database does not answer; retry shortly \(HTTP 503\); retrying in 0 s with the same Idempotency-Key/);
    expect(first.stdout).toContain(`correction ${correctionIds.get(posts[0]!.key!)}: proposed (rate_limit on incident ${incidentId}`);
  });
});
