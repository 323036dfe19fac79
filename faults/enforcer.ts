import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EnforcerRequest {
  at: number;
  method: string;
  /** `apply`, `lift`, `fallback-activate`, `fallback-deactivate`, `read` */
  action: string;
  correctionId: string;
  /** POSTs only. */
  idempotencyKey: string | undefined;
  /** What the listener did: applied it, saw a repeat of an applied key, failed it (503), or read state. */
  outcome: 'applied' | 'repeat' | 'failed' | 'read' | 'refused';
  /** Held open while the listener was hanging. */
  held: boolean;
}

/**
 * The AI system's control endpoint (Correx's webhook enforcer protocol, see README) and the webhook
 * of a consumer's fallback, as one HTTP listener: checks each signature, applies each idempotency
 * key once, answers read-backs, and records every request. It can be told to answer 503 to
 * everything for a while, or to hold every request open for a while (past Correx's 10 s timeout)
 * and then process it anyway, as a slow server whose client has gone away would.
 */
export class FaultyEnforcer {
  readonly requests: EnforcerRequest[] = [];
  /** How many times each idempotency key took effect. An idempotent endpoint keeps every count at 1. */
  readonly applications = new Map<string, number>();
  private readonly applied = new Map<string, boolean>();
  private readonly fallbackActive = new Map<string, boolean>();
  private failUntil = 0;
  private hangUntil = 0;
  private server?: http.Server;
  /** `--break enforcer`: the first apply takes effect twice, as on an endpoint that ignores Idempotency-Key. */
  private doubleNextApply = false;

  constructor(private readonly secret: string) {}

  failFor(ms: number): void {
    this.failUntil = Date.now() + ms;
  }

  hangFor(ms: number): void {
    this.hangUntil = Date.now() + ms;
  }

  breakIdempotency(): void {
    this.doubleNextApply = true;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/control`;
  }

  private verify(signature: string | undefined, body: string): boolean {
    const match = signature?.match(/^t=(\d+),v1=([0-9a-f]{64})$/);
    if (!match) return false;
    const expected = createHmac('sha256', this.secret).update(`${match[1]}.${body}`).digest();
    return timingSafeEqual(expected, Buffer.from(match[2]!, 'hex'));
  }

  private take(key: string, effect: () => void): 'applied' | 'repeat' {
    const count = this.applications.get(key) ?? 0;
    if (count > 0) return 'repeat';
    effect();
    this.applications.set(key, 1);
    return 'applied';
  }

  private async handle(req: http.IncomingMessage, body: string, res: http.ServerResponse): Promise<void> {
    let held = false;
    if (Date.now() < this.hangUntil) {
      held = true;
      await new Promise((resolve) => setTimeout(resolve, this.hangUntil - Date.now()));
    }
    const url = req.url ?? '';
    const fallback = url.match(/\/fallback\/([^/]+)(?:\/([^/]+))?$/);
    const record = (r: Omit<EnforcerRequest, 'at' | 'method' | 'held'>) => this.requests.push({ at: Date.now(), method: req.method ?? '', held, ...r });
    if (!this.verify(req.headers['correx-signature'] as string | undefined, body)) {
      record({ action: 'unsigned', correctionId: '', idempotencyKey: undefined, outcome: 'refused' });
      res.writeHead(401).end();
      return;
    }
    const key = req.headers['idempotency-key'] as string | undefined;
    if (Date.now() < this.failUntil) {
      record({ action: req.method === 'GET' ? 'read' : 'post', correctionId: '', idempotencyKey: key, outcome: 'failed' });
      res.writeHead(503).end();
      return;
    }
    const json = (status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    if (fallback) {
      const consumer = decodeURIComponent(fallback[1]!);
      if (req.method === 'GET') {
        const correctionId = decodeURIComponent(fallback[2] ?? '');
        record({ action: 'read', correctionId, idempotencyKey: undefined, outcome: 'read' });
        json(200, { active: this.fallbackActive.get(`${correctionId}:${consumer}`) === true });
        return;
      }
      const message = JSON.parse(body) as { action: 'activate' | 'deactivate'; correctionId: string };
      const outcome = this.take(key ?? '', () => this.fallbackActive.set(`${message.correctionId}:${consumer}`, message.action === 'activate'));
      record({ action: `fallback-${message.action}`, correctionId: message.correctionId, idempotencyKey: key, outcome });
      json(200, { ok: true });
      return;
    }
    if (req.method === 'GET') {
      const correctionId = decodeURIComponent(url.split('/').pop() ?? '');
      record({ action: 'read', correctionId, idempotencyKey: undefined, outcome: 'read' });
      json(200, { applied: this.applied.get(correctionId) === true });
      return;
    }
    const message = JSON.parse(body) as { action: 'apply' | 'lift'; correction: { id: string } };
    const outcome = this.take(key ?? '', () => this.applied.set(message.correction.id, message.action === 'apply'));
    if (outcome === 'applied' && message.action === 'apply' && this.doubleNextApply) {
      this.doubleNextApply = false;
      this.applications.set(key ?? '', 2);
    }
    record({ action: message.action, correctionId: message.correction.id, idempotencyKey: key, outcome });
    json(200, { ok: true });
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        this.handle(req, body, res).catch((error: unknown) => {
          if (!res.headersSent) res.writeHead(500).end(String(error));
        });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  /** Whether the system has the correction in force right now. */
  inForce(correctionId: string): boolean {
    return this.applied.get(correctionId) === true;
  }

  fallbackOn(correctionId: string, consumer: string): boolean {
    return this.fallbackActive.get(`${correctionId}:${consumer}`) === true;
  }

  async stop(): Promise<void> {
    this.failUntil = 0;
    this.hangUntil = 0;
    this.server?.closeAllConnections();
    await new Promise((resolve) => (this.server ? this.server.close(resolve) : resolve(undefined)));
  }
}
