import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Reads a secret by environment variable name, as the worker's activities do. */
export type SecretLookup = (name: string) => string | undefined;

/** A signature older or newer than this is refused, as a careful consumer refuses a replayed request. */
const SIGNATURE_TOLERANCE_S = 300;
/** Switches remembered; a drill needs a handful, so the oldest are forgotten long before this matters. */
const REMEMBERED = 10_000;

/**
 * The drill target of a consumer's webhook fallback: a listener on the worker's loopback that answers
 * like a consumer's endpoint (docs/incidents.md, "The webhook protocol"). It refuses a request whose
 * `Correx-Signature` does not verify with the secret the runbook names, lets each idempotency key take
 * effect once, and keeps per correction and consumer whether the fallback is on, so the read-back checks
 * what the switch did. It runs in the worker because only workers hold the runbooks' secrets.
 */
export class DrillFallbackReceiver {
  private readonly active = new Map<string, boolean>();
  private readonly taken = new Set<string>();
  private server?: http.Server;

  constructor(private readonly secret: SecretLookup) {}

  /** Where the fallback of one consumer, signed with the secret in `secretEnv`, is switched. */
  url(secretEnv: string, consumerId: string): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}/drill-fallback/${encodeURIComponent(secretEnv)}/${encodeURIComponent(consumerId)}`;
  }

  async start(): Promise<this> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const answer = this.answer(req.method ?? 'GET', req.url ?? '/', req.headers, Buffer.concat(chunks).toString('utf8'));
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    // The worker's lifetime is the receiver's: it never holds a stopping process open.
    server.unref();
    this.server = server;
    return this;
  }

  private answer(method: string, url: string, headers: http.IncomingHttpHeaders, body: string): { status: number; body: unknown } {
    const route = url.match(/^\/drill-fallback\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/);
    if (!route) return { status: 404, body: { error: 'no such drill fallback' } };
    const [secretEnv, consumer, correctionId] = route.slice(1).map((part) => (part === undefined ? undefined : decodeURIComponent(part)));
    const secret = this.secret(secretEnv!);
    if (!secret) return { status: 401, body: { error: `no secret in ${secretEnv} to check the signature with` } };
    const refused = signatureProblem(secret, headers['correx-signature'], body);
    if (refused) return { status: 401, body: { error: refused } };
    if (method === 'GET') {
      if (!correctionId) return { status: 404, body: { error: 'read back a correction: GET <url>/<correction id>' } };
      return { status: 200, body: { active: this.active.get(`${correctionId}:${consumer}`) === true } };
    }
    if (method !== 'POST' || correctionId) return { status: 405, body: { error: 'switch with POST <url>, read back with GET <url>/<correction id>' } };
    const key = headers['idempotency-key'];
    if (typeof key !== 'string' || !key) return { status: 400, body: { error: 'an Idempotency-Key header is required' } };
    let message: { action?: unknown; consumer?: unknown; correctionId?: unknown };
    try {
      message = JSON.parse(body) as typeof message;
    } catch {
      return { status: 400, body: { error: 'the body is not JSON' } };
    }
    if ((message.action !== 'activate' && message.action !== 'deactivate') || message.consumer !== consumer || typeof message.correctionId !== 'string')
      return { status: 400, body: { error: `the body must be {"action":"activate"|"deactivate","consumer":"${consumer}","correctionId":…}` } };
    if (!this.taken.has(key)) {
      this.remember(key, `${message.correctionId}:${consumer}`, message.action === 'activate');
    }
    return { status: 200, body: { ok: true } };
  }

  private remember(key: string, switched: string, on: boolean): void {
    this.taken.add(key);
    this.active.delete(switched);
    this.active.set(switched, on);
    for (const old of this.taken) {
      if (this.taken.size <= REMEMBERED) break;
      this.taken.delete(old);
    }
    for (const old of this.active.keys()) {
      if (this.active.size <= REMEMBERED) break;
      this.active.delete(old);
    }
  }
}

/** Why a `Correx-Signature` (`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`) is refused, if it is. */
export function signatureProblem(secret: string, header: string | string[] | undefined, body: string, now = Date.now()): string | undefined {
  const match = typeof header === 'string' ? header.match(/^t=(\d+),v1=([0-9a-f]{64})$/) : null;
  if (!match) return 'no Correx-Signature header of the form t=<unix seconds>,v1=<hex HMAC-SHA256>';
  if (Math.abs(now / 1000 - Number(match[1])) > SIGNATURE_TOLERANCE_S) return 'the signature is older or newer than five minutes';
  const expected = createHmac('sha256', secret).update(`${match[1]}.${body}`).digest();
  if (!timingSafeEqual(expected, Buffer.from(match[2]!, 'hex'))) return 'the signature does not verify with the secret';
  return undefined;
}

// One receiver per worker (its secret lookup), started on the first drill that needs it.
const receivers = new WeakMap<SecretLookup, Promise<DrillFallbackReceiver>>();

export function drillFallbackReceiver(secret: SecretLookup): Promise<DrillFallbackReceiver> {
  let receiver = receivers.get(secret);
  if (!receiver) {
    receiver = new DrillFallbackReceiver(secret).start();
    receivers.set(secret, receiver);
    receiver.catch(() => receivers.delete(secret));
  }
  return receiver;
}
