import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ContactMethod } from './kinds.js';
import { ChannelDeliveryError, postJson, requireSecret, type ChannelSender, type PageMessage, type SenderOptions } from './delivery.js';

type WebhookContact = Extract<ContactMethod, { channel: 'webhook' }>;

/** The header with the signature: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const signatureHeader = 'x-correx-signature';
/** The header with the page's idempotency key, the same on every retry: receivers deduplicate on it. */
export const deliveryHeader = 'x-correx-delivery';
/** How far a signature's time may be from the receiver's clock before `verifyPageSignature` refuses it. */
export const signatureToleranceS = 300;

/** What a signed page webhook receives (see docs/channels.md). */
export interface WebhookPage {
  /** The page's idempotency key: the same on every retry of this page (also `x-correx-delivery`). */
  id: string;
  incident: string;
  person: { id: string; name: string; email: string };
  subject: string;
  text: string;
  /** What the person is to do, in words (short enough for an SMS). */
  what: string;
  /** The console page where it is done (absolute). */
  link: string;
  command: string | null;
  severity: string | null;
  reason: string;
  /** When this delivery was attempted (ISO 8601); differs between retries of the same page. */
  sentAt: string;
}

export function webhookPage(page: PageMessage, sentAt: Date): WebhookPage {
  return {
    id: page.idempotencyKey,
    incident: page.incidentId,
    person: { id: page.person.id, name: page.person.name, email: page.person.email },
    subject: page.subject,
    text: page.text,
    what: page.action.what,
    link: page.action.url,
    command: page.action.command ?? null,
    severity: page.severity ?? null,
    reason: page.reason,
    sentAt: sentAt.toISOString(),
  };
}

/** The `x-correx-signature` value for a body at a time (unix seconds). */
export function signPage(secret: string, body: string, timestamp: number): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * What a receiver does with a delivery: undefined when the signature is good, otherwise why it is not.
 * `body` is the raw request body, exactly as received (before any JSON parsing).
 */
export function verifyPageSignature(secret: string, header: string | undefined, body: string, now = Date.now()): string | undefined {
  const match = header?.match(/^t=(\d+),v1=([0-9a-f]{64})$/);
  if (!match) return `no ${signatureHeader} header of the form t=<unix seconds>,v1=<hex HMAC-SHA256>`;
  if (Math.abs(now / 1000 - Number(match[1])) > signatureToleranceS) return 'the signature is older or newer than five minutes';
  const expected = createHmac('sha256', secret).update(`${match[1]}.${body}`).digest();
  if (!timingSafeEqual(expected, Buffer.from(match[2]!, 'hex'))) return 'the signature does not verify with the secret';
  return undefined;
}

/**
 * Pages through a signed JSON POST to the contact's `url`, for the relays of SMS and voice providers
 * (a small function that turns it into a Twilio, Vonage or MessageBird call). Any 2xx is delivered.
 * A retry of the same page carries the same `id` and `x-correx-delivery`, with a fresh signature.
 */
export function createWebhookSender(options: SenderOptions): ChannelSender {
  const now = options.now ?? Date.now;
  return {
    async send(contact, page) {
      if (contact.channel !== 'webhook') throw new ChannelDeliveryError('webhook', `the webhook sender was given a ${contact.channel} contact`);
      const { url, secretEnv } = contact as WebhookContact;
      const secret = requireSecret('webhook', options.secret, secretEnv);
      const at = now();
      const body = JSON.stringify(webhookPage(page, new Date(at)));
      const answer = await postJson('webhook', `the page webhook at ${new URL(url).host}`, url, body, {
        headers: { [signatureHeader]: signPage(secret, body, Math.floor(at / 1000)), [deliveryHeader]: page.idempotencyKey, 'user-agent': 'correx' },
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
        accepted: (status) => status >= 200 && status < 300,
      });
      // A relay may answer with its own id for the message (`{ "id": "SM…" }`): kept as the reference.
      try {
        const parsed = JSON.parse(answer.text) as { id?: unknown };
        if (typeof parsed?.id === 'string' && parsed.id.length <= 200) return { reference: parsed.id };
      } catch {
        // Not JSON: nothing to keep.
      }
      return {};
    },
  };
}
