import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FallbackRequest {
  action: 'activate' | 'deactivate';
  consumer: string;
  correctionId: string;
  idempotencyKey: string;
}

export interface ControlRequest {
  action: 'apply' | 'lift';
  correctionId: string;
  idempotencyKey: string;
  kind: string;
}

/**
 * A real HTTP listener playing an AI system's control endpoint for the webhook enforcer: it checks
 * the HMAC signature, applies each idempotency key once, and answers read-backs.
 */
export class ControlEndpoint {
  readonly requests: ControlRequest[] = [];
  /** Fallback switches received at `<url>/fallback/<consumer>`; `fallbackSwitched` keeps each key once. */
  readonly fallbackRequests: FallbackRequest[] = [];
  readonly fallbackSwitched: string[] = [];
  private readonly fallbackActive = new Map<string, boolean>();
  /** Idempotency keys applied, in order; a repeated key is answered but not applied again. */
  readonly applied: string[] = [];
  readonly rejectedSignatures: number[] = [];
  private readonly state = new Map<string, boolean>();
  private server?: http.Server;
  /** While set, the next apply request is held open until `release()` (to kill a worker mid-call). */
  private holding: { resolve: () => void; seen: Promise<void>; markSeen: () => void } | undefined;

  /** Apply requests still to be answered 503, to exercise enforcement failures. */
  private failuresLeft = 0;

  constructor(private readonly secret: string) {}

  failNextApplies(count: number): void {
    this.failuresLeft = count;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/control`;
  }

  holdNextApply(): Promise<void> {
    let markSeen!: () => void;
    const seen = new Promise<void>((resolve) => (markSeen = resolve));
    this.holding = { resolve: () => {}, seen, markSeen };
    return seen;
  }

  release(): void {
    const holding = this.holding;
    this.holding = undefined;
    holding?.resolve();
  }

  private verify(signature: string | undefined, body: string): boolean {
    const match = signature?.match(/^t=(\d+),v1=([0-9a-f]{64})$/);
    if (!match) return false;
    const expected = createHmac('sha256', this.secret).update(`${match[1]}.${body}`).digest();
    return timingSafeEqual(expected, Buffer.from(match[2]!, 'hex'));
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', async () => {
        const signature = req.headers['correx-signature'] as string | undefined;
        if (!this.verify(signature, body)) {
          this.rejectedSignatures.push(Date.now());
          res.writeHead(401).end();
          return;
        }
        const fallback = req.url!.match(/\/fallback\/([^/]+)(?:\/([^/]+))?$/);
        if (fallback) {
          const consumer = decodeURIComponent(fallback[1]!);
          if (req.method === 'GET') {
            const active = this.fallbackActive.get(`${decodeURIComponent(fallback[2]!)}:${consumer}`) === true;
            res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ active }));
            return;
          }
          const message = JSON.parse(body) as { action: 'activate' | 'deactivate'; correctionId: string };
          const key = req.headers['idempotency-key'] as string;
          this.fallbackRequests.push({ action: message.action, consumer, correctionId: message.correctionId, idempotencyKey: key });
          if (!this.fallbackSwitched.includes(key)) {
            this.fallbackSwitched.push(key);
            this.fallbackActive.set(`${message.correctionId}:${consumer}`, message.action === 'activate');
          }
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
          return;
        }
        if (req.method === 'GET') {
          const id = decodeURIComponent(req.url!.split('/').pop()!);
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ applied: this.state.get(id) === true }));
          return;
        }
        const message = JSON.parse(body) as { action: 'apply' | 'lift'; correction: { id: string; kind: string } };
        const key = req.headers['idempotency-key'] as string;
        this.requests.push({ action: message.action, correctionId: message.correction.id, idempotencyKey: key, kind: message.correction.kind });
        if (message.action === 'apply' && this.failuresLeft > 0) {
          this.failuresLeft -= 1;
          res.writeHead(503).end();
          return;
        }
        if (message.action === 'apply' && this.holding) {
          const holding = this.holding;
          await new Promise<void>((resolve) => {
            holding.resolve = resolve;
            holding.markSeen();
          });
        }
        if (!this.applied.includes(key)) {
          this.applied.push(key);
          this.state.set(message.correction.id, message.action === 'apply');
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.release();
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}
