import { z } from 'zod';

/**
 * An id a runbook gives a person, role, schedule or consumer. At most 63 characters, as system ids and
 * token owners are, so that every id a runbook accepts also fits in an API path (the HTTP server
 * refuses a path segment over 100 characters before any route sees it).
 */
export const RunbookId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lowercase letters, digits and dashes (at most 63)');
