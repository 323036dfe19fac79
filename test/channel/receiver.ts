import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

// The tests cannot reach Slack's, Microsoft's or an SMS provider's cloud, so this real HTTP listener
// on loopback stands in for all three: it accepts exactly what their documentation says the webhooks
// take, refuses anything else the way they do (Slack: 400 `invalid_blocks`; the Teams flow: 400), and
// for the SMS/voice relay verifies the HMAC signature with the shared secret, as a relay must.
// The schemas are written from the documentation (cited in docs/channels.md), not from Correx's code.

// ---- Slack incoming webhook: `text` and Block Kit blocks (https://api.slack.com/reference/block-kit/blocks).
const PlainText = z.strictObject({ type: z.literal('plain_text'), text: z.string().min(1), emoji: z.boolean().optional() });
const Mrkdwn = z.strictObject({ type: z.literal('mrkdwn'), text: z.string().min(1), verbatim: z.boolean().optional() });
const blockId = z.string().max(255).optional();
const HeaderBlock = z.strictObject({
  type: z.literal('header'),
  text: PlainText.refine((t) => t.text.length <= 150, 'a header is plain text of at most 150 characters'),
  block_id: blockId,
});
const SectionBlock = z.strictObject({
  type: z.literal('section'),
  text: z.union([PlainText, Mrkdwn]).refine((t) => t.text.length <= 3000, "a section's text is at most 3,000 characters"),
  block_id: blockId,
});
const ContextBlock = z.strictObject({
  type: z.literal('context'),
  elements: z
    .array(z.union([PlainText, Mrkdwn]))
    .min(1)
    .max(10),
  block_id: blockId,
});
const Button = z.strictObject({
  type: z.literal('button'),
  text: PlainText.refine((t) => t.text.length <= 75, "a button's label is at most 75 characters"),
  action_id: z.string().max(255).optional(),
  url: z.url().max(3000).optional(),
  value: z.string().max(2000).optional(),
  style: z.enum(['primary', 'danger']).optional(),
});
const ActionsBlock = z.strictObject({ type: z.literal('actions'), elements: z.array(Button).min(1).max(25), block_id: blockId });
export const SlackMessage = z.strictObject({
  /** Required with blocks: it is what notifications and screen readers show. */
  text: z.string().min(1).max(40_000),
  blocks: z
    .array(z.discriminatedUnion('type', [HeaderBlock, SectionBlock, ContextBlock, ActionsBlock]))
    .min(1)
    .max(50),
});

// ---- Teams Workflows webhook: a message with one Adaptive Card attachment (schema 1.x).
const TextBlock = z.strictObject({
  type: z.literal('TextBlock'),
  text: z.string().min(1),
  wrap: z.boolean().optional(),
  size: z.enum(['Small', 'Default', 'Medium', 'Large', 'ExtraLarge']).optional(),
  weight: z.enum(['Lighter', 'Default', 'Bolder']).optional(),
  color: z.enum(['Default', 'Dark', 'Light', 'Accent', 'Good', 'Warning', 'Attention']).optional(),
});
const FactSet = z.strictObject({ type: z.literal('FactSet'), facts: z.array(z.strictObject({ title: z.string().min(1), value: z.string().min(1) })).min(1) });
const OpenUrl = z.strictObject({ type: z.literal('Action.OpenUrl'), title: z.string().min(1), url: z.url() });
export const TeamsMessage = z.strictObject({
  type: z.literal('message'),
  attachments: z
    .array(
      z.strictObject({
        contentType: z.literal('application/vnd.microsoft.card.adaptive'),
        contentUrl: z.null(),
        content: z.strictObject({
          $schema: z.literal('http://adaptivecards.io/schemas/adaptive-card.json'),
          type: z.literal('AdaptiveCard'),
          version: z.string().regex(/^1\.[0-5]$/),
          body: z.array(z.discriminatedUnion('type', [TextBlock, FactSet])).min(1),
          actions: z.array(OpenUrl).max(6).optional(),
        }),
      }),
    )
    .length(1),
});

// ---- The signed generic webhook (docs/channels.md): what an SMS/voice relay is promised.
export const RelayPage = z.strictObject({
  id: z.string().min(1),
  incident: z.uuid(),
  person: z.strictObject({ id: z.string().min(1), name: z.string().min(1), email: z.email() }),
  subject: z.string().min(1),
  text: z.string().min(1),
  what: z.string().min(1),
  link: z.url(),
  command: z.string().nullable(),
  severity: z.string().nullable(),
  reason: z.string().min(1),
  sentAt: z.iso.datetime(),
});

