import { z } from 'zod';
import { IncidentState } from '../incident/schema.js';
import { Instant } from '../instant.js';

const Seconds = z.number().nullable();

/** One report to a regulator, against its deadline. */
export const RegulatorSubmission = z.strictObject({
  regime: z.string().nullable(),
  clockId: z.string().nullable(),
  occurrence: z.number().int().nullable(),
  dueAt: Instant.nullable(),
  sentAt: Instant.nullable(),
  marginSeconds: Seconds.describe('Due minus sent: positive when sent early, negative when late; null while unsent'),
  late: z.boolean().describe('Sent late (as recorded when it was sent), or unsent with its deadline passed'),
});
export type RegulatorSubmission = z.infer<typeof RegulatorSubmission>;

/** One incident's durations, in seconds from its opening (time to detect: up to it); null until reached. */
export const IncidentMetrics = z.strictObject({
  incidentId: z.uuid(),
  systemId: z.string(),
  severity: z.string(),
  state: IncidentState,
  drill: z.boolean(),
  openedAt: Instant,
  timeToDetectSeconds: Seconds,
  timeToAcknowledgeSeconds: Seconds,
  timeToFirstCorrectionSeconds: Seconds,
  timeToResolveSeconds: Seconds,
  timeToCloseSeconds: Seconds,
  regulatorSubmissions: z.array(RegulatorSubmission),
});
export type IncidentMetrics = z.infer<typeof IncidentMetrics>;

export const DurationSummary = z.strictObject({
  count: z.number().int().describe('Incidents that have reached this point'),
  mean: Seconds,
  p50: Seconds.describe('Percentiles with linear interpolation between the nearest values (PostgreSQL percentile_cont)'),
  p90: Seconds,
  max: Seconds,
});
export type DurationSummary = z.infer<typeof DurationSummary>;

export const RegulatorSummary = z.strictObject({
  count: z.number().int().describe('Reports sent'),
  lateCount: z.number().int().describe('Of those, sent after their deadline'),
  minMarginSeconds: Seconds.describe('The smallest due-minus-sent margin of a sent report (negative: the latest one)'),
  unsent: z.number().int().describe('Reports drafted and not sent yet'),
  overdue: z.number().int().describe('Of those, the ones whose deadline has passed'),
});
export type RegulatorSummary = z.infer<typeof RegulatorSummary>;

/** A system's non-drill incidents opened in [from, to). */
export const SystemMetrics = z.strictObject({
  systemId: z.string(),
  from: Instant.nullable(),
  to: Instant.nullable(),
  incidents: z.strictObject({
    total: z.number().int(),
    bySeverity: z.record(z.string(), z.number().int()),
    byState: z.partialRecord(IncidentState, z.number().int()),
    bySeverityAndState: z.array(z.strictObject({ severity: z.string(), state: IncidentState, count: z.number().int() })),
  }),
  timeToDetectSeconds: DurationSummary,
  timeToAcknowledgeSeconds: DurationSummary,
  timeToFirstCorrectionSeconds: DurationSummary,
  timeToResolveSeconds: DurationSummary,
  timeToCloseSeconds: DurationSummary,
  regulatorSubmissions: RegulatorSummary.extend({ byRegime: z.array(RegulatorSummary.extend({ regime: z.string().nullable() })) }),
});
export type SystemMetrics = z.infer<typeof SystemMetrics>;
