// Deadline arithmetic for regulator clocks. Pure and dependency-free: workflows import it.

/** A regulator deadline offset: calendar hours or days (N days = N × 24 h), calendar months, or business days. */
export interface ClockOffset {
  amount: number;
  unit: 'hours' | 'days' | 'months' | 'businessDays';
}

/** `72h`, `15d`, `1 month`, `4 business days`; undefined if malformed or not positive. */
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

const HOUR = 3_600_000;

/**
 * The moment `offset` after `start` (UTC). Months keep the day of the month, clamped to the month's
 * last day (31 January + 1 month = 28 or 29 February). Business days skip Saturdays and Sundays (no
 * public holidays) and keep the time of day: Friday 10:00 + 4 business days = Thursday 10:00.
 */
export function addOffset(start: Date, offset: ClockOffset): Date {
  switch (offset.unit) {
    case 'hours':
      return new Date(start.getTime() + offset.amount * HOUR);
    case 'days':
      return new Date(start.getTime() + offset.amount * 24 * HOUR);
    case 'months': {
      const year = start.getUTCFullYear();
      const month = start.getUTCMonth() + offset.amount;
      const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
      const result = new Date(start.getTime());
      result.setUTCFullYear(year, month, Math.min(start.getUTCDate(), lastDay));
      return result;
    }
    case 'businessDays': {
      const result = new Date(start.getTime());
      let left = offset.amount;
      while (left > 0) {
        result.setUTCDate(result.getUTCDate() + 1);
        const day = result.getUTCDay();
        if (day !== 0 && day !== 6) left -= 1;
      }
      return result;
    }
  }
}
