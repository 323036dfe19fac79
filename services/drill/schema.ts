import { z } from 'zod';
import { CorrectionKind, CorrectionScope } from '../correction/schema.js';
import { Severity, SystemId } from '../incident/schema.js';
import { Instant } from '../instant.js';
import { roles } from '../access/roles.js';

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

/** The steps of an incident that people take, each through its own API operation. */
export const drillSteps = ['acknowledge', 'propose', 'approve', 'lift', 'resolve', 'submit review', 'task done', 'sign off'] as const;
export type DrillStep = (typeof drillSteps)[number];
const Step = z.enum(drillSteps);

/**
 * Who does what in a drill: the runbook's own people, each admitted by the rule the real incident applies
 * to that step and holding a token the step's route lets in. Plans of drills started before steps were
 * cast that way have no `cast` or `problems`.
 */
export const DrillPlan = z.strictObject({
  systemId: z.string(),
  runbookVersion: z.string(),
  title: z.string(),
  severity: z.string(),
  commander: z.string().optional().describe('Acknowledges, proposes the correction, resolves and submits the review; absent when nobody can'),
  correction: z.strictObject({
    kind: CorrectionKind,
    scope: z.record(z.string(), z.unknown()).describe('As a correction proposal takes it: `{ all: true }` or segments'),
    parameters: z.record(z.string(), z.unknown()),
    reason: z.string(),
  }),
  approvers: z.array(z.string()).describe("Who approves, in order: enough people with different roles to meet the authority rule's quorum"),
  gatewayProbe: z
    .strictObject({
      url: z.string().describe('The gateway address probe requests go to (the model path behind it)'),
      headers: z.record(z.string(), z.string()).describe('The request headers that name the user, org, tier, region, use case and capability'),
      authorizationEnv: z.string().optional().describe('Environment variable holding the Authorization value probes send'),
      body: z.record(z.string(), z.unknown()).optional().describe('The JSON body of each probe request'),
    })
    .optional()
    .describe("Where the drill checks its correction at the system's gateway, with requests marked as the drill's (the runbook's enforcement.drillProbe)"),
  lifter: z.string().optional().describe('The first of `lifters`'),
  lifters: z.array(z.string()).optional().describe("Who votes to lift, in order, to meet the lift rule's quorum"),
  restoration: z.array(z.strictObject({ criterion: z.string(), evidence: z.string() })),
  signOff: z.string().optional().describe('Signs the review off'),
  markTasksDone: z
    .array(z.string())
    .optional()
    .describe("People whose token may mark a task done: a task's owner among them marks it, the commander marks the others"),
  cast: z
    .array(
      z.strictObject({
        step: Step,
        person: z.string(),
        role: z.string().optional().describe('The runbook role the rule admits them by, where the step needs one'),
        token: z.enum(roles).describe("The role of the person's token that the step's route lets in"),
      }),
    )
    .optional()
    .describe('Why each person may take their step in a real incident'),
  problems: z
    .array(z.strictObject({ step: Step, reason: z.string() }))
    .optional()
    .describe('Steps nobody in the runbook can take in a real incident: the drill fails them and touches nothing'),
});
export type DrillPlan = z.infer<typeof DrillPlan>;

/** A drill's progress (the drill workflow's query): each step, who took it, how long it took and how it went. */
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
      detail: z.string().optional().describe('What it did: as whom, where its mail or request went'),
      outcome: z.enum(['ok', 'failed']).optional().describe('Absent while it runs (and on drills started before steps had outcomes)'),
      reason: z.string().optional().describe('Why it failed: the error the real incident would hit'),
    }),
  ),
  failure: z.string().optional().describe('The step that failed and why (the first, when several did)'),
  touched: z.string().optional().describe('What the drill touched and what it did not: the enforcer, fallbacks, mail, regulators'),
});
export type DrillSnapshot = z.infer<typeof DrillSnapshot>;
