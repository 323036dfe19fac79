import { z } from 'zod';

/** A moment as the API writes it: ISO 8601 in UTC (`2026-12-01T09:30:00.000Z`). */
export const Instant = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 time with offset' });
