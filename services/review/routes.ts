import type { Selectable } from 'kysely';
import { z } from 'zod';
import { InstantInput } from '../instant.js';
import { readers } from '../access/roles.js';
import type { AfterActionReviewsTable } from '../db/schema.js';
import { actorOf, type CorrexApp, type RouteDependencies } from '../http/app.js';
import { ActionRefused } from '../errors.js';
import { reviewWorkflowId } from '../identity.js';
import { IncidentParams, incidentOr404 } from '../incident/routes.js';
import { SystemId } from '../incident/schema.js';
import { attributionTotals, findReview } from './repository.js';
import { Attribution, ReviewRecord, ReviewRecordView, ReviewSnapshot } from './schema.js';

type AfterActionReviewRow = Selectable<AfterActionReviewsTable>;

const ReviewView = z.strictObject({
  record: ReviewRecordView.nullable().describe('Null until the review record is first submitted'),
  live: z.union([
    ReviewSnapshot,
    z.strictObject({ unavailable: z.string().describe('Why the review workflow could not be asked (the record above still holds)') }),
  ]),
});

const StageTotal = z.strictObject({ name: z.string(), attributions: z.number().int() });
const AttributionTotals = z.strictObject({
  reviews: z.number().int().describe('Reviews in scope (submitted, drills left out)'),
  items: z.array(
    z.strictObject({
      stage: Attribution.shape.stage,
      actor: Attribution.shape.actor,
      attributions: z.number().int(),
      incidents: z.number().int(),
      confidence: z.partialRecord(Attribution.shape.confidence, z.number().int()).describe('Attributions by confidence; a level none was given is absent'),
    }),
  ),
  byStage: z.array(StageTotal),
  byActor: z.array(StageTotal),
});

function reviewRecordView(row: AfterActionReviewRow): ReviewRecordView {
  return {
    summary: row.summary,
    impact: row.impact,
    highlights: row.highlights,
    rootCause: row.root_cause,
    contributingFactors: row.contributing_factors,
    // Written only from a ReviewRecord (recordReview), so within the vocabulary the column type does not state.
    attribution: row.attribution as Attribution[],
    runbookChanges: row.runbook_changes,
    submittedBy: row.submitted_by,
    submittedAt: row.submitted_at.toISOString(),
    signedOffBy: row.signed_off_by,
    signedOffAt: row.signed_off_at?.toISOString() ?? null,
  };
}

/** From each review operation to the others on the same incident's review. */
const reviewLinks = {
  review: { operationId: 'getReview', parameters: { id: '$request.path.id' } },
  submit: { operationId: 'submitReview', parameters: { id: '$request.path.id' } },
  signOff: { operationId: 'signOffReview', parameters: { id: '$request.path.id' } },
};

export function reviewRoutes(app: CorrexApp, deps: RouteDependencies): void {
  const tags = ['after-action review'];
  /** The review workflow of a resolved incident; before the first resolution there is none to act on. */
  const reviewOf = async (incidentId: string) => {
    const incident = await incidentOr404(deps.db, incidentId);
    if (!incident.resolved_at && !(await findReview(deps.db, incident.id))) {
      throw new ActionRefused(`incident ${incident.id} has no after-action review yet: it starts when the incident is resolved`);
    }
    return reviewWorkflowId(incident.workflow_id, incident.id);
  };

  app.get('/v1/incidents/:id/review', {
    config: { access: readers, alsoAnswers: [409], links: { 200: { submit: reviewLinks.submit, signOff: reviewLinks.signOff } } },
    schema: {
      tags,
      operationId: 'getReview',
      summary: 'The after-action review: its record (with attribution), tasks and sign-off',
      description: 'Before the incident is first resolved it has no review: 409.',
      params: IncidentParams,
      response: { 200: ReviewView.describe('The record (null until submitted) and the live review: tasks, submission, sign-off') },
    },
    handler: async (request) => {
      const review = await reviewOf(request.params.id);
      const record = await findReview(deps.db, request.params.id);
      const live = await deps.reviews.state(review).catch((error: unknown) => ({ unavailable: (error as Error).message.split('\n')[0] ?? 'no answer' }));
      return {
        record: record ? reviewRecordView(record) : null,
        live,
      };
    },
  });

  app.post('/v1/incidents/:id/review', {
    config: { access: ['responder', 'approver', 'admin'], alsoAnswers: [409], links: { 200: { review: reviewLinks.review, signOff: reviewLinks.signOff } } },
    schema: {
      tags,
      operationId: 'submitReview',
      summary: "Submit (or revise) the review record; corrective actions become tracked tasks, and the runbook's write-review task is done",
      params: IncidentParams,
      body: ReviewRecord,
      response: { 200: ReviewSnapshot.describe('The review after this submission: its revision, and its tasks with the corrective actions among them') },
    },
    handler: async (request) =>
      deps.reviews.submitReview(await reviewOf(request.params.id), { actor: actorOf(request), at: new Date().toISOString(), review: request.body }),
  });

  app.post('/v1/incidents/:id/review/sign-off', {
    config: { access: ['approver', 'admin'], alsoAnswers: [409], links: { 200: { review: reviewLinks.review } } },
    schema: {
      tags,
      operationId: 'signOffReview',
      summary: "Sign the review off (the decision authority at the incident's severity over its corrections), which closes the incident",
      params: IncidentParams,
      response: { 200: ReviewSnapshot.describe('The review, signed off: the incident closes') },
    },
    handler: async (request) => deps.reviews.signOff(await reviewOf(request.params.id), { actor: actorOf(request), at: new Date().toISOString() }),
  });

  app.get('/v1/attributions', {
    config: { access: readers },
    schema: {
      tags,
      operationId: 'listAttributions',
      summary: 'Attributions across reviewed incidents (drills left out), by lifecycle stage and value-chain actor',
      querystring: z.strictObject({
        systemId: SystemId.optional(),
        from: InstantInput.optional(),
        to: InstantInput.optional(),
      }),
      response: { 200: AttributionTotals.describe('Attributions counted by stage and actor, most first, with totals by each') },
    },
    handler: async (request) => attributionTotals(deps.db, request.query),
  });
}
