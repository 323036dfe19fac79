import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

/**
 * An AI system's control endpoint for the webhook enforcer (README, "The webhook adapter's
 * protocol"), which notes when each apply arrives: `performance.now()` of this process, the same
 * clock the benchmark reads when an HTTP call returns. Signatures are checked as a real endpoint
 * would; apply, lift, read-back and consumer fallbacks are answered.
 *
 * `POST /baseline/<id>` is the bare workflow's no-op activity reporting in, timed the same way.
 */
export class TimestampingEndpoint {
  private server?: http.Server;
  private readonly receipts = new Map<string, number>();
  private readonly waiting = new Map<string, (at: number) => void>();
  private readonly applied = new Map<string, boolean>();
  private readonly fallbacks = new Map<string, boolean>();
  /** Requests refused for a bad signature (should stay 0). */
  rejected = 0;
  /** Every apply request, including retries of the same idempotency key. */
  applyRequests = 0;

  constructor(private readonly secret: string) {}

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  get controlUrl(): string {
    return `${this.url}/control`;
  }

  /** Resolves with the receipt time of the first apply (or baseline report) for `id`. */
  receipt(id: string, timeoutMs = 60_000): Promise<number> {
    const known = this.receipts.get(id);
    if (known !== undefined) return Promise.resolve(known);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`no apply for ${id} reached the control endpoint within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, (at) => {
        clearTimeout(timer);
        resolve(at);
      });
    });
  }

  private arrived(id: string, at: number): void {
    if (this.receipts.has(id)) return;
    this.receipts.set(id, at);
    const waiter = this.waiting.get(id);
    if (waiter) {
      this.waiting.delete(id);
      waiter(at);
    }
  }

  private verify(signature: string | undefined, body: string): boolean {
    const match = signature?.match(/^t=(\d+),v1=([0-9a-f]{64})$/);
    if (!match) return false;
    const expected = createHmac('sha256', this.secret).update(`${match[1]}.${body}`).digest();
    return timingSafeEqual(expected, Buffer.from(match[2]!, 'hex'));
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const at = performance.now();
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        const url = req.url ?? '/';
        const json = (status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
        const baseline = url.match(/^\/baseline\/([^/]+)$/);
        if (baseline) {
          this.arrived(decodeURIComponent(baseline[1]!), at);
          return json(200, { ok: true });
        }
        if (!this.verify(req.headers['correx-signature'] as string | undefined, body)) {
          this.rejected += 1;
          return json(401, { error: 'bad signature' });
        }
        const fallback = url.match(/^\/control\/fallback\/([^/]+)(?:\/([^/]+))?$/);
        if (fallback) {
          const consumer = decodeURIComponent(fallback[1]!);
          if (req.method === 'GET') return json(200, { active: this.fallbacks.get(`${decodeURIComponent(fallback[2] ?? '')}:${consumer}`) === true });
          const message = JSON.parse(body) as { action: 'activate' | 'deactivate'; correctionId: string };
          this.fallbacks.set(`${message.correctionId}:${consumer}`, message.action === 'activate');
          return json(200, { ok: true });
        }
        if (req.method === 'GET') {
          const id = decodeURIComponent(url.split('/').pop() ?? '');
          return json(200, { applied: this.applied.get(id) === true });
        }
        const message = JSON.parse(body) as { action: 'apply' | 'lift'; correction: { id: string } };
        if (message.action === 'apply') {
          this.applyRequests += 1;
          this.arrived(message.correction.id, at);
        }
        this.applied.set(message.correction.id, message.action === 'apply');
        return json(200, { ok: true });
      });
    });
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server!.close(resolve));
  }
}
