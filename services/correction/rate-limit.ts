import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { Batched } from '../db/batch.js';
import type { DecisionRequest, strictestLimit } from './policy.js';

const WINDOW_MS = 60_000;

export interface Admission {
  admitted: boolean;
  /** Requests counted in this window, this one included. */
  count: number;
  /** Seconds until the window ends and the count starts again. */
  retryAfterSeconds: number;
}

interface Count {
  correctionId: string;
  subject: string;
  windowStart: Date;
}

/**
 * Counts one request against a rate-limit correction, shared by every API instance: one row per
 * correction, user (or org) and minute in PostgreSQL. Minutes run from the moment the correction took
 * effect. Requests that arrive together are counted in one statement (group commit).
 */
export class RateLimitCounter {
  private readonly counts: Batched<Count, number>;

  constructor(db: Kysely<Database>) {
    this.counts = new Batched(async (items) => {
      // The same key twice in one statement would be one row: count each key once, by how often it came.
      const byKey = new Map<string, { item: Count; times: number }>();
      for (const item of items) {
        const key = `${item.correctionId}\u0000${item.subject}\u0000${item.windowStart.toISOString()}`;
        const entry = byKey.get(key);
        if (entry) entry.times += 1;
        else byKey.set(key, { item, times: 1 });
      }
      const rows = await db
        .insertInto('rate_limit_counts')
        .values(
          [...byKey.values()].map(({ item, times }) => ({
            correction_id: item.correctionId,
            subject: item.subject,
            window_start: item.windowStart,
            count: times,
          })),
        )
        .onConflict((oc) => oc.columns(['correction_id', 'subject', 'window_start']).doUpdateSet({ count: sql`rate_limit_counts.count + excluded.count` }))
        .returning(['correction_id', 'subject', 'window_start', 'count'])
        .execute();
      const totals = new Map(rows.map((r) => [`${r.correction_id}\u0000${r.subject}\u0000${r.window_start.toISOString()}`, r.count]));
      // Each caller gets its own place in the count: the last of n gets the total, the first total - n + 1.
      const seen = new Map<string, number>();
      return items.map((item) => {
        const key = `${item.correctionId}\u0000${item.subject}\u0000${item.windowStart.toISOString()}`;
        const entry = byKey.get(key)!;
        const before = seen.get(key) ?? 0;
        seen.set(key, before + 1);
        return totals.get(key)! - entry.times + before + 1;
      });
    });
  }

  async admit(limit: NonNullable<ReturnType<typeof strictestLimit>>, request: DecisionRequest, now = new Date()): Promise<Admission> {
    const since = Date.parse(limit.correction.appliedAt);
    const elapsed = Math.max(0, now.getTime() - since);
    const windowStart = new Date(since + Math.floor(elapsed / WINDOW_MS) * WINDOW_MS);
    // Requests that do not say who sends them share one count, so leaving the header out is no way around the limit.
    const who = limit.per === 'org' ? request.orgId : request.userId;
    const subject = `${limit.per}:${who ?? '(not given)'}`;
    const count = await this.counts.submit({ correctionId: limit.correction.id, subject, windowStart });
    const retryAfterSeconds = Math.max(1, Math.ceil((windowStart.getTime() + WINDOW_MS - now.getTime()) / 1000));
    return { admitted: count <= limit.requestsPerMinute, count, retryAfterSeconds };
  }
}

/** Windows long past are of no use to anyone: dropped now and then. */
export async function dropPastWindows(db: Kysely<Database>): Promise<void> {
  await db
    .deleteFrom('rate_limit_counts')
    .where('window_start', '<', sql<Date>`now() - interval '5 minutes'`)
    .execute();
}
