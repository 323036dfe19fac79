import { z } from 'zod';
import { InstantInput } from '../instant.js';
import { readers } from '../access/roles.js';
import { InvalidInput } from '../errors.js';
import { actorOf, NotFound, untilRecorded, type CorrexApp, type RouteDependencies } from '../http/app.js';
import { queryInteger } from '../http/query.js';
import { temporalUiWorkflowUrl } from '../identity.js';
import { IncidentClass } from '../regulatory/regime.js';
import { listTimeline, TimelineEventView, timelineEventView } from '../timeline/repository.js';
import { findIncident, listIncidents } from './repository.js';
import { IncidentSnapshot, IncidentState, IncidentTrigger, IncidentView, Severity, SystemId } from './schema.js';
import { triggerIncident } from './trigger.js';
import type { IncidentRow, Database } from '../db/schema.js';
import type { Kysely } from 'kysely';

export const IncidentParams = z.strictObject({ id: z.uuid('must be an incident id (UUID)') });

const Cursor = z.string().transform((text, ctx) => {
  try {
    const decoded = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    const parsed = z.object({ openedAt: InstantInput, id: z.uuid() }).safeParse(decoded);
    if (parsed.success) return parsed.data;
  } catch {
    // falls through to the issue below
  }
  ctx.addIssue({ code: 'custom', message: 'is not a cursor this API returned (use nextCursor from the previous page)' });
  return z.NEVER;
});

const ListQuery = z.strictObject({
  systemId: SystemId.optional(),
  state: z
    .preprocess(
      (value) =>
        typeof value === 'string' || Array.isArray(value)
          ? [value].flat().flatMap((v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()) : [v]))
          : value,
      z.array(IncidentState),
    )
    .optional()
    .describe('One state or several: repeated (state=triggered&state=acknowledged) or comma-separated (state=triggered,acknowledged)'),
  severity: Severity.optional(),
  openedAfter: InstantInput.optional(),
  openedBefore: InstantInput.optional(),
  limit: queryInteger(1, 200, 50),
  cursor: Cursor.optional(),
});

const ActionBody = z.strictObject({ reason: z.string().trim().min(1).max(2000).optional() });
const ClassifyBody = z.strictObject({
  classes: z.array(IncidentClass).min(1, 'give at least one class'),
  reason: z.string().trim().min(1, 'say why').max(2000),
});
const AwarenessBody = z.strictObject({
  awareSince: InstantInput.describe('When the organisation became aware: at or before the incident was opened in Correx'),
  reason: z.string().trim().min(1, 'say why: regulators may ask how the moment was established').max(2000),
});
const TimelineQuery = z.strictObject({
  // seq is a PostgreSQL integer: a larger number is no page of any timeline.
  afterSeq: queryInteger(0, 2_147_483_647),
  limit: queryInteger(1, 1000, 500),
});

const TriggerOutcome = z.strictObject({
  incidentId: z.uuid(),
  workflowId: z.string(),
  joined: z.boolean().describe('True when an open incident with the same system and dedup key took this trigger'),
  runbookVersion: z.string().describe("The runbook version the incident runs under (the open one's, when joined)"),
});
/** An incident as the API shows it: as recorded, with the workflow that runs it and where Temporal's UI shows that. */
export const IncidentRecord = IncidentView.extend({
  workflowId: z
    .string()
    .describe(
      "The incident's Temporal workflow; its escalation, corrections, clocks and review run as `<workflowId>/…`, and all carry the search attribute CorrexIncidentId",
    ),
  temporalUrl: z.url().optional().describe('The workflow in the Temporal web UI, when the server knows its address (CORREX_TEMPORAL_UI_URL)'),
});
export type IncidentRecord = z.infer<typeof IncidentRecord>;
const IncidentPage = z.strictObject({
  items: z.array(IncidentRecord),
  nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null on the last'),
});
const IncidentWithLive = IncidentRecord.extend({
  live: z.union([
    IncidentSnapshot,
    z.strictObject({ unavailable: z.string().describe('Why the workflow could not be asked (the recorded fields above still hold)') }),
  ]),
});
const TimelinePage = z.strictObject({
  items: z.array(TimelineEventView),
  nextAfterSeq: z.number().int().nullable().describe('Pass as `afterSeq` for the next page; null on the last'),
});
const incidentLinks = (id: string) => ({
  incident: { operationId: 'getIncident', parameters: { id } },
  timeline: { operationId: 'getIncidentTimeline', parameters: { id } },
  acknowledge: { operationId: 'acknowledgeIncident', parameters: { id } },
  proposeCorrection: { operationId: 'proposeCorrection', parameters: { id } },
});

