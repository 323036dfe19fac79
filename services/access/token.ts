import { createHash, randomBytes } from 'node:crypto';

export type TokenKind = 'token' | 'integration-key';

export interface MintedToken {
  secret: string;
  /** Stored and shown in listings, so a leaked token can be recognised and revoked. */
  prefix: string;
  hash: string;
}

/**
 * API tokens read `crx_` + 43 base64url characters (256 bits); integration keys are 32 hex characters
 * (128 bits), the shape PagerDuty clients expect of a routing key.
 */
export function mintToken(kind: TokenKind): MintedToken {
  const secret = kind === 'token' ? `crx_${randomBytes(32).toString('base64url')}` : randomBytes(16).toString('hex');
  return { secret, prefix: tokenPrefix(secret), hash: hashToken(secret) };
}

export function tokenPrefix(secret: string): string {
  return secret.startsWith('crx_') ? secret.slice(0, 12) : secret.slice(0, 8);
}

/** A token carries enough entropy that one SHA-256 is as good as a slow hash, and cheap on every request. */
export function hashToken(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}
