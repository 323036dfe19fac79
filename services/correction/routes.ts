import { z } from 'zod';
import { readers } from '../access/roles.js';
import { actorOf, NotFound, untilRecorded, type CorrexApp, type RouteDependencies } from '../http/app.js';
import { InvalidInput } from '../errors.js';
import { idempotent, IdempotencyKeyHeaders } from '../http/idempotency.js';
import { correctionWorkflowId } from '../identity.js';
import { IncidentParams, incidentOr404 } from '../incident/routes.js';
import type { CorrectionRow } from '../db/schema.js';
import { DecisionAnswer, DecisionRequest, PolicyCorrection } from './policy.js';
import { findCorrection, listCorrections, policyEtag } from './repository.js';
import { Instant } from '../instant.js';
import { answerRequest } from './gateways.js';
import { enforcementStatus } from './policy-versions.js';
import { enforcementPointKinds } from './kinds.js';
import { sendProblem } from '../http/problem.js';
import { CorrectionProposalInput, CorrectionSnapshot, CorrectionView, CorrectionWithLive, LiftProgressView, Prose } from './schema.js';
import { IncidentSnapshot, SystemId } from '../incident/schema.js';

const CorrectionParams = z.strictObject({ id: z.uuid('must be a correction id (UUID)') });
const Rationale = Prose(2000, 'give the rationale');
const DecisionBody = z.strictObject({ decision: z.enum(['approve', 'reject']), rationale: Rationale });
const LiftBody = z.strictObject({
  rationale: Rationale,
  restoration: z
    .array(z.strictObject({ criterion: z.string().min(1), evidence: Prose(undefined, 'give the evidence') }))
    .optional()
    .describe(
      "Evidence per restoration criterion of the runbook (only its criteria); needed to lift the last correction of a severe incident, given with one of the lift's votes",
    ),
});

const LiftAnswer = IncidentSnapshot.extend({ lift: LiftProgressView }).describe(
  "The correction's incident after this vote, with where the lift stands: `lift.decided` (the correction is coming off; its workflow takes it off), or the votes still missing and who can give them",
);

const Proposed = z
  .strictObject({
    correctionId: z.uuid(),
    workflowId: z.string().describe("The correction's workflow"),
  })
  .describe('Proposed, and on record: decide on it or read it at once');
const CorrectionList = z.strictObject({ items: z.array(CorrectionView).describe('Oldest proposal first') });
const PolicyBody = z.strictObject({
  systemId: z.string(),
  policyVersion: z.number().int().nonnegative().describe('Counts every change of the policy (a correction applied or lifted); 0 before the first'),
  corrections: z.array(PolicyCorrection).describe('Oldest applied first'),
});
const EnforcementStatusBody = z.strictObject({
  systemId: z.string(),
  version: z.number().int().nonnegative().describe("The system's policy version now"),
  instances: z
    .array(z.strictObject({ instanceId: z.string(), version: z.number().int().nonnegative(), heartbeatAt: Instant }))
    .describe('API instances holding this policy in memory, heard from within the last 3 s'),
  points: z
    .array(
      z.strictObject({
        pointId: z.string(),
        kind: z.enum(enforcementPointKinds),
        owner: z.string().describe('Who the credential it uses belongs to'),
        version: z.number().int().nonnegative().describe('The version of the last decision (or policy) it was given'),
        decisions: z.number().int().nonnegative(),
        firstSeenAt: Instant,
        lastSeenAt: Instant,
      }),
    )
    .describe('Gateways heard from within the last 10 minutes'),
});
const PolicyHeaders = z.looseObject({
  'if-none-match': z.string().optional().describe('The ETag of the policy the gateway holds: answered 304 without a body while it is current'),
});
/** The policy's ETag, on the 200 and the 304 alike. */
const etagHeader = { etag: { type: 'string', description: 'Changes whenever a correction of the system is applied or lifted' } };

const correctionLinks = (id: string) => ({
  correction: { operationId: 'getCorrection', parameters: { id } },
  decide: { operationId: 'decideCorrection', parameters: { id } },
  lift: { operationId: 'liftCorrection', parameters: { id } },
});

