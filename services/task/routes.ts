import { z } from 'zod';
import { readers } from '../access/roles.js';
import { reviewWorkflowId } from '../identity.js';
import { incidentOr404 } from '../incident/routes.js';
import { actorOf, NotFound, type CorrexApp, type RouteDependencies } from '../http/app.js';
import { taskStates } from '../review/schema.js';
import { findTask, listTasks, type TaskRow } from './repository.js';

function taskView(row: TaskRow) {
  return {
    id: row.id,
    incidentId: row.incident_id,
    title: row.title,
    origin: row.origin,
    ownerRole: row.owner_role,
    owner: row.owner,
    state: row.state,
    dueAt: row.due_at?.toISOString() ?? null,
    completedAt: row.completed_at?.toISOString() ?? null,
    remindedAt: row.reminded_at?.toISOString() ?? null,
    escalatedAt: row.escalated_at?.toISOString() ?? null,
    note: row.reason,
  };
}

const TaskQuery = z.strictObject({
  incidentId: z.uuid('must be an incident id (UUID)').optional(),
  state: z.enum(taskStates).optional(),
  owner: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
const TaskParams = z.strictObject({ id: z.uuid('must be a task id (UUID)') });

export function taskRoutes(app: CorrexApp, deps: RouteDependencies): void {
  const tags = ['tasks'];
  /** Tasks belong to their incident's after-action review workflow, which alone changes them. */
  const reviewOf = async (taskId: string) => {
    const task = await findTask(deps.db, taskId);
    if (!task) throw new NotFound(`no task ${taskId}`);
    const incident = await incidentOr404(deps.db, task.incident_id);
    return reviewWorkflowId(incident.workflow_id, incident.id);
  };
  const answer = async (taskId: string) => taskView((await findTask(deps.db, taskId))!);

  app.get('/v1/tasks', {
    config: { access: readers },
    schema: { tags, summary: 'Follow-up tasks, soonest due first', querystring: TaskQuery },
    handler: async (request) => ({ items: (await listTasks(deps.db, request.query)).map(taskView) }),
  });

  app.post('/v1/tasks/:id/done', {
    config: { access: readers },
    schema: { tags, summary: 'Mark a task done', params: TaskParams, body: z.strictObject({ note: z.string().trim().min(1).max(2000).optional() }).nullish() },
    handler: async (request) => {
      const review = await reviewOf(request.params.id);
      await deps.reviews.completeTask(review, {
        actor: actorOf(request),
        at: new Date().toISOString(),
        taskId: request.params.id,
        ...(request.body?.note ? { note: request.body.note } : {}),
      });
      return answer(request.params.id);
    },
  });

  app.post('/v1/tasks/:id/reassign', {
    config: { access: readers },
    schema: { tags, summary: 'Give a task to another person of the runbook', params: TaskParams, body: z.strictObject({ to: z.string().min(1).max(64) }) },
    handler: async (request) => {
      const review = await reviewOf(request.params.id);
      await deps.reviews.reassignTask(review, { actor: actorOf(request), at: new Date().toISOString(), taskId: request.params.id, to: request.body.to });
      return answer(request.params.id);
    },
  });

  app.post('/v1/tasks/:id/not-doing', {
    config: { access: readers },
    schema: {
      tags,
      summary: 'Mark a task as not being done, with the reason',
      params: TaskParams,
      body: z.strictObject({ reason: z.string().trim().min(1, 'say why').max(2000) }),
    },
    handler: async (request) => {
      const review = await reviewOf(request.params.id);
      await deps.reviews.dropTask(review, { actor: actorOf(request), at: new Date().toISOString(), taskId: request.params.id, reason: request.body.reason });
      return answer(request.params.id);
    },
  });
}