export function incidentView(row: IncidentRow): IncidentView {
  return {
    id: row.id,
    systemId: row.system_id,
    title: row.title,
    severity: row.severity,
    state: row.state,
    dedupKey: row.dedup_key,
    commander: row.commander,
    classification: row.classification,
    runbookVersion: row.runbook_version,
    openedBy: row.opened_by,
    openedAt: row.opened_at.toISOString(),
    acknowledgedAt: row.acknowledged_at?.toISOString() ?? null,
    mitigatedAt: row.mitigated_at?.toISOString() ?? null,
    resolvedAt: row.resolved_at?.toISOString() ?? null,
    closedAt: row.closed_at?.toISOString() ?? null,
  };
}

/** The API's incident: the recorded view, its workflow id and, with the Temporal UI configured, the link to it there. */
export function incidentRecord(row: IncidentRow, temporalUi: RouteDependencies['temporalUi']): IncidentRecord {
  return {
    ...incidentView(row),
    workflowId: row.workflow_id,
    ...(temporalUi ? { temporalUrl: temporalUiWorkflowUrl(temporalUi.url, temporalUi.namespace, row.workflow_id) } : {}),
  };
}

export async function incidentOr404(db: Kysely<Database>, id: string): Promise<IncidentRow> {
  const incident = await findIncident(db, id);
  if (!incident) throw new NotFound(`no incident ${id}`);
  return incident;
}

