import { randomUUID } from 'node:crypto';
import { WithStartWorkflowOperation, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { defaultPayloadConverter, fromPayloadsAtIndex } from '@temporalio/common';
import { z } from 'zod';
import type { Kysely } from 'kysely';
import {
  acknowledgeUpdate,
  classifyUpdate,
  closeUpdate,
  incidentStateQuery,
  liftCorrectionUpdate,
  proposeCorrectionUpdate,
  resolveUpdate,
  setAwarenessUpdate,
  triggerArrivedSignal,
  triggerUpdate,
  type AcknowledgeAction,
  type CorrectionLift,
  type CorrectionProposal,
  type LiftAnswer,
} from '../../workflows/incident/messages.js';
import type { incidentWorkflow } from '../../workflows/index.js';
import { CorrectionProposalInput } from '../correction/schema.js';
import type { Database } from '../db/schema.js';
import { InvalidInput } from '../errors.js';
import { incidentWorkflowId } from '../identity.js';
import { IncidentClass } from '../regulatory/regime.js';
import { refusalsAsErrors } from '../temporal/updates.js';
import { recordTransition } from './transition.js';
import { escalationAcknowledgedSignal } from '../../workflows/escalation/messages.js';
import type { AwarenessSetting, IncidentAction, IncidentClassification, IncidentSnapshot, IncidentStart, IncidentTrigger, TriggerArrival } from './schema.js';

export interface TriggerOutcome {
  incidentId: string;
  workflowId: string;
  /** True when an open incident with the same system and dedup key took this trigger. */
  joined: boolean;
  /** The incident said it is on record (its row and opening event written) before answering. */
  recorded?: boolean;
}

/**
 * A server that refuses ExecuteMultiOperation, the API under Update-with-Start (PermissionDenied
 * "ExecuteMultiOperation API is disabled on this namespace.": self-hosted servers before it was on by
 * default, frontend.enableExecuteMultiOperation).
 */
export function multiOperationDisabled(error: unknown): boolean {
  const text = `${(error as Error)?.message ?? ''} ${String((error as { cause?: unknown })?.cause ?? '')}`;
  return /ExecuteMultiOperation|multi-?operation/i.test(text) && /disabled|not (enabled|allowed|supported)|unimplemented/i.test(text);
}

/** How the API, the console and the monitor drive an incident's workflow: trigger, act on it, propose and lift its corrections. */
export class IncidentClient {
  /** False once the server has refused Update-with-Start (ExecuteMultiOperation switched off). */
  private updateWithStart: boolean;

  /** With it, an acknowledgement is recorded here, before it is answered, rather than waited for (see `acknowledge`). */
  private readonly db: Kysely<Database> | undefined;

  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    options: { updateWithStart?: boolean; db?: Kysely<Database> } = {},
  ) {
    this.updateWithStart = options.updateWithStart ?? true;
    this.db = options.db;
  }

  /**
   * Opens the incident under its system and dedup key, or joins the open one. `openWorkflowId` is the
   * recorded workflow of an incident with this key opened before workflow ids were made shell-safe
   * (a different id for the same key): while it runs, the trigger joins it.
   */
  async trigger(
    trigger: IncidentTrigger,
    actor: string,
    options: { runbookVersion: string; now?: Date; drill?: boolean; openWorkflowId?: string; recordWithinMs?: number },
  ): Promise<TriggerOutcome> {
    const now = options.now ?? new Date();
    if (trigger.awareSince && Date.parse(trigger.awareSince.at) > now.getTime())
      throw new InvalidInput([{ path: 'awareSince.at', message: `must not be in the future (it is ${now.toISOString()} now)` }]);
    const dedupKey = trigger.dedupKey ?? randomUUID();
    const incidentId = randomUUID();
    if (options.openWorkflowId) {
      const handle = this.client.workflow.getHandle(options.openWorkflowId);
      try {
        await handle.signal(triggerArrivedSignal, { incidentId, at: now.toISOString(), by: actor });
        const state = await handle.query(incidentStateQuery);
        return { incidentId: state.incidentId, workflowId: options.openWorkflowId, joined: state.incidentId !== incidentId };
      } catch (error) {
        // It has ended since: the trigger opens a new incident under today's id.
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      }
    }
    const workflowId = incidentWorkflowId(trigger.systemId, dedupKey);
    const arrival: TriggerArrival = { incidentId, at: now.toISOString(), by: actor };
    const start = new WithStartWorkflowOperation<typeof incidentWorkflow>('incidentWorkflow', {
      workflowId,
      taskQueue: this.taskQueue,
      workflowIdConflictPolicy: 'USE_EXISTING',
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
          ...(options.drill ? { drill: true } : {}),
          ...(trigger.awareSince ? { awareness: { at: trigger.awareSince.at, by: actor, reason: trigger.awareSince.reason } } : {}),
        },
      ],
    });
    if (this.updateWithStart) {
      // One round trip: the incident starts (or the open one is joined) and answers once it is on record.
      const recordedWithin = AbortSignal.timeout(options.recordWithinMs ?? 10_000);
      try {
        const state = await this.client.withAbortSignal(recordedWithin, () =>
          this.client.workflow.executeUpdateWithStart(triggerUpdate, { args: [arrival], startWorkflowOperation: start }),
        );
        return { incidentId: state.incidentId, workflowId, joined: state.incidentId !== incidentId, recorded: true };
      } catch (error) {
        if (!recordedWithin.aborted && !multiOperationDisabled(error)) throw error;
        // A server with ExecuteMultiOperation switched off (frontend.enableExecuteMultiOperation) is
        // triggered as before: signal-with-start, and the caller waits for the row.
        if (!recordedWithin.aborted) this.updateWithStart = false;
      }
    }
    if (!this.updateWithStart) {
      const handle = await this.client.workflow.signalWithStart<typeof incidentWorkflow, [TriggerArrival]>('incidentWorkflow', {
        workflowId,
        taskQueue: this.taskQueue,
        args: start.options.args,
        signal: triggerArrivedSignal,
        signalArgs: [arrival],
      });
      const state = await handle.query(incidentStateQuery);
      return { incidentId: state.incidentId, workflowId, joined: state.incidentId !== incidentId };
    }
    // Not on record in time (no worker polls, or its database is slow): the run that took the trigger
    // names its incident in its start event, which the server gives without a worker.
    const opened = await this.openedBy(workflowId);
    return { incidentId: opened.incidentId, workflowId, joined: opened.incidentId !== incidentId, recorded: false };
  }

  /** The start of the workflow's current run, as the server recorded it. */
  private async openedBy(workflowId: string): Promise<IncidentStart> {
    const { history } = await this.client.workflowService.getWorkflowExecutionHistory({
      namespace: this.client.options.namespace,
      execution: { workflowId },
      maximumPageSize: 1,
    });
    const started = history?.events?.[0]?.workflowExecutionStartedEventAttributes;
    if (!started) throw new Error(`the workflow ${workflowId} has no start event`);
    return fromPayloadsAtIndex<IncidentStart>(defaultPayloadConverter, 0, started.input?.payloads);
  }

  async state(workflowId: string): Promise<IncidentSnapshot> {
    return this.client.workflow.getHandle(workflowId).query(incidentStateQuery);
  }

  /**
   * With an updateId, the same acknowledgement sent again (a chat command read twice) answers as the first did.
   * With the database, the incident answers once it has accepted the acknowledgement, with its record (the
   * incident row, `incident.acknowledged`, the pages marked acknowledged), which is written here before
   * this returns: whoever reads the incident next sees it, and no activity task or second workflow task
   * stands before the answer. The incident's next record confirms it (writes it if this process died
   * first), or an activity of its own does within a minute. The escalation's pages are stopped from here
   * too, beside the write, when the incident names the escalation; it confirms that with a signal of its own.
   */
  async acknowledge(workflowId: string, action: AcknowledgeAction, options: { updateId?: string } = {}): Promise<IncidentSnapshot> {
    const { transition, stopEscalation, ...snapshot } = await refusalsAsErrors(() =>
      this.client.workflow.getHandle(workflowId).executeUpdate(acknowledgeUpdate, {
        args: [this.db ? { ...action, recordsItself: true, stopsEscalation: true } : action],
        ...(options.updateId ? { updateId: options.updateId } : {}),
      }),
    );
    await Promise.all([
      // A worker from before `recordsItself` recorded it before answering, and sends none.
      transition && this.db ? recordTransition(this.db, transition) : undefined,
      // An escalation that has ended (exhausted, or stopped by this same acknowledgement sent again) has
      // nobody left to page; any other failure is covered by the incident, which signals it too once
      // its next record confirms this one.
      stopEscalation
        ? this.client.workflow
            .getHandle(stopEscalation)
            .signal(escalationAcknowledgedSignal, { actor: action.actor })
            .catch(() => {})
        : undefined,
    ]);
    return snapshot;
  }

  /**
   * Checks the kind's parameters and the scope (InvalidInput naming the field), then asks the incident.
   * An `updateId` makes a repeat safe: Temporal answers an Update it has already completed with its
   * outcome (the same correction) instead of running it again.
   */
  async propose(workflowId: string, proposal: CorrectionProposal, options: { updateId?: string } = {}): Promise<{ correctionId: string; workflowId: string }> {
    const { actor, at, ...correction } = proposal;
    const parsed = CorrectionProposalInput.safeParse(correction);
    if (!parsed.success) throw InvalidInput.fromZod(parsed.error);
    const checked: CorrectionProposal = { actor, at, ...parsed.data, parameters: parsed.data.parameters as Record<string, unknown> };
    return refusalsAsErrors(() =>
      this.client.workflow
        .getHandle(workflowId)
        .executeUpdate(proposeCorrectionUpdate, { args: [checked], ...(options.updateId ? { updateId: options.updateId } : {}) }),
    );
  }

  /** Lifts a correction in force, through its incident (authority and, for the last one, restoration criteria). */
  lift(incidentWorkflowId: string, lift: CorrectionLift, options: { updateId?: string } = {}): Promise<LiftAnswer> {
    return refusalsAsErrors(() =>
      this.client.workflow
        .getHandle(incidentWorkflowId)
        .executeUpdate(liftCorrectionUpdate, { args: [lift], ...(options.updateId ? { updateId: options.updateId } : {}) }),
    );
  }

  /** Sets or revises the incident's classes (validated here), which re-plans its regulator clocks. */
  async classify(workflowId: string, classification: IncidentClassification): Promise<IncidentSnapshot> {
    const parsed = z.array(IncidentClass).min(1, 'give at least one class').safeParse(classification.classes);
    if (!parsed.success) throw InvalidInput.fromZod(parsed.error, ['classes']);
    return refusalsAsErrors(() =>
      this.client.workflow.getHandle(workflowId).executeUpdate(classifyUpdate, { args: [{ ...classification, classes: parsed.data }] }),
    );
  }

  /** Sets when the organisation became aware, earlier than the opening: clocks that run from awareness move to it. */
  setAwareness(workflowId: string, setting: AwarenessSetting): Promise<IncidentSnapshot> {
    return refusalsAsErrors(() => this.client.workflow.getHandle(workflowId).executeUpdate(setAwarenessUpdate, { args: [setting] }));
  }

  resolve(workflowId: string, action: IncidentAction): Promise<IncidentSnapshot> {
    return refusalsAsErrors(() => this.client.workflow.getHandle(workflowId).executeUpdate(resolveUpdate, { args: [action] }));
  }

  close(workflowId: string, action: IncidentAction): Promise<IncidentSnapshot> {
    return refusalsAsErrors(() => this.client.workflow.getHandle(workflowId).executeUpdate(closeUpdate, { args: [action] }));
  }
}
