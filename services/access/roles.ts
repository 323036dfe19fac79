/**
 * What a token may do. `approver` only opens the door to decisions: the runbook's decision authority
 * still decides whose vote counts. `gateway` is for enforcement points that read the policy;
 * `ingest` for alert senders.
 */
export const roles = ['responder', 'approver', 'compliance', 'admin', 'ingest', 'gateway'] as const;
/** Roles people hold (and the console admits); `ingest` and `gateway` are for machines. */
export const personRoles = ['responder', 'approver', 'compliance', 'admin'] as const satisfies readonly (typeof roles)[number][];
export type Role = (typeof roles)[number];

/**
 * Who a route lets in: nobody needs a token, an integration key inside the body, a bearer token with
 * one of some roles, or a signed-in console session (the browser) whose token has one of some roles.
 */
export type Access = 'public' | 'integration-key' | readonly Role[] | { session: readonly Role[] };

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
  /** When the token stops working (a console session never outlives it). */
  expiresAt?: Date | null;
}

export function allows(access: Access, principal: Principal | undefined): boolean {
  if (access === 'public') return true;
  if (!principal || access === 'integration-key') return false;
  const wanted = 'session' in access ? access.session : access;
  return principal.roles.some((role) => wanted.includes(role));
}
