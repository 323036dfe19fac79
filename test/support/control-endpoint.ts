import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

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

/** Every request the endpoint saw, whatever became of it (the fault suite's record). */
export interface EndpointRequest {
  /** Date.now() when it was handled. */
  at: number;
  method: string;
  /** `apply`, `lift`, `fallback-activate`, `fallback-deactivate`, `read`, `unsigned`, or `post` when failed before it was read */
  action: string;
  correctionId: string;
  /** POSTs only. */
  idempotencyKey: string | undefined;
  /** What the endpoint did: applied it, saw a repeat of an applied key, failed it (503), read state, refused the signature. */
  outcome: 'applied' | 'repeat' | 'failed' | 'read' | 'refused';
  /** Held open while the endpoint was hanging. */
  held: boolean;
}

/**
 * A real HTTP listener playing an AI system's control endpoint for the webhook enforcer (README,
 * "The webhook adapter's protocol") and the webhook of a consumer's fallback (`<url>/fallback/<consumer>`):
 * it checks the HMAC signature, lets each idempotency key take effect once, answers read-backs, and
 * records every request. The one implementation the tests, the benchmark (`receipt`, `/baseline/<id>`)
 * and the fault suite (`failFor`, `hangFor`, `breakIdempotency`) use.
 */
export class ControlEndpoint {
  /** Apply and lift requests, in order (repeats included). */
  readonly requests: ControlRequest[] = [];
  /** Fallback switches received at `<url>/fallback/<consumer>`; `fallbackSwitched` keeps each key once. */
  readonly fallbackRequests: FallbackRequest[] = [];
  readonly fallbackSwitched: string[] = [];
  /** Idempotency keys of apply and lift applied, in order; a repeated key is answered but not applied again. */
  readonly applied: string[] = [];
  /** How many times each idempotency key (control and fallback) took effect; an idempotent endpoint keeps each at 1. */
  readonly applications = new Map<string, number>();
  /** Every request, with its outcome. */
  readonly log: EndpointRequest[] = [];
  readonly rejectedSignatures: number[] = [];
  /** Every apply request, including retries of the same idempotency key. */
  applyRequests = 0;
  private readonly fallbackActive = new Map<string, boolean>();
  private readonly state = new Map<string, boolean>();
  private server?: http.Server;
  /** While set, the next apply request is held open until `release()` (to kill a worker mid-call). */
  private holding: { resolve: () => void; seen: Promise<void>; markSeen: () => void } | undefined;
  /** Apply requests still to be answered 503, to exercise enforcement failures. */
  private failuresLeft = 0;
  private failUntil = 0;
  private hangUntil = 0;
  /** The first apply takes effect twice, as on an endpoint that ignores Idempotency-Key. */
  private doubleNextApply = false;
  /** `performance.now()` when the first apply (or baseline report) for an id arrived, and who waits for it. */
  private readonly receipts = new Map<string, number>();
  private readonly waiting = new Map<string, (at: number) => void>();

  constructor(private readonly secret: string) {}

