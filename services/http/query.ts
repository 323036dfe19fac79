import { z } from 'zod';

// `z.coerce.number()` alone reads what is not a whole number as one (`?afterSeq=` as 0, `0x10` as 16,
// `1e3` as 1000): only digits are read here, and anything else is refused with the field's path, as
// the contract's `integer` says.
const digits = (value: unknown) => (typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value);
const integer = (min: number, max: number) =>
  z.number({ error: 'must be a whole number' }).int('must be a whole number').min(min, `must be at least ${min}`).max(max, `must be at most ${max}`);
const optional = (min: number, max: number) => z.preprocess(digits, integer(min, max).optional());
const withDefault = (min: number, max: number, fallback: number) => z.preprocess(digits, integer(min, max).default(fallback));

/** A whole number in a query string, between `min` and `max`; `fallback` when absent, if given. */
export function queryInteger(min: number, max: number): ReturnType<typeof optional>;
export function queryInteger(min: number, max: number, fallback: number): ReturnType<typeof withDefault>;
export function queryInteger(min: number, max: number, fallback?: number) {
  return fallback === undefined ? optional(min, max) : withDefault(min, max, fallback);
}
