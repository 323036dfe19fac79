import { z } from 'zod';
import { Instant } from '../instant.js';
import { reportStates } from '../notification/kinds.js';
import { RegulatoryClock } from './regime.js';

// A regulator clock workflow's live state, as its query and the approval of a report answer it. The
// workflow's messages take their types from here (type-only, so the workflow bundle stays free of zod),
// and the API checks what it sends against the same schemas.

/** One deadline of a regime: its report, when its clock started and when the report is due. */
export const ClockSnapshot = z.strictObject({
  clockId: z.string(),
  report: RegulatoryClock.shape.report.describe('Which report this clock asks for'),
  occurrence: z.number().int().min(1).describe('1, then 2, 3… for a report that repeats'),
  startAt: Instant.optional().describe('When the clock started; absent while it waits for its start moment'),
  dueAt: Instant.optional().describe('The deadline; absent until the clock has started'),
  state: z.enum(reportStates),
  submittedAt: Instant.optional(),
  late: z.boolean(),
  // A deadline is only as good as its start: the reader must see which recorded moment it runs from.
  startFrom: z
    .string()
    .optional()
    .describe('The moment the clock runs from, in words: awareness (and who set it earlier, why), the determination of a class, an earlier submission'),
  submittedElsewhere: z
    .strictObject({ by: z.string(), evidence: z.string() })
    .optional()
    .describe('The report was submitted outside Correx (a portal, a call), declared by this person with this evidence'),
});
export type ClockSnapshot = z.infer<typeof ClockSnapshot>;

export const RegulatoryClockSnapshot = z.strictObject({
  regimeId: z.string(),
  regimeName: z.string(),
  withdrawn: z.boolean().describe('The regime stopped applying (the incident was reclassified): its reports not yet approved are withdrawn'),
  clocks: z.array(ClockSnapshot),
});
export type RegulatoryClockSnapshot = z.infer<typeof RegulatoryClockSnapshot>;
