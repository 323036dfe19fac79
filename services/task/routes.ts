import { z } from 'zod';
import { readers } from '../access/roles.js';
import { Prose } from '../correction/schema.js';
import { reviewWorkflowId } from '../identity.js';
import { incidentOr404 } from '../incident/routes.js';
import { actorOf, NotFound, type CorrexApp, type RouteDependencies } from '../http/app.js';
import { queryInteger } from '../http/query.js';
import { Instant } from '../instant.js';
import { taskStates } from '../review/schema.js';
import { findTask, listTasks, type TaskRow } from './repository.js';

/** A follow-up task of an incident's after-action review. */
const TaskView = z.strictObject({
  id: z.uuid(),
  incidentId: z.uuid(),
  title: z.string(),
  origin: z.enum(['template', 'corrective-action']).describe("`template`: from the runbook's post-incident tasks; `corrective-action`: added by the review"),
  ownerRole: z.string(),
  owner: z.string().nullable().describe('Who owns it; null while only its role does'),
  state: z.enum(taskStates),
  dueAt: Instant.nullable(),
  completedAt: Instant.nullable(),
  remindedAt: Instant.nullable(),
  escalatedAt: Instant.nullable().describe("When it was overdue and escalated to the owner's manager"),
  note: z.string().nullable().describe('The note it was done with, or the reason it is not being done'),
});
type TaskView = z.infer<typeof TaskView>;
const TaskList = z.strictObject({ items: z.array(TaskView).describe('Soonest due first') });

/** From an open task to what its owner can do with it. */
const taskLinks = (id: string) => ({
  done: { operationId: 'markTaskDone', parameters: { id } },
  reassign: { operationId: 'reassignTask', parameters: { id } },
  notDoing: { operationId: 'markTaskNotDoing', parameters: { id } },
});
/** From a task just acted on to its incident's other tasks. */
const incidentTasks = { operationId: 'listTasks', parameters: { incidentId: '$response.body#/incidentId' } };

function taskView(row: TaskRow): TaskView {
  return {
    id: row.id,
    incidentId: row.incident_id,
    title: row.title,
    origin: row.origin as TaskView['origin'],
    ownerRole: row.owner_role,
    owner: row.owner,
    state: row.state as TaskView['state'],
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
  limit: queryInteger(1, 500, 100),
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
    config: { access: readers, links: { 200: taskLinks('$response.body#/items/0/id') } },
    schema: { tags, operationId: 'listTasks', summary: 'Follow-up tasks, soonest due first', querystring: TaskQuery, response: { 200: TaskList } },
    handler: async (request) => ({ items: (await listTasks(deps.db, request.query)).map(taskView) }),
  });

  // 409: the review refuses (the task is not open, the caller is not its owner, the incident commander or a
  // holder of the owner role's manager role, or the new owner is not one of the runbook's people).
  const alsoAnswers = [409] as const;
  const settled = { links: { 200: { tasks: incidentTasks } } };
  const answered = TaskView.describe('The task as it now stands');

  app.post('/v1/tasks/:id/done', {
    config: { access: readers, alsoAnswers, ...settled },
    schema: {
      tags,
      operationId: 'markTaskDone',
      summary: "Mark a task done (its owner, the incident commander or a holder of the owner role's manager role)",
      params: TaskParams,
      body: z.strictObject({ note: Prose(2000).optional() }).nullish(),
      response: { 200: answered },
    },
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
    // Still open, now with its new owner.
    config: { access: readers, alsoAnswers, links: { 200: { ...taskLinks('$request.path.id'), tasks: incidentTasks } } },
    schema: {
      tags,
      operationId: 'reassignTask',
      summary: "Give a task to another person of the runbook (its owner, the incident commander or the owner role's manager)",
      params: TaskParams,
      body: z.strictObject({ to: z.string().min(1).max(64).describe("A person's id in the runbook") }),
      response: { 200: answered },
    },
    handler: async (request) => {
      const review = await reviewOf(request.params.id);
      await deps.reviews.reassignTask(review, { actor: actorOf(request), at: new Date().toISOString(), taskId: request.params.id, to: request.body.to });
      return answer(request.params.id);
    },
  });

  app.post('/v1/tasks/:id/not-doing', {
    config: { access: readers, alsoAnswers, ...settled },
    schema: {
      tags,
      operationId: 'markTaskNotDoing',
      summary: "Mark a task as not being done, with the reason (its owner, the incident commander or the owner role's manager)",
      params: TaskParams,
      body: z.strictObject({ reason: Prose(2000, 'say why') }),
      response: { 200: answered },
    },
    handler: async (request) => {
      const review = await reviewOf(request.params.id);
      await deps.reviews.dropTask(review, { actor: actorOf(request), at: new Date().toISOString(), taskId: request.params.id, reason: request.body.reason });
      return answer(request.params.id);
    },
  });
}