export type Kind = 'slack' | 'teams' | 'relay';

export interface Received {
  kind: Kind;
  path: string;
  headers: IncomingHttpHeaders;
  raw: string;
  body: unknown;
  /** Why the request was refused as not following the documented format, if it was. */
  problem?: string;
  /** The status the listener answered. */
  status: number;
}

/** Verifies `x-correx-signature` the way docs/channels.md tells a relay to, independently of Correx's code. */
export function relaySignatureProblem(secret: string, header: string | undefined, raw: string, now = Date.now()): string | undefined {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!match) return `malformed x-correx-signature: ${header}`;
  if (Math.abs(now / 1000 - Number(match[1])) > 300) return 'stale signature';
  const expected = createHmac('sha256', secret).update(`${match[1]}.${raw}`, 'utf8').digest();
  return timingSafeEqual(expected, Buffer.from(match[2]!, 'hex')) ? undefined : 'signature does not verify';
}

/**
 * Slack at `/slack/<anything>`, a Teams flow at `/teams/<anything>`, an SMS relay at `/relay/<anything>`
 * (signed with `relaySecret`). `fail(path, status, body)` makes one path answer with an error until
 * `recover(path)`; `hang(path)` makes it never answer.
 */
export class ChannelReceiver {
  readonly received: Received[] = [];
  private readonly failing = new Map<string, { status: number; body: string }>();
  private readonly hanging = new Set<string>();
  private server: Server | undefined;
  private port = 0;

  constructor(readonly relaySecret = 'relay-signing-secret') {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        if (this.hanging.has(path)) return; // never answers: the sender's timeout must end it
        const raw = Buffer.concat(chunks).toString('utf8');
        const kind = path.split('/')[1] as Kind;
        const answer = (status: number, body: string, contentType = 'text/plain') => {
          res.writeHead(status, { 'content-type': contentType }).end(body);
          return status;
        };
        const record: Received = { kind, path, headers: req.headers, raw, body: undefined, status: 0 };
        this.received.push(record);
        if (req.method !== 'POST') return void (record.status = answer(405, 'method not allowed'));
        if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) {
          record.problem = `content-type ${req.headers['content-type']}`;
          return void (record.status = answer(400, 'invalid_payload'));
        }
        try {
          record.body = JSON.parse(raw);
        } catch {
          record.problem = 'not JSON';
          return void (record.status = answer(400, 'invalid_payload'));
        }
        const schema = kind === 'slack' ? SlackMessage : kind === 'teams' ? TeamsMessage : kind === 'relay' ? RelayPage : undefined;
        if (!schema) return void (record.status = answer(404, 'no_service'));
        const parsed = schema.safeParse(record.body);
        if (!parsed.success) {
          record.problem = z.prettifyError(parsed.error);
          return void (record.status = answer(400, kind === 'slack' ? 'invalid_blocks' : record.problem));
        }
        if (kind === 'relay') {
          const problem = relaySignatureProblem(this.relaySecret, req.headers['x-correx-signature'] as string | undefined, raw);
          if (problem) {
            record.problem = problem;
            return void (record.status = answer(401, problem));
          }
          if (req.headers['x-correx-delivery'] !== (record.body as { id: string }).id) {
            record.problem = 'x-correx-delivery is not the body id';
            return void (record.status = answer(400, record.problem));
          }
        }
        const failure = this.failing.get(path);
        if (failure) return void (record.status = answer(failure.status, failure.body));
        if (kind === 'slack') record.status = answer(200, 'ok');
        else if (kind === 'teams') record.status = answer(202, '');
        else record.status = answer(200, JSON.stringify({ id: `SM${this.received.length}` }), 'application/json');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  fail(path: string, status: number, body: string): void {
    this.failing.set(path, { status, body });
  }

  hang(path: string): void {
    this.hanging.add(path);
  }

  recover(path: string): void {
    this.failing.delete(path);
    this.hanging.delete(path);
  }

  /** Requests to one path that followed the documented format. */
  accepted(path: string): Received[] {
    return this.received.filter((r) => r.path === path && !r.problem);
  }

  get problems(): string[] {
    return this.received.filter((r) => r.problem).map((r) => `${r.path}: ${r.problem}`);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
