import { z } from 'zod';
import { readers } from '../access/roles.js';
import { actorOf, NotFound, type CorrexApp, type RouteDependencies } from '../http/app.js';
import { completeTask, findTask, listTasks, taskStates, type TaskRow } from './repository.js';

function taskView(row: TaskRow) {
  return {
    id: row.id,
    incidentId: row.incident_id,
    title: row.title,
    ownerRole: row.owner_role,
    owner: row.owner,
    state: row.state,
    dueAt: row.due_at?.toISOString() ?? null,
    completedAt: row.completed_at?.toISOString() ?? null,
    note: row.reason,
  };
}

const TaskQuery = z.strictObject({
  incidentId: z.uuid('must be an incident id (UUID)').optional(),
  state: z.enum(taskStates).optional(),
  owner: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export function taskRoutes(app: CorrexApp, deps: RouteDependencies): void {
  const tags = ['tasks'];
  app.get('/v1/tasks', {
    config: { access: readers },
    schema: { tags, summary: 'Follow-up tasks, soonest due first', querystring: TaskQuery },
    handler: async (request) => ({ items: (await listTasks(deps.db, request.query)).map(taskView) }),
  });

  app.post('/v1/tasks/:id/done', {
    config: { access: readers },
    schema: {
      tags,
      summary: 'Mark a task done',
      params: z.strictObject({ id: z.uuid('must be a task id (UUID)') }),
      body: z.strictObject({ note: z.string().trim().min(1).max(2000).optional() }).nullish(),
    },
    handler: async (request) => {
      const task = await findTask(deps.db, request.params.id);
      if (!task) throw new NotFound(`no task ${request.params.id}`);
      return taskView(await completeTask(deps.db, task, { actor: actorOf(request), at: new Date().toISOString(), ...(request.body?.note ? { note: request.body.note } : {}) }));
    },
  });
}
