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

export type ChainCheck = { ok: true; events: number; headHash: string } | { ok: false; events: number; brokenAt: number; reason: string };

/**
 * Recomputes a stored chain, in order: each event must follow the previous one's seq and hash, and its
 * own hash must match its content. `events` yields the rows oldest first.
 */
export async function checkChain(incidentId: string, events: AsyncIterable<Omit<ChainedEvent, 'incidentId'> & { hash: string }>): Promise<ChainCheck> {
  let expectedSeq = 1;
  let prevHash = GENESIS_HASH;
  for await (const event of events) {
    if (event.seq !== expectedSeq)
      return { ok: false, events: expectedSeq - 1, brokenAt: expectedSeq, reason: `event ${expectedSeq} is missing (found ${event.seq})` };
    if (event.prevHash !== prevHash)
      return { ok: false, events: expectedSeq - 1, brokenAt: event.seq, reason: `event ${event.seq} does not follow the hash of event ${event.seq - 1}` };
    const { hash, ...content } = event;
    if (timelineEventHash({ ...content, incidentId }) !== hash)
      return { ok: false, events: expectedSeq - 1, brokenAt: event.seq, reason: `event ${event.seq} was altered (its hash does not match its content)` };
    prevHash = event.hash;
    expectedSeq++;
  }
  return { ok: true, events: expectedSeq - 1, headHash: prevHash };
}
