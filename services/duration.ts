import { z } from 'zod';
import { parseClockOffset } from './regulatory/calendar.js';

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

/** A positive duration written as text in a runbook. Stays text, so `runbook show` prints what was written. */
export const DurationText = z
  .string()
  .refine((text) => (parseDuration(text) ?? 0) > 0, 'must be a positive duration such as 30s, 15m, 4h, 2d or 1h30m');

export const ClockOffsetText = z
  .string()
  .refine((text) => parseClockOffset(text) !== undefined, 'must be a deadline such as 24h, 15d, 1 month or 4 business days');
