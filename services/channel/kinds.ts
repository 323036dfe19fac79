import { z } from 'zod';

/** The ways Correx reaches a person, as contact methods in a runbook and as `pages.channel`. */
export const channelKinds = ['email', 'matrix', 'slack', 'teams', 'webhook'] as const;
export type ChannelKind = (typeof channelKinds)[number];

const EnvName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name');
/** A Matrix user id, `@localpart:server`. */
export const MatrixUserId = z.string().regex(/^@[a-z0-9._=\-/+]+:[A-Za-z0-9.-]+(:\d+)?$/, 'must be a Matrix user id such as @amara:matrix.example');

/**
 * One way to reach a person. A person's contacts are tried in order; the next is used only when one
 * cannot be delivered (its failure is on record). Secrets (webhook URLs, signing keys) are named by
 * environment variable, never written in the runbook.
 */
export const ContactMethod = z.discriminatedUnion(
  'channel',
  [
    /** The person's `email`. */
    z.strictObject({ channel: z.literal('email') }),
    /** A direct room with Correx's Matrix account; also who the person is when they act from a Matrix room. */
    z.strictObject({ channel: z.literal('matrix'), user: MatrixUserId }),
    /** A Slack incoming webhook (its URL in the variable). */
    z.strictObject({ channel: z.literal('slack'), webhookEnv: EnvName }),
    /** A Microsoft Teams Workflows webhook ("When a Teams webhook request is received"), sent an Adaptive Card. */
    z.strictObject({ channel: z.literal('teams'), webhookEnv: EnvName }),
    /** A signed JSON POST, for SMS and voice providers' relays (HMAC-SHA256 with the secret in `secretEnv`). */
    z.strictObject({ channel: z.literal('webhook'), url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }), secretEnv: EnvName }),
  ],
  { error: 'must be a contact method: { channel: email | matrix | slack | teams | webhook, … }' },
);
export type ContactMethod = z.infer<typeof ContactMethod>;
