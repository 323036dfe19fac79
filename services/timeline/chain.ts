import { createHash } from 'node:crypto';
import { canonicalJson } from '../canonical-json.js';

/** prev_hash of an incident's first event. */
export const GENESIS_HASH = '0'.repeat(64);

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
