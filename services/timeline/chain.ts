import { createHash } from 'node:crypto';

/** prev_hash of an incident's first event. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * Canonical JSON (the subset of RFC 8785 / JCS that timeline data uses): object keys sorted by
 * UTF-16 code units, no whitespace, members whose value is `undefined` omitted, numbers in
 * ECMAScript's shortest round-trip form, strings escaped as JSON.stringify does. The same value
 * always gives the same bytes, so a verifier in any language can recompute the hash.
 */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON cannot encode ${value}`);
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
      if (value instanceof Date) return JSON.stringify(value.toISOString());
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON cannot encode a ${typeof value}`);
  }
}

export interface ChainedEvent {
  incidentId: string;
  seq: number;
  kind: string;
  actor: string;
  /** ISO 8601 with milliseconds, UTC (`Date.prototype.toISOString`). */
  occurredAt: string;
  data: Record<string, unknown>;
  prevHash: string;
}

/** SHA-256 (hex) over the canonical JSON of the event including the previous event's hash. */
export function timelineEventHash(event: ChainedEvent): string {
  return createHash('sha256').update(canonicalJson(event)).digest('hex');
}