export function incidentRoutes(app: CorrexApp, deps: RouteDependencies): void {
  const tags = ['incidents'];

  app.post('/v1/incidents', {
    config: { access: ['responder', 'admin'], links: { 202: incidentLinks('$response.body#/incidentId') } },
    schema: {
      tags,
      operationId: 'triggerIncident',
      summary: 'Trigger an incident (or join the open one with the same dedup key)',
      body: IncidentTrigger,
      response: { 202: TriggerOutcome },
    },
    handler: async (request, reply) => {
      try {
        const { recorded, ...outcome } = await triggerIncident(deps, request.body, actorOf(request), { recordWithinMs: deps.recordTimeoutMs });
        // Answer once the incident is on record, so the caller can act on its id straight away: the
        // workflow says so in its answer, or (an incident slow to record, a legacy one) the row shows it.
        if (recorded !== true)
          await untilRecorded(
            () => findIncident(deps.db, outcome.incidentId),
            {
              accepted: `the incident ${outcome.incidentId}`,
              retry: request.body.dedupKey
                ? `sending the same trigger again is safe (it joins the open incident with dedupKey ${request.body.dedupKey}), or read GET /v1/incidents/${outcome.incidentId} shortly`
                : `read GET /v1/incidents/${outcome.incidentId} shortly (do not send the trigger again: without a dedupKey it would open another incident)`,
            },
            // The workflow already had the time to record it: one look at the row, then the caller is told.
            recorded === false ? 0 : deps.recordTimeoutMs,
          );
        return reply.code(202).send(outcome);
      } catch (error) {
        throw error instanceof InvalidInput ? error.within('body') : error;
      }
    },
  });

  app.get('/v1/incidents', {
    config: { access: readers },
    schema: {
      tags,
      operationId: 'listIncidents',
      summary: 'List incidents, newest first, with filters and cursor pagination',
      querystring: ListQuery,
      response: { 200: IncidentPage },
    },
    handler: async (request) => {
      const { cursor, state, limit, ...filter } = request.query;
      const rows = await listIncidents(deps.db, { ...filter, states: state, limit: limit + 1, after: cursor });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      const nextCursor =
        rows.length > limit && last ? Buffer.from(JSON.stringify({ openedAt: last.opened_at.toISOString(), id: last.id })).toString('base64url') : null;
      return { items: page.map((row) => incidentRecord(row, deps.temporalUi)), nextCursor };
    },
  });

  app.get('/v1/incidents/:id', {
    config: { access: readers },
    schema: {
      tags,
      operationId: 'getIncident',
      summary: 'An incident with its live state from its workflow',
      params: IncidentParams,
      response: { 200: IncidentWithLive },
    },
    handler: async (request) => {
      const incident = await incidentOr404(deps.db, request.params.id);
      const live = await deps.incidents
        .state(incident.workflow_id)
        .catch((error: unknown) => ({ unavailable: (error as Error).message.split('\n')[0] ?? 'no answer' }));
      return { ...incidentRecord(incident, deps.temporalUi), live };
    },
  });

  app.get('/v1/incidents/:id/timeline', {
    config: { access: readers },
    schema: {
      tags,
      operationId: 'getIncidentTimeline',
      summary: 'The hash-chained timeline, oldest first; page with afterSeq',
      params: IncidentParams,
      querystring: TimelineQuery,
      response: { 200: TimelinePage },
    },
    handler: async (request) => {
      await incidentOr404(deps.db, request.params.id);
      const events = await listTimeline(deps.db, request.params.id, request.query);
      return {
        items: events.map(timelineEventView),
        nextAfterSeq: events.length === request.query.limit ? events.at(-1)!.seq : null,
      };
    },
  });

  const action = (name: 'acknowledge' | 'resolve', summary: string) =>
    app.post(`/v1/incidents/:id/${name}`, {
      config: { access: ['responder', 'admin'], alsoAnswers: [409], links: { 200: incidentLinks('$request.path.id') } },
      schema: {
        tags,
        operationId: `${name}Incident`,
        summary,
        params: IncidentParams,
        body: ActionBody.nullish(),
        response: { 200: IncidentSnapshot },
      },
      handler: async (request) => {
        const incident = await incidentOr404(deps.db, request.params.id);
        const act = { actor: actorOf(request), at: new Date().toISOString(), ...(request.body?.reason ? { reason: request.body.reason } : {}) };
        return name === 'acknowledge' ? deps.incidents.acknowledge(incident.workflow_id, act) : deps.incidents.resolve(incident.workflow_id, act);
      },
    });
  action('acknowledge', 'Acknowledge: stops paging; the first to acknowledge becomes commander');
  action('resolve', 'Resolve the incident');

  app.post('/v1/incidents/:id/classify', {
    config: { access: ['responder', 'compliance', 'admin'], alsoAnswers: [409], links: { 200: incidentLinks('$request.path.id') } },
    schema: {
      tags,
      operationId: 'classifyIncident',
      summary: 'Set or revise the incident classes, which re-plans its regulator clocks',
      params: IncidentParams,
      body: ClassifyBody,
      response: { 200: IncidentSnapshot },
    },
    handler: async (request) => {
      const incident = await incidentOr404(deps.db, request.params.id);
      return deps.incidents.classify(incident.workflow_id, { actor: actorOf(request), at: new Date().toISOString(), ...request.body });
    },
  });

  app.post('/v1/incidents/:id/awareness', {
    config: { access: ['responder', 'compliance', 'admin'], alsoAnswers: [409], links: { 200: incidentLinks('$request.path.id') } },
    schema: {
      tags,
      operationId: 'setIncidentAwareness',
      summary: 'Record that the organisation became aware earlier than the incident was opened: clocks that run from awareness move to it',
      params: IncidentParams,
      body: AwarenessBody,
      response: { 200: IncidentSnapshot },
    },
    handler: async (request) => {
      const incident = await incidentOr404(deps.db, request.params.id);
      return deps.incidents.setAwareness(incident.workflow_id, { actor: actorOf(request), at: new Date().toISOString(), ...request.body });
    },
  });
}
