import type { ChannelKind, ContactMethod } from './kinds.js';
import { createSlackSender } from './slack.js';
import { createTeamsSender } from './teams.js';
import { createWebhookSender } from './webhook.js';

/**
 * One page as every channel sends it: who, about what, why, and what to do with an absolute link.
 * Built once per page by the escalation repository (`sendPage`), the same for every contact tried.
 */
export interface PageMessage {
  incidentId: string;
  /** Unique per logical page; receivers that can deduplicate (the signed webhook) are given it. */
  idempotencyKey: string;
  person: { id: string; name: string; email: string };
  subject: string;
  /** The plain-text body (what the mail's text part says). */
  text: string;
  html?: string;
  /** The incident's severity (`SEV1`…), when known. */
  severity?: string;
  /** Why the person is paged: `escalation`, `decision-requested`, `enforcement-failed`… */
  reason: string;
  /** What to do, where (an absolute console link) and the same in a terminal. */
  action: PageAction;
}

export interface PageAction {
  what: string;
  /** Absolute: the deployment's public URL and the console path. */
  url: string;
  command?: string;
}

/**
 * Delivers a page through one contact method. Resolves once the channel accepted it (with the
 * channel's own id for the message when it gives one); throws a `ChannelDeliveryError` whose message
 * says what went wrong in words an operator can act on (the HTTP status and an excerpt of the answer,
 * the environment variable that is not set). Secrets (webhook URLs) never appear in a message.
 */
export interface ChannelSender<C extends ContactMethod = ContactMethod> {
  send(contact: C, page: PageMessage): Promise<{ reference?: string }>;
}

/** The senders a worker has, by channel. Email is not among them: it is the mailer. */
export type ChannelSenders = Partial<Record<ChannelKind, ChannelSender>>;

export class ChannelDeliveryError extends Error {
  constructor(
    readonly channel: ChannelKind,
    message: string,
  ) {
    super(message);
    this.name = 'ChannelDeliveryError';
  }
}

/** How long one delivery may take before it counts as failed (and the next contact is tried). */
export const deliveryTimeoutMs = 10_000;

export interface SenderOptions {
  /** Reads a secret from the worker's environment by name (`process.env` in production). */
  secret: (name: string) => string | undefined;
  timeoutMs?: number;
  /** The wall clock, in milliseconds (tests pin it). */
  now?: () => number;
}

/** The HTTP senders Correx has built in: Slack, Microsoft Teams and the signed webhook. */
export function createChannelSenders(options: SenderOptions): ChannelSenders {
  return {
    slack: createSlackSender(options),
    teams: createTeamsSender(options),
    webhook: createWebhookSender(options),
  };
}

/** The value of the environment variable a contact names, or a failure naming the variable. */
export function requireSecret(channel: ChannelKind, secret: SenderOptions['secret'], name: string): string {
  const value = secret(name)?.trim();
  if (!value)
    throw new ChannelDeliveryError(
      channel,
      `environment variable ${name} is not set (the ${channel} contact's ${channel === 'webhook' ? 'secretEnv' : 'webhookEnv'})`,
    );
  return value;
}

/** At most `max` characters of a remote answer, on one line. */
export function excerpt(body: string, max = 200): string {
  const line = body.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

const staleConnection = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

/**
 * POSTs a JSON body and returns the answer's status and text when `accepted` says it is a success;
 * otherwise throws a `ChannelDeliveryError` naming `what` (never the URL, which may be a secret).
 */
export async function postJson(
  channel: ChannelKind,
  what: string,
  url: string,
  body: string,
  options: { headers?: Record<string, string>; timeoutMs?: number; accepted: (status: number, text: string) => boolean },
): Promise<{ status: number; text: string }> {
  const timeoutMs = options.timeoutMs ?? deliveryTimeoutMs;
  const signal = AbortSignal.timeout(timeoutMs);
  let response: Response | undefined;
  for (let attempt = 1; !response; attempt++) {
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json; charset=utf-8', ...options.headers },
        body,
        redirect: 'error',
        signal,
      });
    } catch (error) {
      const e = error as Error & { cause?: { code?: string; message?: string } };
      if (e.name === 'TimeoutError' || e.name === 'AbortError') throw new ChannelDeliveryError(channel, `${what} did not answer within ${timeoutMs / 1000} s`);
      // A kept-alive connection the other side closed just as it was reused: once more, on a new one.
      if (attempt === 1 && staleConnection.has(e.cause?.code ?? '')) continue;
      throw new ChannelDeliveryError(channel, `${what} could not be reached: ${e.cause?.code ?? e.cause?.message ?? e.message}`);
    }
  }
  let text = '';
  try {
    text = await response.text();
  } catch (error) {
    throw new ChannelDeliveryError(channel, `${what} answered HTTP ${response.status} but its body could not be read: ${(error as Error).message}`);
  }
  if (!options.accepted(response.status, text)) {
    throw new ChannelDeliveryError(channel, `${what} answered HTTP ${response.status}${text ? `: ${excerpt(text)}` : ' with an empty body'}`);
  }
  return { status: response.status, text };
}
