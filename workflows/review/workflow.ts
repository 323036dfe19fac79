import { allHandlersFinished, condition, getExternalWorkflowHandle, patched, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import { indexAsPartOf } from '../search-attributes.js';
import { taskOverdue, taskReminder } from '../../services/notification/templates.js';
import { untilDone } from '../activity-options.js';
import {
  completeTaskUpdate,
  dropTaskUpdate,
  reassignTaskUpdate,
  reviewSignedOffSignal,
  reviewStateQuery,
  signOffReviewUpdate,
  signOffRolesSignal,
  submitReviewUpdate,
  type ReviewSnapshot,
  type ReviewStart,
  type ReviewTaskPlan,
  type ReviewTaskSnapshot,
  type TaskAction,
} from './messages.js';
import { workflowNow } from '../time.js';
import { reviewTaskId } from '../../services/review/review-task.js';

const { recordTasksCreated, recordTaskChange, recordReview, recordReviewSignedOff, sendNotice } = proxyActivities<Activities>(untilDone);

const DAY = 24 * 3_600_000;

/**
 * The follow-up of a resolved incident: the runbook's tasks (and corrective actions added in the
 * review), each reminded before it is due and escalated once to its owner's manager role when
 * overdue; the review record with its attribution; and the sign-off that closes the incident.
 */
export async function afterActionReviewWorkflow(start: ReviewStart): Promise<ReviewSnapshot> {
  if (start.indexed) indexAsPartOf(start.incident);
  const { incident } = start;
  const snapshot: ReviewSnapshot = { incidentId: incident.incidentId, tasks: [], review: undefined, signedOff: undefined, signOffRoles: start.signOffRoles };
  const occurrences = new Map<string, number>();
  const nextOccurrence = (key: string, kind: string) => {
    const n = (occurrences.get(`${key}:${kind}`) ?? 0) + 1;
    occurrences.set(`${key}:${kind}`, n);
    return n;
  };
  const person = (id: string | undefined) => start.people.find((p) => p.id === id);
  let tasksReady = false;

  setHandler(reviewStateQuery, () => snapshot);
  setHandler(signOffRolesSignal, ({ signOffRoles }) => {
    if (!snapshot.signedOff) snapshot.signOffRoles = signOffRoles;
  });

  const addTasks = async (plans: ReviewTaskPlan[], actor: string) => {
    const ids = await recordTasksCreated({ incidentId: incident.incidentId, tasks: plans, actor });
    for (const plan of plans) {
      const task: ReviewTaskSnapshot = { ...plan, taskId: ids[plan.key]!, state: 'open', reminded: false, escalated: false };
      snapshot.tasks.push(task);
      void watch(task);
    }
  };

  /** Reminds the owner before the due date (a day before, or halfway for short tasks), escalates once when overdue. */
  const watch = async (task: ReviewTaskSnapshot) => {
    const due = Date.parse(task.dueAt);
    const settled = () => task.state !== 'open';
    const until = async (at: number) => {
      const wait = at - workflowNow();
      return wait > 0 ? condition(settled, wait) : settled();
    };
    if (await until(due - Math.min(DAY, Math.max(0, due - workflowNow()) / 2))) return;
    const owner = person(task.owner);
    task.reminded = true;
    if (owner) {
      await sendNotice({
        incidentId: incident.incidentId,
        idempotencyKey: `${incident.incidentId}:task:${task.key}:reminder`,
        audience: 'task-owner',
        recipient: { name: owner.name, email: owner.email },
        message: taskReminder(incident, owner.name, task),
        drill: start.drill,
      });
    }
    await recordTaskChange({
      incidentId: incident.incidentId,
      taskId: task.taskId,
      key: task.key,
      kind: 'reminded',
      actor: 'system:review',
      at: new Date(workflowNow()).toISOString(),
      occurrence: 1,
      data: { owner: task.owner ?? null },
    });
    if (await until(due)) return;
    const managerRole = start.managers[task.ownerRole];
    const managers = managerRole ? start.people.filter((p) => p.roles.includes(managerRole)) : [];
    task.escalated = true;
    for (const manager of managers) {
      await sendNotice({
        incidentId: incident.incidentId,
        idempotencyKey: `${incident.incidentId}:task:${task.key}:overdue:${manager.id}`,
        audience: 'task-manager',
        recipient: { name: manager.name, email: manager.email },
        message: taskOverdue(incident, manager.name, { ...task, owner: owner?.name ?? task.owner ?? `the ${task.ownerRole}` }),
        drill: start.drill,
      });
    }
    await recordTaskChange({
      incidentId: incident.incidentId,
      taskId: task.taskId,
      key: task.key,
      kind: 'overdue_escalated',
      actor: 'system:review',
      at: new Date(workflowNow()).toISOString(),
      occurrence: 1,
      data: {
        managerRole: managerRole ?? null,
        managers: managers.map((m) => m.id),
        ...(managers.length ? {} : { problem: `role ${task.ownerRole} has no manager with holders in the runbook` }),
      },
    });
  };

  /**
   * Who may complete, reassign or drop a task: its owner, the incident commander, or a holder of the
   * manager role of the task's role (who hears of it when it is overdue).
   */
  const taskActor = (task: ReviewTaskSnapshot, actor: string, what: string) => {
    const managerRole = start.managers[task.ownerRole];
    if (actor === task.owner || actor === start.commander || (managerRole && person(actor)?.roles.includes(managerRole))) return undefined;
    const who = [
      task.owner ? `its owner (${task.owner})` : `a holder of ${task.ownerRole}`,
      start.commander ? `the incident commander (${start.commander})` : undefined,
      managerRole ? `a holder of ${managerRole} (the manager role of ${task.ownerRole})` : undefined,
    ].filter((w) => w !== undefined);
    return `${actor} may not ${what} task ${task.taskId} (${task.title}): that is for ${who.length > 1 ? `${who.slice(0, -1).join(', ')} or ${who.at(-1)!}` : who[0]!}`;
  };
  const openTask = (action: TaskAction, what: string) => {
    if (!tasksReady) return 'the review is still creating its tasks; try again in a moment';
    if (!person(action.actor)) return `${action.actor} is not a person of this incident's runbook`;
    const task = snapshot.tasks.find((t) => t.taskId === action.taskId);
    if (!task) return `no task ${action.taskId} in the review of incident ${incident.incidentId}`;
    if (task.state !== 'open') return `task ${action.taskId} is already ${task.state}`;
    return taskActor(task, action.actor, what);
  };
  const refuseIf = (problem: string | undefined) => {
    if (problem) throw new Error(problem);
  };
  const change = async (action: TaskAction, kind: 'completed' | 'reassigned' | 'dropped', data: Record<string, unknown>) => {
    const task = snapshot.tasks.find((t) => t.taskId === action.taskId)!;
    await recordTaskChange({
      incidentId: incident.incidentId,
      taskId: task.taskId,
      key: task.key,
      kind,
      actor: action.actor,
      at: action.at,
      occurrence: nextOccurrence(task.key, kind),
      data,
    });
    return task;
  };

  setHandler(
    completeTaskUpdate,
    async (action) => {
      const task = snapshot.tasks.find((t) => t.taskId === action.taskId)!;
      task.state = 'done';
      await change(action, 'completed', action.note ? { note: action.note } : {});
      return snapshot;
    },
    { validator: (action) => refuseIf(openTask(action, 'complete')) },
  );
  setHandler(
    reassignTaskUpdate,
    async (action) => {
      const task = snapshot.tasks.find((t) => t.taskId === action.taskId)!;
      const from = task.owner;
      task.owner = action.to;
      await change(action, 'reassigned', { from: from ?? null, to: action.to });
      return snapshot;
    },
    {
      validator: (action) =>
        refuseIf(openTask(action, 'reassign') ?? (person(action.to) ? undefined : `${action.to} is not a person of this incident's runbook`)),
    },
  );
  setHandler(
    dropTaskUpdate,
    async (action) => {
      const task = snapshot.tasks.find((t) => t.taskId === action.taskId)!;
      task.state = 'not-doing';
      await change(action, 'dropped', { reason: action.reason });
      return snapshot;
    },
    { validator: (action) => refuseIf(openTask(action, 'drop') ?? (action.reason.trim() ? undefined : 'say why it will not be done')) },
  );

  let revision = 0;
  let actionCount = 0;
  setHandler(
    submitReviewUpdate,
    async ({ actor, at, review }) => {
      revision += 1;
      // The review record is what the runbook's "write the review" task asks for: submitting it completes that task.
      const reviewTask = patched('review-completes-its-task') ? snapshot.tasks.find((t) => t.key === reviewTaskId && t.state === 'open') : undefined;
      if (reviewTask) reviewTask.state = 'done';
      await recordReview({ incidentId: incident.incidentId, actor, at, revision, review });
      snapshot.review = { submittedBy: actor, at, revision };
      if (reviewTask)
        await change({ actor, at, taskId: reviewTask.taskId }, 'completed', { note: `completed by submitting the review (revision ${revision})` });
      const actions = review.correctiveActions.map((a) => ({
        key: `action-${++actionCount}`,
        title: a.title,
        ownerRole: a.ownerRole,
        owner: a.owner ?? start.people.find((p) => p.roles.includes(a.ownerRole))?.id,
        dueAt: new Date(Date.parse(a.dueAt)).toISOString(),
        origin: 'corrective-action' as const,
      }));
      if (actions.length) await addTasks(actions, actor);
      return snapshot;
    },
    {
      validator: ({ actor, review }) => {
        if (!tasksReady) throw new Error('the review is still creating its tasks; try again in a moment');
        if (snapshot.signedOff) throw new Error('the review is signed off; it can no longer change');
        if (!person(actor)) throw new Error(`${actor} is not a person of this incident's runbook`);
        for (const [index, a] of review.correctiveActions.entries()) {
          if (a.owner && !person(a.owner)) throw new Error(`correctiveActions.${index}.owner: ${a.owner} is not a person of this incident's runbook`);
          if (!start.people.some((p) => p.roles.includes(a.ownerRole)))
            throw new Error(`correctiveActions.${index}.ownerRole: nobody in the runbook holds the role ${a.ownerRole}`);
        }
      },
    },
  );

  const signOffProblem = (actor: string) => {
    if (snapshot.signedOff) return `the review was already signed off by ${snapshot.signedOff.actor}`;
    const p = person(actor);
    if (!p || !p.roles.some((r) => start.signOffRoles.includes(r)))
      return `${actor} may not sign this review off: that needs one of ${start.signOffRoles.join(', ')}`;
    if (!snapshot.review) return 'submit the review record (with its attribution) before signing it off';
    const open = snapshot.tasks.filter((t) => t.state === 'open');
    if (!tasksReady || open.length) return `${open.length} task${open.length === 1 ? ' is' : 's are'} still open: ${open.map((t) => t.title).join('; ')}`;
    return undefined;
  };
  setHandler(
    signOffReviewUpdate,
    async ({ actor, at }) => {
      const role = person(actor)!.roles.find((r) => start.signOffRoles.includes(r))!;
      snapshot.signedOff = { actor, role, at };
      await recordReviewSignedOff({ incidentId: incident.incidentId, actor, role, at });
      await getExternalWorkflowHandle(start.incidentWorkflowId).signal(reviewSignedOffSignal, { actor, at });
      return snapshot;
    },
    { validator: ({ actor }) => refuseIf(signOffProblem(actor)) },
  );

  await addTasks(start.tasks, 'system:review');
  tasksReady = true;
  await condition(() => snapshot.signedOff !== undefined);
  await condition(allHandlersFinished);
  return snapshot;
}
