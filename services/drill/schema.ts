import { z } from 'zod';
import { CorrectionKind, CorrectionScope } from '../correction/schema.js';
import { Severity, SystemId } from '../incident/schema.js';

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
