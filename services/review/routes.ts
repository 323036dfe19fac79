import { z } from 'zod';
import { readers } from '../access/roles.js';
import { actorOf, type CorrexApp, type RouteDependencies } from '../http/app.js';
import { ActionRefused } from '../errors.js';
import { reviewWorkflowId } from '../identity.js';
import { IncidentParams, incidentOr404 } from '../incident/routes.js';
import { SystemId } from '../incident/schema.js';
import { attributionTotals, findReview } from './repository.js';
import { ReviewRecord } from './schema.js';

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
    config: { access: readers },
    schema: { tags, summary: 'The after-action review: its record (with attribution), tasks and sign-off', params: IncidentParams },
    handler: async (request) => {
      const review = await reviewOf(request.params.id);
      const record = await findReview(deps.db, request.params.id);
      const live = await deps.reviews.state(review).catch((error: unknown) => ({ unavailable: (error as Error).message.split('\n')[0] }));
      return {
        record: record
          ? {
              summary: record.summary,
              impact: record.impact,
              highlights: record.highlights,
              rootCause: record.root_cause,
              contributingFactors: record.contributing_factors,
              attribution: record.attribution,
              runbookChanges: record.runbook_changes,
              submittedBy: record.submitted_by,
              submittedAt: record.submitted_at.toISOString(),
              signedOffBy: record.signed_off_by,
              signedOffAt: record.signed_off_at?.toISOString() ?? null,
            }
          : null,
        live,
      };
    },
  });

  app.post('/v1/incidents/:id/review', {
    config: { access: ['responder', 'approver', 'admin'] },
    schema: { tags, summary: 'Submit (or revise) the review record; corrective actions become tracked tasks', params: IncidentParams, body: ReviewRecord },
    handler: async (request) =>
      deps.reviews.submitReview(await reviewOf(request.params.id), { actor: actorOf(request), at: new Date().toISOString(), review: request.body }),
  });

  app.post('/v1/incidents/:id/review/sign-off', {
    config: { access: ['approver', 'admin'] },
    schema: { tags, summary: "Sign the review off (the decision authority at the incident's severity), which closes the incident", params: IncidentParams },
    handler: async (request) => deps.reviews.signOff(await reviewOf(request.params.id), { actor: actorOf(request), at: new Date().toISOString() }),
  });

  app.get('/v1/attributions', {
    config: { access: readers },
    schema: {
      tags,
      summary: 'Attributions across reviewed incidents (drills left out), by lifecycle stage and value-chain actor',
      querystring: z.strictObject({
        systemId: SystemId.optional(),
        from: z.iso.datetime({ offset: true }).optional(),
        to: z.iso.datetime({ offset: true }).optional(),
      }),
    },
    handler: async (request) => attributionTotals(deps.db, request.query),
  });
}
