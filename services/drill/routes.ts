import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { drillWorkflow } from '../../workflows/index.js';
import { drillStateQuery } from '../../workflows/drill/messages.js';
import type { OpenAPIV3_1 } from 'openapi-types';
import { listTokens } from '../access/repository.js';
import { readers, roles, type Role } from '../access/roles.js';
import { InvalidInput } from '../errors.js';
import { actorOf, NotFound, type CorrexApp, type RouteDependencies } from '../http/app.js';
import { DrillCannotRun, planDrill, stepAccess, type DrillAccess } from './plan.js';
import { DrillPlan, DrillRequest, DrillSnapshot } from './schema.js';

export const drillWorkflowId = (drillId: string) => `drill:${drillId}`;

/** The roles of each person's bearer tokens that still work now. */
async function liveTokens(deps: RouteDependencies, now = new Date()): Promise<DrillAccess['tokens']> {
  const tokens = new Map<string, Role[]>();
  for (const token of await listTokens(deps.db)) {
    if (token.kind !== 'token' || (token.expiresAt && Date.parse(token.expiresAt) <= now.getTime())) continue;
    const held = token.roles.filter((r): r is Role => (roles as readonly string[]).includes(r));
    tokens.set(token.owner, [...new Set([...(tokens.get(token.owner) ?? []), ...held])]);
  }
  return tokens;
}

export function drillRoutes(app: CorrexApp, deps: RouteDependencies & { temporal: Client; taskQueue: string }): void {
  const tags = ['drills'];
  let routes: DrillAccess['routes'] | undefined;

  app.post('/v1/drills', {
    config: { access: ['responder', 'admin'], links: { 202: { drill: { operationId: 'getDrill', parameters: { id: '$response.body#/drillId' } } } } },
    schema: {
      tags,
      operationId: 'startDrill',
      summary:
        "Start a drill: one incident under the system's runbook, end to end, each step taken by a runbook person whose token and role the real incident would admit, with the dry-run enforcer, fallbacks switched at drill targets, mail to the drill outbox, no regulator clocks, kept out of metrics",
      body: DrillRequest,
      response: {
        202: z
          .strictObject({ drillId: z.uuid(), plan: DrillPlan })
          .describe('Started: the drill runs on its own, as planned (a plan with problems fails at once, touching nothing); follow it with getDrill'),
      },
    },
    handler: async (request, reply) => {
      const { systemId, scenario } = request.body;
      const inUse = await deps.runbooks.find(systemId);
      if (!inUse) throw new InvalidInput([{ path: 'body.systemId', message: `no runbook defines system '${systemId}'` }]);
      let plan;
      try {
        routes ??= stepAccess(app.swagger() as OpenAPIV3_1.Document);
        plan = planDrill(inUse.runbook, inUse.version, scenario, { routes, tokens: await liveTokens(deps) });
      } catch (error) {
        if (error instanceof DrillCannotRun) throw new InvalidInput([{ path: 'body.scenario', message: error.message }]);
        throw error;
      }
      await deps.runbooks.record(deps.db, inUse);
      const drillId = randomUUID();
      await deps.temporal.workflow.start<typeof drillWorkflow>('drillWorkflow', {
        workflowId: drillWorkflowId(drillId),
        taskQueue: deps.taskQueue,
        args: [{ drillId, plan, startedBy: actorOf(request) }],
      });
      return reply.code(202).send({ drillId, plan });
    },
  });

  app.get('/v1/drills/:id', {
    config: { access: readers },
    schema: {
      tags,
      operationId: 'getDrill',
      summary: "A drill's progress: each step, who took it, how long it took, and whether it went through or failed and why",
      params: z.strictObject({ id: z.uuid('must be a drill id (UUID)') }),
      response: { 200: DrillSnapshot.describe("The drill's steps so far") },
    },
    handler: async (request) => {
      try {
        return await deps.temporal.workflow.getHandle(drillWorkflowId(request.params.id)).query(drillStateQuery);
      } catch (error) {
        if ((error as Error).name === 'WorkflowNotFoundError') throw new NotFound(`no drill ${request.params.id}`);
        throw error;
      }
    },
  });
}
