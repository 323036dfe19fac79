import { z } from 'zod';
import { CorrectionKind, CorrectionScope } from '../correction/schema.js';
import { Severity, SystemId } from '../incident/schema.js';
import { Instant } from '../instant.js';

/** What a drill rehearses; everything left out comes from the system's runbook (its playbook for the severity). */
export const DrillScenario = z.strictObject({
  title: z.string().trim().min(1).max(500).optional(),
  severity: Severity.optional(),
  correction: z
    .strictObject({
      kind: CorrectionKind,
      scope: CorrectionScope,
      parameters: z.record(z.string(), z.unknown()).default({}),
      reason: z.string().trim().min(1).max(2000),
    })
    .optional(),
});
export type DrillScenario = z.infer<typeof DrillScenario>;

export const DrillRequest = z.strictObject({ systemId: SystemId, scenario: DrillScenario.default({}) });
export type DrillRequest = z.infer<typeof DrillRequest>;

/** Who does what in a drill: the runbook's own people, each in a role the runbook gives them. */
export const DrillPlan = z.strictObject({
  systemId: z.string(),
  runbookVersion: z.string(),
  title: z.string(),
  severity: z.string(),
  commander: z.string().describe('Triggers and acknowledges, proposes the correction, submits the review'),
  correction: z.strictObject({
    kind: CorrectionKind,
    scope: z.record(z.string(), z.unknown()).describe('As a correction proposal takes it: `{ all: true }` or segments'),
    parameters: z.record(z.string(), z.unknown()),
    reason: z.string(),
  }),
  approvers: z.array(z.string()).describe("Enough people with different roles to meet the authority rule's quorum"),
  lifter: z.string(),
  restoration: z.array(z.strictObject({ criterion: z.string(), evidence: z.string() })),
  signOff: z.string().describe('Signs the review off'),
});
export type DrillPlan = z.infer<typeof DrillPlan>;

/** A drill's progress (the drill workflow's query): each step, who took it, and how long it took. */
export const DrillSnapshot = z.strictObject({
  drillId: z.uuid(),
  systemId: z.string(),
  state: z.enum(['running', 'completed', 'failed']),
  incidentId: z.uuid().optional().describe("The drill's incident, once triggered"),
  steps: z.array(
    z.strictObject({
      name: z.string(),
      by: z.string().optional().describe('The runbook person (or `system:<component>`) who took the step'),
      startedAt: Instant,
      ms: z.number().int().optional().describe('How long it took; absent while it runs'),
      detail: z.string().optional(),
    }),
  ),
  failure: z.string().optional().describe('The step that failed and why'),
});
export type DrillSnapshot = z.infer<typeof DrillSnapshot>;
