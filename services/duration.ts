import { z } from 'zod';

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

/**
 * A regulator deadline offset: calendar hours or days (N days = N × 24 h), calendar months, or
 * business days (`72h`, `15d`, `1 month`, `4 business days`).
 */
export interface ClockOffset {
  amount: number;
  unit: 'hours' | 'days' | 'months' | 'businessDays';
}

export function parseClockOffset(text: string): ClockOffset | undefined {
  const match = text.trim().match(/^(\d+)\s*(h|hours?|d|days?|months?|business\s+days?)$/i);
  if (!match) return undefined;
  const amount = Number(match[1]);
  const unit = match[2]!.toLowerCase();
  if (amount <= 0) return undefined;
  if (unit.startsWith('business')) return { amount, unit: 'businessDays' };
  if (unit.startsWith('month')) return { amount, unit: 'months' };
  if (unit === 'h' || unit.startsWith('hour')) return { amount, unit: 'hours' };
  return { amount, unit: 'days' };
}

export const ClockOffsetText = z
  .string()
  .refine((text) => parseClockOffset(text) !== undefined, 'must be a deadline such as 24h, 15d, 1 month or 4 business days');
