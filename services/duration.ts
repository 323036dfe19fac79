import { z } from 'zod';
import { parseClockOffset, type ClockOffset } from './regulatory/calendar.js';

const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const durationPattern = /^(\d+(?:ms|s|m|h|d|w))+$/;

/** `90s`, `15m`, `4h`, `2d`, `1w`, or combinations such as `1h30m`, as milliseconds; undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  const compact = text.replace(/\s+/g, '');
  if (!durationPattern.test(compact)) return undefined;
  let total = 0;
  for (const [, amount, unit] of compact.matchAll(/(\d+)(ms|s|m|h|d|w)/g)) total += Number(amount) * units[unit!]!;
  return total;
}

/** Formats milliseconds the way runbooks write them (`1h30m`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const unit of ['w', 'd', 'h', 'm', 's', 'ms'] as const) {
    const size = units[unit]!;
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}

/**
 * The longest duration Correx accepts anywhere: ten years. Anything longer is a typo, and some of it
 * is beyond what a Temporal timer or a JavaScript Date can hold (a token expiring in 1000000000w).
 */
export const maxDurationMs = 3650 * units.d!;
export const tooLongMessage = 'must be at most 3650d (10 years)';

/** True for a duration of at most ten years (malformed text is left to the format check). */
export function withinMaxDuration(text: string): boolean {
  return (parseDuration(text) ?? 0) <= maxDurationMs;
}

/** A positive duration written as text in a runbook. Stays text, so `runbook show` prints what was written. */
export const DurationText = z
  .string()
  .refine((text) => (parseDuration(text) ?? 0) > 0, 'must be a positive duration such as 30s, 15m, 4h, 2d or 1h30m')
  .refine(withinMaxDuration, tooLongMessage);

// Ten years in each unit a regulatory deadline may be written in (260 business days a year, rounded up).
const maxClockOffset: Record<ClockOffset['unit'], number> = { hours: 87_600, days: 3_650, months: 120, businessDays: 2_610 };

export const ClockOffsetText = z
  .string()
  .refine((text) => parseClockOffset(text) !== undefined, 'must be a deadline such as 24h, 15d, 1 month or 4 business days')
  .refine((text) => {
    const offset = parseClockOffset(text);
    return offset === undefined || offset.amount <= maxClockOffset[offset.unit];
  }, 'must be at most 10 years (3650 days, 120 months or 2610 business days)');
