import { z } from 'zod';

const message = 'must be an ISO 8601 time with offset';

/** A moment as the API writes it: ISO 8601 in UTC (`2026-12-01T09:30:00.000Z`). */
export const Instant = z.iso.datetime({ offset: true, message });

/**
 * A moment a client sends, read as the instant it names and passed on in UTC: ISO 8601 admits offsets
 * (`+22:31`) and years PostgreSQL refuses to read back as given ("time zone displacement out of
 * range"), which would fail the query instead of the request.
 */
export const InstantInput = z.iso
  // A malformed time is one problem, not two: the check that it exists only reads well-formed ones.
  .datetime({ offset: true, message, abort: true })
  .refine((text) => Number.isFinite(Date.parse(text)), 'is not a moment that exists (check the date and the offset)')
  .transform((text) => new Date(text).toISOString());