/** A correction as recorded. Its row holds what the proposal's schema accepted, so kind and parameters agree. */
function correctionView(row: CorrectionRow): CorrectionView {
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
  } as CorrectionView;
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
    config: {
      access: ['responder', 'admin'],
      // 409: the incident refuses (closed, or no authority rule for the kind at its severity); 422: the
      // Idempotency-Key was used with another request; 503: accepted but not on record in time.
      alsoAnswers: [409, 422, 503],
      links: {
        201: {
          ...correctionLinks('$response.body#/correctionId'),
          corrections: { operationId: 'listCorrections', parameters: { id: '$request.path.id' } },
        },
      },
    },
    schema: {
      tags,
      operationId: 'proposeCorrection',
      summary: 'Propose a deployment correction (breakGlass: the commander applies at once)',
      description:
        'Send an Idempotency-Key to retry safely: the same key from the same token answers with the correction first proposed (201 again), never a second one.',
      params: IncidentParams,
      headers: IdempotencyKeyHeaders,
      body: CorrectionProposalInput,
      response: { 201: Proposed },
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
    config: { access: readers, links: { 200: correctionLinks('$response.body#/items/0/id') } },
    schema: {
      tags,
      operationId: 'listCorrections',
      summary: "An incident's corrections",
      params: IncidentParams,
      response: { 200: CorrectionList },
    },
    handler: async (request) => {
      await incidentOr404(deps.db, request.params.id);
      return { items: (await listCorrections(deps.db, request.params.id)).map(correctionView) };
    },
  });

  app.get('/v1/corrections/:id', {
    config: {
      access: readers,
      links: {
        200: {
          decide: { operationId: 'decideCorrection', parameters: { id: '$request.path.id' } },
          lift: { operationId: 'liftCorrection', parameters: { id: '$request.path.id' } },
          incident: { operationId: 'getIncident', parameters: { id: '$response.body#/incidentId' } },
        },
      },
    },
    schema: {
      tags,
      operationId: 'getCorrection',
      summary: 'A correction with its live approval state (votes, authority rule)',
      params: CorrectionParams,
      response: { 200: CorrectionWithLive },
    },
    handler: async (request) => {
      const { correction, workflowId } = await correctionAndIncident(request.params.id);
      const live = await deps.corrections
        .state(workflowId)
        .catch((error: unknown) => ({ unavailable: (error as Error).message.split('\n')[0] ?? 'no answer' }));
      return { ...correctionView(correction), live } as CorrectionWithLive;
    },
  });

  app.post('/v1/corrections/:id/decision', {
    config: {
      access: ['approver', 'admin'],
      // 409: the vote is refused (separation of duties, no authority, already voted, no longer pending).
      alsoAnswers: [409],
      links: {
        200: {
          correction: { operationId: 'getCorrection', parameters: { id: '$request.path.id' } },
          lift: { operationId: 'liftCorrection', parameters: { id: '$request.path.id' } },
        },
      },
    },
    schema: {
      tags,
      operationId: 'decideCorrection',
      summary: "Approve or reject a proposed correction (the runbook's decision authority decides whose vote counts)",
      params: CorrectionParams,
      // A vote retried after a lost answer (a 503 while a worker restarts) must answer as the first did, not "already voted".
      headers: IdempotencyKeyHeaders,
      body: DecisionBody,
      response: { 200: CorrectionSnapshot.describe("The correction's approval state after this vote") },
    },
    handler: async (request, reply) => {
      const { workflowId } = await correctionAndIncident(request.params.id);
      return idempotent(deps.db, request, reply, async (updateId) => ({
        status: 200,
        body: await deps.corrections.decide(
          workflowId,
          { ...request.body, actor: actorOf(request), at: new Date().toISOString() },
          updateId ? { updateId } : {},
        ),
      }));
    },
  });

  app.post('/v1/corrections/:id/lift', {
    config: {
      access: ['approver', 'admin'],
      // 409: refused (not in force, no authority to lift, separation of duties, already voted, restoration
      // criteria missing or not the runbook's).
      alsoAnswers: [409],
      links: {
        200: {
          correction: { operationId: 'getCorrection', parameters: { id: '$request.path.id' } },
          incident: { operationId: 'getIncident', parameters: { id: '$response.body#/incidentId' } },
        },
      },
    },
    schema: {
      tags,
      operationId: 'liftCorrection',
      summary: "Vote to lift a correction in force: it comes off at the lift rule's quorum (the last one of a severe incident needs the restoration criteria)",
      description:
        "Lifting takes the same authority and quorum as applying unless the runbook's liftAuthority says otherwise: each vote from a different person holding a different role, never the proposer's. A vote short of the quorum is recorded (`lift.decided` false) and the answer names who can give the votes still missing.",
      params: CorrectionParams,
      // A lift retried after a lost answer must answer as the first did, not "not in force (it is lifting)".
      headers: IdempotencyKeyHeaders,
      body: LiftBody,
      response: { 200: LiftAnswer },
    },
    handler: async (request, reply) => {
      const { incident } = await correctionAndIncident(request.params.id);
      return idempotent(deps.db, request, reply, async (updateId) => ({
        status: 200,
        body: await deps.incidents.lift(
          incident.workflow_id,
          { correctionId: request.params.id, ...request.body, actor: actorOf(request), at: new Date().toISOString() },
          updateId ? { updateId } : {},
        ),
      }));
    },
  });

  // Enforcement points ask these on every request path, so they answer from the policy held in memory
  // (services/correction/live-policy.ts), with credentials checked from memory and no per-token rate limit.
  const policyTags = ['policy'];
  const gateways = [...readers, 'gateway'] as const;
  const live = deps.gateways.livePolicy;
  app.get('/v1/policy/:systemId', {
    config: { access: gateways, gateway: true, rateLimit: false, alsoAnswers: [503] },
    schema: {
      tags: policyTags,
      operationId: 'getPolicy',
      summary: 'The corrections in force for a system (ETag; If-None-Match answers 304)',
      description:
        'A gateway that holds the policy itself polls this with If-None-Match. The ETag carries the policy version; the version it last fetched is recorded as its enforcement point (`x-correx-enforcement-point`, else `policy:<token owner>`), and a correction is verified only once such readers hold it.',
      params: z.strictObject({ systemId: SystemId }),
      headers: PolicyHeaders,
      response: {
        200: PolicyBody.describe('The policy: every correction of the system applied and not lifted').meta({ headers: etagHeader }),
        304: z.undefined().describe('Not modified: the If-None-Match ETag is still current').meta({ headers: etagHeader }),
      },
    },
    handler: async (request, reply) => {
      const { systemId } = request.params;
      // Only systems with a runbook are held in memory: a mistyped id is told so, and held by nobody.
      if (!(await deps.runbooks.find(systemId))) throw new NotFound(`no runbook defines system '${systemId}'`);
      const policy = await live.policy(systemId);
      if (policy === 'stale') {
        reply.header('retry-after', '1');
        return sendProblem(reply, {
          title: 'Service unavailable',
          status: 503,
          detail: 'the policy cannot be confirmed at the moment (PostgreSQL does not answer); retry shortly',
        });
      }
      const point = request.headers['x-correx-enforcement-point'];
      live.observe({
        systemId,
        pointId: typeof point === 'string' && point ? point : `policy:${request.principal!.owner}`,
        kind: 'policy',
        owner: request.principal!.owner,
        version: policy.version,
      });
      const etag = `"v${policy.version}-${policyEtag(policy.corrections).slice(1, 17)}"`;
      reply.header('etag', etag).header('cache-control', 'no-cache').header('x-correx-policy-version', String(policy.version));
      if (request.headers['if-none-match'] === etag) return reply.code(304).send(undefined);
      // The rows hold what the proposals' schema accepted, so each kind's parameters are that kind's.
      return { systemId, policyVersion: policy.version, corrections: policy.corrections as PolicyCorrection[] };
    },
  });

  app.get('/v1/systems/:systemId/enforcement', {
    config: { access: readers },
    schema: {
      tags: policyTags,
      operationId: 'getEnforcement',
      summary: "Where a system's corrections are enforced: its policy version, the API instances answering from it, and the gateways asking",
      description:
        'A correction is verified once every instance listed (and every gateway of kind `policy`, which holds the policy itself) holds a version at least its own. Gateways that ask before each request (envoy, litellm, decide) enforce the version of the instance that answers them; theirs is the version of the last decision they were given.',
      params: z.strictObject({ systemId: SystemId }),
      response: { 200: EnforcementStatusBody },
    },
    handler: async (request) => enforcementStatus(deps.db, request.params.systemId),
  });

  app.post('/v1/decide', {
    config: { access: gateways, gateway: true, rateLimit: false, alsoAnswers: [503] },
    schema: {
      tags: policyTags,
      operationId: 'decideRequest',
      summary: 'Allow, deny or throttle one request under the corrections in force',
      description:
        "Answered from the policy this API instance holds in memory. A rate limit is counted here, across every API instance: `throttle` with `admitted: false` means this request is over the limit (refuse it, 429, after `retryAfterSeconds`); with `admitted: true` it is within it. While the instance cannot confirm its policy it answers 503 and the gateway should do as the system's runbook says (failMode).",
      body: DecisionRequest,
      response: { 200: DecisionAnswer },
    },
    handler: async (request, reply) => {
      const system = await deps.runbooks.find(request.body.systemId);
      if (!system) throw new InvalidInput([{ path: 'body.systemId', message: `no runbook defines system '${request.body.systemId}'` }]);
      const name = system.runbook.system.name;
      const failMode = system.runbook.system.enforcement.adapter === 'policy' ? system.runbook.system.enforcement.failMode : 'closed';
      const point = request.headers['x-correx-enforcement-point'];
      const answer = await answerRequest(
        deps.gateways,
        request.body,
        { kind: 'decide', principal: request.principal!, pointId: typeof point === 'string' && point ? point : undefined },
        { name, failMode },
      );
      if (answer.outcome === 'unavailable') {
        reply.header('retry-after', '1');
        return sendProblem(reply, { title: 'Service unavailable', status: 503, detail: answer.message });
      }
      return {
        ...answer.decision,
        policyVersion: answer.policyVersion,
        ...(answer.outcome === 'throttle' ? { admitted: false, retryAfterSeconds: answer.retryAfterSeconds, message: answer.message } : {}),
        ...(answer.outcome === 'allow' && answer.admission ? { admitted: true } : {}),
        ...(answer.outcome === 'deny' ? { message: answer.message } : {}),
      };
    },
  });
}
