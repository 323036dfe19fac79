import { z } from 'zod';
import { parseDuration, tooLongMessage, withinMaxDuration } from '../duration.js';
import { SystemId } from '../incident/schema.js';
import { Instant } from '../instant.js';
import { roles } from './roles.js';

/** A person id as runbooks write it; the timeline records it for everything the token does. */
export const TokenOwner = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be a person id as the runbooks name people (lowercase letters, digits, . _ -)');

export const TokenRequest = z
  .strictObject({
    owner: TokenOwner,
    roles: z
      .array(z.enum(roles))
      .min(1, 'give at least one role')
      .transform((list) => [...new Set(list)]),
    description: z.string().trim().max(200).optional(),
    expiresIn: z
      .string()
      .refine((text) => (parseDuration(text) ?? 0) > 0, 'must be a duration such as 12h, 30d or 1w')
      .refine(withinMaxDuration, tooLongMessage)
      .optional()
      .describe('A positive duration such as 12h, 30d, 1w or 1h30m, at most 3650d; without it, the token lives until revoked'),
    /** An integration key (PagerDuty routing key) for one system, instead of a bearer token. */
    integrationKeyFor: SystemId.optional(),
    /**
     * A person's roles normally go to a person some runbook names, so the timeline's actor is someone
     * the runbooks know; set this to mint one for anybody else (an auditor, a service account) on purpose.
     */
    ownerOutsideRunbooks: z.boolean().optional(),
  })
  .superRefine((request, ctx) => {
    if (request.integrationKeyFor && (request.roles.length !== 1 || request.roles[0] !== 'ingest')) {
      ctx.addIssue({ code: 'custom', path: ['roles'], message: 'an integration key sends alerts only: its roles must be [ingest]' });
    }
  })
  // The refinement above, as JSON Schema states it, so the published contract is as strict as the check.
  .meta({ if: { required: ['integrationKeyFor'] }, then: { properties: { roles: { items: { const: 'ingest' } } } } });
export type TokenRequest = z.infer<typeof TokenRequest>;

/** A token as listed: never its secret, only the prefix that identifies it. */
export const TokenRecord = z.strictObject({
  id: z.uuid(),
  prefix: z.string().describe('The first characters of the secret (crx_AbCdEfGh; an integration key its first 8), which identify it'),
  kind: z.enum(['token', 'integration-key']),
  owner: z.string(),
  roles: z.array(z.string()),
  description: z.string().nullable(),
  systemId: z.string().nullable().describe('The one system an integration key sends for; null for a bearer token'),
  createdAt: Instant,
  createdBy: z.string().nullable().describe('The admin who created it; `direct:<user>` for one written straight into the database; null if unknown'),
  expiresAt: Instant.nullable(),
  revokedAt: Instant.nullable(),
  lastUsedAt: Instant.nullable().describe('Recorded at most once a minute'),
});
export type TokenRecord = z.infer<typeof TokenRecord>;

/** A new token: its secret is in this answer only. */
export const CreatedToken = z.strictObject({
  secret: z.string().describe('The token (crx_…) or integration key; only a hash of it is kept, so it cannot be shown again'),
  token: TokenRecord,
});
