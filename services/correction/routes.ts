import { z } from 'zod';
import { readers } from '../access/roles.js';
import { actorOf, NotFound, untilRecorded, type CorrexApp, type RouteDependencies } from '../http/app.js';
import { idempotent, IdempotencyKeyHeaders } from '../http/idempotency.js';
import { correctionWorkflowId } from '../identity.js';
import { IncidentParams, incidentOr404 } from '../incident/routes.js';
import type { CorrectionRow } from '../db/schema.js';
import { DecisionRequest, decide } from './policy.js';
import { activeCorrections, findCorrection, listCorrections, policyEtag } from './repository.js';
import { CorrectionProposalInput } from './schema.js';
import { SystemId } from '../incident/schema.js';

const CorrectionParams = z.strictObject({ id: z.uuid('must be a correction id (UUID)') });
const Rationale = z.string().trim().min(1, 'give the rationale').max(2000);
const DecisionBody = z.strictObject({ decision: z.enum(['approve', 'reject']), rationale: Rationale });
const LiftBody = z.strictObject({
  rationale: Rationale,
  /** Evidence per restoration criterion; needed to lift the last correction of a severe incident. */
  restoration: z.array(z.strictObject({ criterion: z.string().min(1), evidence: z.string().trim().min(1, 'give the evidence') })).optional(),
});

function correctionView(row: CorrectionRow) {
  return {
    id: row.id,
    incidentId: row.incident_id,
    systemId: row.system_id,
    kind: row.kind,
    scope: row.scope,
    parameters: row.parameters,
    reason: row.reason,
    state: row.state,
    breakGlass: row.break_glass,
    proposedBy: row.proposed_by,
    proposedAt: row.proposed_at.toISOString(),
    approvedAt: row.approved_at?.toISOString() ?? null,
    rejectedAt: row.rejected_at?.toISOString() ?? null,
    appliedAt: row.applied_at?.toISOString() ?? null,
    verifiedAt: row.verified_at?.toISOString() ?? null,
    liftedAt: row.lifted_at?.toISOString() ?? null,
  };
}

export function correctionRoutes(app: CorrexApp, deps: RouteDependencies): void {
  const tags = ['corrections'];
  const correctionAndIncident = async (id: string) => {
    const correction = await findCorrection(deps.db, id);
    if (!correction) throw new NotFound(`no correction ${id}`);
    const incident = await incidentOr404(deps.db, correction.incident_id);
    return { correction, incident, workflowId: correctionWorkflowId(incident.workflow_id, correction.id) };
  };

  app.post('/v1/incidents/:id/corrections', {
    config: { access: ['responder', 'admin'] },
    schema: {
      tags,
      summary: 'Propose a deployment correction (breakGlass: the commander applies at once)',
      description:
        'Send an Idempotency-Key to retry safely: the same key from the same token answers with the correction first proposed (201 again), never a second one.',
      params: IncidentParams,
      headers: IdempotencyKeyHeaders,
      body: CorrectionProposalInput,
    },
    handler: async (request, reply) => {
      const incident = await incidentOr404(deps.db, request.params.id);
      return idempotent(deps.db, request, reply, async (updateId) => {
        const proposed = await deps.incidents.propose(
          incident.workflow_id,
          { ...request.body, parameters: request.body.parameters as Record<string, unknown>, actor: actorOf(request), at: new Date().toISOString() },
          updateId ? { updateId } : {},
        );
        // Answer once the correction is on record, so the caller can decide on it straight away.
        await untilRecorded(
          () => findCorrection(deps.db, proposed.correctionId),
          {
            accepted: `the correction ${proposed.correctionId}`,
            retry: updateId
              ? `retrying this request with the same Idempotency-Key is safe (it answers with this correction), or read GET /v1/corrections/${proposed.correctionId} shortly`
              : `read GET /v1/corrections/${proposed.correctionId} shortly (do not propose again: without an Idempotency-Key that would propose a second correction)`,
          },
          deps.recordTimeoutMs,
        );
        return { status: 201, body: proposed };
      });
    },
  });

  app.get('/v1/incidents/:id/corrections', {
    config: { access: readers },
    schema: { tags, summary: "An incident's corrections", params: IncidentParams },
    handler: async (request) => {
      await incidentOr404(deps.db, request.params.id);
      return { items: (await listCorrections(deps.db, request.params.id)).map(correctionView) };
    },
  });

  app.get('/v1/corrections/:id', {
    config: { access: readers },
    schema: { tags, summary: 'A correction with its live approval state (votes, authority rule)', params: CorrectionParams },
    handler: async (request) => {
      const { correction, workflowId } = await correctionAndIncident(request.params.id);
      const live = await deps.corrections.state(workflowId).catch((error: unknown) => ({ unavailable: (error as Error).message.split('\n')[0] }));
      return { ...correctionView(correction), live };
    },
  });

  app.post('/v1/corrections/:id/decision', {
    config: { access: ['approver', 'admin'] },
    schema: {
      tags,
      summary: "Approve or reject a proposed correction (the runbook's decision authority decides whose vote counts)",
      params: CorrectionParams,
      body: DecisionBody,
    },
    handler: async (request) => {
      const { workflowId } = await correctionAndIncident(request.params.id);
      return deps.corrections.decide(workflowId, { ...request.body, actor: actorOf(request), at: new Date().toISOString() });
    },
  });

  app.post('/v1/corrections/:id/lift', {
    config: { access: ['approver', 'admin'] },
    schema: {
      tags,
      summary: 'Lift a correction in force (the last one of a severe incident needs the restoration criteria)',
      params: CorrectionParams,
      body: LiftBody,
    },
    handler: async (request) => {
      const { incident } = await correctionAndIncident(request.params.id);
      return deps.incidents.lift(incident.workflow_id, {
        correctionId: request.params.id,
        ...request.body,
        actor: actorOf(request),
        at: new Date().toISOString(),
      });
    },
  });

  // Enforcement points ask these on every request path, so they answer from PostgreSQL alone.
  const policyTags = ['policy'];
  const gateways = [...readers, 'gateway'] as const;
  app.get('/v1/policy/:systemId', {
    config: { access: gateways },
    schema: {
      tags: policyTags,
      summary: 'The corrections in force for a system (ETag; If-None-Match answers 304)',
      params: z.strictObject({ systemId: SystemId }),
    },
    handler: async (request, reply) => {
      const { systemId } = request.params;
      const active = await activeCorrections(deps.db, systemId);
      const etag = policyEtag(active);
      reply.header('etag', etag).header('cache-control', 'no-cache');
      if (request.headers['if-none-match'] === etag) return reply.code(304).send();
      return { systemId, corrections: active };
    },
  });

  app.post('/v1/decide', {
    config: { access: gateways },
    schema: { tags: policyTags, summary: 'Allow, deny or throttle one request under the corrections in force', body: DecisionRequest },
    handler: async (request) => decide(await activeCorrections(deps.db, request.body.systemId), request.body),
  });
}
