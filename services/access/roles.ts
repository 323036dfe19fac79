/**
 * What a token may do. `approver` only opens the door to decisions: the runbook's decision authority
 * still decides whose vote counts. `gateway` is for enforcement points that read the policy;
 * `ingest` for alert senders.
 */
export const roles = ['responder', 'approver', 'compliance', 'admin', 'ingest', 'gateway'] as const;
export type Role = (typeof roles)[number];

/** Who a route lets in: nobody needs a token, an integration key inside the body, or one of some roles. */
export type Access = 'public' | 'integration-key' | readonly Role[];

/** Everyone who reads incidents. */
export const readers: readonly Role[] = ['responder', 'approver', 'compliance', 'admin'];

/** The authenticated caller: the token's owner is the person id runbooks name (and the timeline records). */
export interface Principal {
  tokenId: string;
  prefix: string;
  owner: string;
  roles: Role[];
  /** Integration keys speak for one system only. */
  systemId: string | null;
}

export function allows(access: Access, principal: Principal | undefined): boolean {
  if (access === 'public') return true;
  if (!principal || access === 'integration-key') return false;
  return principal.roles.some((role) => access.includes(role));
}