  /** `http://127.0.0.1:<port>`. */
  get origin(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** The control endpoint's URL (`system.enforcement.url`). */
  get url(): string {
    return `${this.origin}/control`;
  }

  /** Requests refused for a bad signature. */
  get rejected(): number {
    return this.rejectedSignatures.length;
  }

  failNextApplies(count: number): void {
    this.failuresLeft = count;
  }

  /** Answers 503 to every request for a while. */
  failFor(ms: number): void {
    this.failUntil = Date.now() + ms;
  }

  /** Holds every request open for a while, then processes it anyway (a slow server whose client gave up). */
  hangFor(ms: number): void {
    this.hangUntil = Date.now() + ms;
  }

  breakIdempotency(): void {
    this.doubleNextApply = true;
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

  /** Whether the system has the correction in force right now. */
  inForce(correctionId: string): boolean {
    return this.state.get(correctionId) === true;
  }

  fallbackOn(correctionId: string, consumer: string): boolean {
    return this.fallbackActive.get(`${correctionId}:${consumer}`) === true;
  }

  /** Resolves with the `performance.now()` arrival time of the first apply (or baseline report) for `id`. */
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

  /** Lets a key take effect once; `--break enforcer` counts the first apply twice. */
  private take(key: string, effect: () => void): 'applied' | 'repeat' {
    if ((this.applications.get(key) ?? 0) > 0) return 'repeat';
    effect();
    this.applications.set(key, 1);
    return 'applied';
  }

  private async handle(req: http.IncomingMessage, body: string, res: http.ServerResponse, arrivedAt: number): Promise<void> {
    const url = req.url ?? '/';
    const json = (status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    // The benchmark's bare workflow reporting in (unsigned, not part of the protocol).
    const baseline = url.match(/^\/baseline\/([^/]+)$/);
    if (baseline) {
      this.arrived(decodeURIComponent(baseline[1]!), arrivedAt);
      return void json(200, { ok: true });
    }
    let held = false;
    if (Date.now() < this.hangUntil) {
      held = true;
      await new Promise((resolve) => setTimeout(resolve, this.hangUntil - Date.now()));
    }
    const record = (r: Omit<EndpointRequest, 'at' | 'method' | 'held'>) => this.log.push({ at: Date.now(), method: req.method ?? '', held, ...r });
    if (!this.verify(req.headers['correx-signature'] as string | undefined, body)) {
      this.rejectedSignatures.push(Date.now());
      record({ action: 'unsigned', correctionId: '', idempotencyKey: undefined, outcome: 'refused' });
      return void res.writeHead(401).end();
    }
    const key = req.headers['idempotency-key'] as string | undefined;
    if (Date.now() < this.failUntil) {
      record({ action: req.method === 'GET' ? 'read' : 'post', correctionId: '', idempotencyKey: key, outcome: 'failed' });
      return void res.writeHead(503).end();
    }
    const fallback = url.match(/\/fallback\/([^/]+)(?:\/([^/]+))?$/);
    if (fallback) {
      const consumer = decodeURIComponent(fallback[1]!);
      if (req.method === 'GET') {
        const correctionId = decodeURIComponent(fallback[2] ?? '');
        record({ action: 'read', correctionId, idempotencyKey: undefined, outcome: 'read' });
        return void json(200, { active: this.fallbackOn(correctionId, consumer) });
      }
      const message = JSON.parse(body) as { action: 'activate' | 'deactivate'; correctionId: string };
      this.fallbackRequests.push({ action: message.action, consumer, correctionId: message.correctionId, idempotencyKey: key ?? '' });
      const outcome = this.take(key ?? '', () => {
        this.fallbackSwitched.push(key ?? '');
        this.fallbackActive.set(`${message.correctionId}:${consumer}`, message.action === 'activate');
      });
      record({ action: `fallback-${message.action}`, correctionId: message.correctionId, idempotencyKey: key, outcome });
      return void json(200, { ok: true });
    }
    if (req.method === 'GET') {
      const correctionId = decodeURIComponent(url.split('/').pop() ?? '');
      record({ action: 'read', correctionId, idempotencyKey: undefined, outcome: 'read' });
      return void json(200, { applied: this.inForce(correctionId) });
    }
    const message = JSON.parse(body) as { action: 'apply' | 'lift'; correction: { id: string; kind: string } };
    this.requests.push({ action: message.action, correctionId: message.correction.id, idempotencyKey: key ?? '', kind: message.correction.kind });
    if (message.action === 'apply') {
      this.applyRequests += 1;
      this.arrived(message.correction.id, arrivedAt);
      if (this.failuresLeft > 0) {
        this.failuresLeft -= 1;
        record({ action: 'apply', correctionId: message.correction.id, idempotencyKey: key, outcome: 'failed' });
        return void res.writeHead(503).end();
      }
      if (this.holding) {
        const holding = this.holding;
        await new Promise<void>((resolve) => {
          holding.resolve = resolve;
          holding.markSeen();
        });
      }
    }
    const outcome = this.take(key ?? '', () => {
      this.applied.push(key ?? '');
      this.state.set(message.correction.id, message.action === 'apply');
    });
    if (outcome === 'applied' && message.action === 'apply' && this.doubleNextApply) {
      this.doubleNextApply = false;
      this.applications.set(key ?? '', 2);
    }
    record({ action: message.action, correctionId: message.correction.id, idempotencyKey: key, outcome });
    json(200, { ok: true });
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const arrivedAt = performance.now();
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        this.handle(req, Buffer.concat(chunks).toString(), res, arrivedAt).catch((error: unknown) => {
          if (!res.headersSent) res.writeHead(500).end(String(error));
        });
      });
    });
    this.server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    this.failUntil = 0;
    this.hangUntil = 0;
    this.release();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server!.close(resolve));
  }
}
