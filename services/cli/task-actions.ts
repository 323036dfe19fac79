import { z } from 'zod';
import { taskStates } from '../review/schema.js';
import { ApiClient, idArgument, parseInput, Uuid, type ConnectionOptions } from './api.js';
import { print, printJson, relative, table, truncate } from './output.js';

// What `correx task …` does (the commands are defined in ./task.ts).

interface TaskView {
  id: string;
  incidentId: string;
  title: string;
  ownerRole: string | null;
  owner: string | null;
  state: string;
  dueAt: string | null;
  completedAt: string | null;
  note: string | null;
}

const ListOptions = z.object({
  incident: Uuid('an incident').optional(),
  state: z.enum(taskStates, { error: `must be one of ${taskStates.join(', ')}` }).optional(),
  owner: z.string().min(1).max(64).optional(),
  limit: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be 1 to 500').max(500, 'must be 1 to 500').default(100),
});

export async function list(options: ConnectionOptions & { incident?: string; state?: string; owner?: string; limit: string }): Promise<void> {
  const filter = parseInput(ListOptions, { incident: options.incident, state: options.state, owner: options.owner, limit: options.limit });
  const api = await ApiClient.connect(options);
  const answer = await api.get<{ items: TaskView[] }>('/v1/tasks', {
    incidentId: filter.incident,
    state: filter.state,
    owner: filter.owner,
    limit: filter.limit,
  });
  if (options.json) return printJson(answer);
  if (answer.items.length === 0) return print('no tasks');
  const now = Date.now();
  print(
    table(
      ['id', 'state', 'due', 'owner', 'incident', 'title'],
      answer.items.map((t) => [
        t.id,
        t.state,
        relative(t.dueAt, now),
        t.owner ?? (t.ownerRole ? `(${t.ownerRole})` : null),
        t.incidentId,
        truncate(t.title, 60),
      ]),
    ),
  );
}

export async function done(id: string, options: ConnectionOptions & { note?: string }): Promise<void> {
  const taskId = idArgument(id, 'a task', '<taskId>');
  const body = parseInput(z.object({ note: z.string().trim().min(1, 'must not be empty').max(2000).optional() }), { note: options.note });
  const api = await ApiClient.connect(options);
  const done = await api.post<TaskView>(`/v1/tasks/${taskId}/done`, body);
  if (options.json) return printJson(done);
  print(`task ${taskId}: ${done.state} (${done.title})`);
}

export async function reassign(id: string, options: ConnectionOptions & { to: string }): Promise<void> {
  const taskId = idArgument(id, 'a task', '<taskId>');
  const body = parseInput(z.object({ to: z.string().min(1).max(64) }), { to: options.to });
  const moved = await (await ApiClient.connect(options)).post<TaskView>(`/v1/tasks/${taskId}/reassign`, body);
  if (options.json) return printJson(moved);
  print(`task ${taskId}: now ${moved.owner} (${moved.title})`);
}

export async function drop(id: string, options: ConnectionOptions & { reason: string }): Promise<void> {
  const taskId = idArgument(id, 'a task', '<taskId>');
  const body = parseInput(z.object({ reason: z.string().trim().min(1, 'must not be empty').max(2000) }), { reason: options.reason });
  const dropped = await (await ApiClient.connect(options)).post<TaskView>(`/v1/tasks/${taskId}/not-doing`, body);
  if (options.json) return printJson(dropped);
  print(`task ${taskId}: ${dropped.state} (${dropped.title})`);
}
