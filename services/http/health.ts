import { z } from 'zod';

/** `/healthz`: whether Temporal and the database answer, and which ones they are. */
export const HealthReport = z.strictObject({
  status: z.enum(['ok', 'unavailable']),
  temporal: z.strictObject({ reachable: z.boolean(), address: z.string() }),
  database: z.strictObject({ reachable: z.boolean(), backend: z.enum(['postgres', 'pglite']) }),
});

/** `/readyz`: whether this instance should get traffic; `draining` while it shuts down (or starts). */
export const Readiness = z.strictObject({
  status: z.enum(['ready', 'unavailable', 'draining']),
  temporal: z.boolean().describe('Temporal answers (false while draining: it is not asked then)'),
  database: z.boolean().describe('The database answers (false while draining: it is not asked then)'),
});

/** `/livez`: the process answers, which is all liveness asks. */
export const Liveness = z.strictObject({ status: z.literal('alive') });
