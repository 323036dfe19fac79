import { z } from 'zod';
import { parseDuration, tooLongMessage, withinMaxDuration } from '../duration.js';
import { SystemId } from '../incident/schema.js';
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
    /** How long the token lives (`90d`, `12h`); without it, until revoked. */
    expiresIn: z
      .string()
      .refine((text) => (parseDuration(text) ?? 0) > 0, 'must be a duration such as 12h, 30d or 1w')
      .refine(withinMaxDuration, tooLongMessage)
      .optional(),
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
  });
export type TokenRequest = z.infer<typeof TokenRequest>;

export interface TokenRecord {
  id: string;
  prefix: string;
  kind: 'token' | 'integration-key';
  owner: string;
  roles: string[];
  description: string | null;
  systemId: string | null;
  createdAt: string;
  /** The admin who created it; `direct:<user>` for one written straight into the database; null if unknown. */
  createdBy: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}
