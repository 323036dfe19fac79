import { z } from 'zod';
import { ClockOffsetText } from '../duration.js';
import { incidentClasses } from './classes.js';

export { incidentClasses };
export const IncidentClass = z.enum(incidentClasses, { error: `must be one of ${incidentClasses.join(', ')}` });
export type IncidentClass = z.infer<typeof IncidentClass>;

export const valueChainRoles = ['provider', 'deployer'] as const;
export const ValueChainRole = z.enum(valueChainRoles);
export const riskCategories = ['gpai-systemic-risk', 'high-risk', 'limited-risk', 'minimal-risk'] as const;
export const RiskCategory = z.enum(riskCategories);

/**
 * When a clock starts: a moment the engine records as a timeline event (awareness of the incident,
 * the determination that it qualifies, its classification as major, its resolution), or the
 * submission of an earlier report of the same regime (`submitted:<clockId>`).
 */
export const ClockStart = z
  .string()
  .regex(
    /^(awareness|determination|classification|resolution|submitted:[a-z0-9-]+)$/,
    'must be awareness, determination, classification, resolution or submitted:<clock id>',
  );

export const RegulatoryClock = z.strictObject({
  id: z.string().regex(/^[a-z0-9-]+$/, 'must be lowercase letters, digits and dashes'),
  report: z.enum(['initial', 'intermediate', 'final', 'notification']),
  start: ClockStart,
  deadline: ClockOffsetText,
  /** Shorter deadlines for some incident classes; the shortest matching one applies. */
  sooner: z.array(z.strictObject({ classes: z.array(IncidentClass).min(1), deadline: ClockOffsetText })).optional(),
  /** A second bound: and no later than this deadline after that moment (DORA: 4 h after classification, at most 24 h after awareness). */
  latest: z.strictObject({ start: ClockStart, deadline: ClockOffsetText }).optional(),
  /** Repeats (e.g. every 4 weeks) until the incident is resolved. */
  repeatEvery: ClockOffsetText.optional(),
  /** Only when the incident has one of these classes. */
  onlyFor: z.array(IncidentClass).min(1).optional(),
});
export type RegulatoryClock = z.infer<typeof RegulatoryClock>;

export const Regime = z.strictObject({
  id: z.string().regex(/^[a-z0-9-]+$/, 'must be lowercase letters, digits and dashes'),
  name: z.string().min(1),
  /** Applies when the system operates in one of these (ISO 3166 codes, subdivisions like US-CA, or EU). */
  jurisdictions: z.array(z.string().min(2)).min(1),
  /** Applies only to systems in one of these sectors, when set. */
  sectors: z.array(z.string().min(1)).optional(),
  valueChainRoles: z.array(ValueChainRole).optional(),
  riskCategories: z.array(RiskCategory).optional(),
  triggerClasses: z.array(IncidentClass).min(1),
  recipient: z.string().min(1),
  clocks: z.array(RegulatoryClock).min(1),
  content: z.array(z.string().min(1)).default([]),
  note: z.string().optional(),
});
export type Regime = z.infer<typeof Regime>;
