import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { closeIncidentSignal, incidentStateQuery, triggerArrivedSignal } from '../../workflows/incident.js';
import type { incidentWorkflow } from '../../workflows/index.js';
import { incidentWorkflowId, type IncidentClosing, type IncidentSnapshot, type IncidentTrigger, type TriggerArrival } from './schema.js';

export interface TriggerOutcome {
  incidentId: string;
  workflowId: string;
  /** True when an open incident with the same system and dedup key took this trigger. */
  joined: boolean;
}

/** How the API and CLI drive incidents: every call goes through the incident's workflow. */
export class IncidentClient {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  async trigger(
    trigger: IncidentTrigger,
    actor: string,
    options: { runbookVersion: string | null; now?: Date } = { runbookVersion: null },
  ): Promise<TriggerOutcome> {
    const now = options.now ?? new Date();
    const dedupKey = trigger.dedupKey ?? randomUUID();
    const workflowId = incidentWorkflowId(trigger.systemId, dedupKey);
    const incidentId = randomUUID();
    const handle = await this.client.workflow.signalWithStart<typeof incidentWorkflow, [TriggerArrival]>('incidentWorkflow', {
      workflowId,
      taskQueue: this.taskQueue,
      args: [
        {
          incidentId,
          systemId: trigger.systemId,
          dedupKey,
          title: trigger.title,
          severity: trigger.severity,
          summary: trigger.summary,
          openedBy: actor,
          openedAt: now.toISOString(),
          runbookVersion: options.runbookVersion,
        },
      ],
      signal: triggerArrivedSignal,
      signalArgs: [{ incidentId, at: now.toISOString(), by: actor }],
    });
    const state = await handle.query(incidentStateQuery);
    return { incidentId: state.incidentId, workflowId, joined: state.incidentId !== incidentId };
  }

  async state(workflowId: string): Promise<IncidentSnapshot> {
    return this.client.workflow.getHandle(workflowId).query(incidentStateQuery);
  }

  async close(workflowId: string, closing: IncidentClosing): Promise<void> {
    await this.client.workflow.getHandle(workflowId).signal(closeIncidentSignal, closing);
  }
}
