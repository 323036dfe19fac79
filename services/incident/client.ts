import { randomUUID } from 'node:crypto';
import { WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import {
  acknowledgeUpdate,
  approveReportUpdate,
  classifyUpdate,
  closeUpdate,
  regulatoryClockQuery,
  correctionStateQuery,
  decideCorrectionUpdate,
  incidentStateQuery,
  liftCorrectionUpdate,
  proposeCorrectionUpdate,
  resolveUpdate,
  reviewStateQuery,
  signOffReviewUpdate,
  submitReviewUpdate,
  completeTaskUpdate,
  reassignTaskUpdate,
  dropTaskUpdate,
  triggerArrivedSignal,
  type CorrectionDecision,
  type CorrectionLift,
  type CorrectionProposal,
  type CorrectionSnapshot,
  type RegulatoryClockSnapshot,
  type ReportApproval,
  type ReviewSnapshot,
  type TaskAction,
} from '../../workflows/messages.js';
import type { ReviewRecord } from '../review/schema.js';
import type { incidentWorkflow } from '../../workflows/index.js';
import { CorrectionProposalInput } from '../correction/schema.js';
import { InvalidInput } from '../errors.js';
import { z } from 'zod';
import { IncidentClass } from '../regulatory/regime.js';
import { incidentWorkflowId } from './identity.js';
import type { IncidentAction, IncidentClassification, IncidentSnapshot, IncidentTrigger, TriggerArrival } from './schema.js';

export interface TriggerOutcome {
  incidentId: string;
  workflowId: string;
  /** True when an open incident with the same system and dedup key took this trigger. */
  joined: boolean;
}

/** A person's action was refused by the workflow (not authorised, wrong state, duplicate vote…), with the reason. */
export class ActionRefused extends Error {
  override readonly name = 'ActionRefused';
}

async function refusalsAsErrors<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) throw new ActionRefused(error.cause?.message ?? error.message);
    throw error;
  }
}

/** How the API and CLI drive incidents and corrections: every call goes through their workflows. */
export class IncidentClient {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  async trigger(trigger: IncidentTrigger, actor: string, options: { runbookVersion: string; now?: Date; drill?: boolean }): Promise<TriggerOutcome> {
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
          ...(options.drill ? { drill: true } : {}),
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

  acknowledge(workflowId: string, action: IncidentAction): Promise<IncidentSnapshot> {
    return refusalsAsErrors(this.client.workflow.getHandle(workflowId).executeUpdate(acknowledgeUpdate, { args: [action] }));
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
    return refusalsAsErrors(this.client.workflow.getHandle(workflowId).executeUpdate(proposeCorrectionUpdate, { args: [checked], ...(options.updateId ? { updateId: options.updateId } : {}) }));
  }

  decide(correctionWorkflowId: string, decision: CorrectionDecision): Promise<CorrectionSnapshot> {
    return this.onCorrection(correctionWorkflowId, (handle) => handle.executeUpdate(decideCorrectionUpdate, { args: [decision] }), 'is no longer pending a decision');
  }

  /** Lifts a correction in force, through its incident (authority and, for the last one, restoration criteria). */
  lift(incidentWorkflowId: string, lift: CorrectionLift): Promise<IncidentSnapshot> {
    return refusalsAsErrors(this.client.workflow.getHandle(incidentWorkflowId).executeUpdate(liftCorrectionUpdate, { args: [lift] }));
  }

  /** A correction whose workflow has finished (rejected, expired, lifted) refuses like a running one would. */
  private async onCorrection<T>(workflowId: string, call: (handle: WorkflowHandle) => Promise<T>, refusal: string): Promise<T> {
    const handle = this.client.workflow.getHandle(workflowId);
    try {
      return await refusalsAsErrors(call(handle));
    } catch (error) {
      if (error instanceof ActionRefused || !/already completed/i.test((error as Error).message)) throw error;
      const finished = await handle.query(correctionStateQuery);
      throw new ActionRefused(`correction ${finished.id} ${refusal} (it is ${finished.state})`);
    }
  }

  correction(correctionWorkflowId: string): Promise<CorrectionSnapshot> {
    return this.client.workflow.getHandle(correctionWorkflowId).query(correctionStateQuery);
  }

  /** Sets or revises the incident's classes (validated here), which re-plans its regulator clocks. */
  async classify(workflowId: string, classification: IncidentClassification): Promise<IncidentSnapshot> {
    const parsed = z.array(IncidentClass).min(1, 'give at least one class').safeParse(classification.classes);
    if (!parsed.success) throw InvalidInput.fromZod(parsed.error, ['classes']);
    return refusalsAsErrors(this.client.workflow.getHandle(workflowId).executeUpdate(classifyUpdate, { args: [{ ...classification, classes: parsed.data }] }));
  }

  regulatoryClock(clockWorkflowId: string): Promise<RegulatoryClockSnapshot> {
    return this.client.workflow.getHandle(clockWorkflowId).query(regulatoryClockQuery);
  }

  approveReport(clockWorkflowId: string, approval: ReportApproval): Promise<RegulatoryClockSnapshot> {
    return refusalsAsErrors(this.client.workflow.getHandle(clockWorkflowId).executeUpdate(approveReportUpdate, { args: [approval] }));
  }

  resolve(workflowId: string, action: IncidentAction): Promise<IncidentSnapshot> {
    return refusalsAsErrors(this.client.workflow.getHandle(workflowId).executeUpdate(resolveUpdate, { args: [action] }));
  }

  close(workflowId: string, action: IncidentAction): Promise<IncidentSnapshot> {
    return refusalsAsErrors(this.client.workflow.getHandle(workflowId).executeUpdate(closeUpdate, { args: [action] }));
  }

  review(reviewWorkflowId: string): Promise<ReviewSnapshot> {
    return this.client.workflow.getHandle(reviewWorkflowId).query(reviewStateQuery);
  }

  completeTask(reviewWorkflowId: string, action: TaskAction & { note?: string }): Promise<ReviewSnapshot> {
    return refusalsAsErrors(this.client.workflow.getHandle(reviewWorkflowId).executeUpdate(completeTaskUpdate, { args: [action] }));
  }

  reassignTask(reviewWorkflowId: string, action: TaskAction & { to: string }): Promise<ReviewSnapshot> {
    return refusalsAsErrors(this.client.workflow.getHandle(reviewWorkflowId).executeUpdate(reassignTaskUpdate, { args: [action] }));
  }

  dropTask(reviewWorkflowId: string, action: TaskAction & { reason: string }): Promise<ReviewSnapshot> {
    return refusalsAsErrors(this.client.workflow.getHandle(reviewWorkflowId).executeUpdate(dropTaskUpdate, { args: [action] }));
  }

  submitReview(reviewWorkflowId: string, submission: { actor: string; at: string; review: ReviewRecord }): Promise<ReviewSnapshot> {
    return refusalsAsErrors(this.client.workflow.getHandle(reviewWorkflowId).executeUpdate(submitReviewUpdate, { args: [submission] }));
  }

  signOffReview(reviewWorkflowId: string, signOff: { actor: string; at: string }): Promise<ReviewSnapshot> {
    return refusalsAsErrors(this.client.workflow.getHandle(reviewWorkflowId).executeUpdate(signOffReviewUpdate, { args: [signOff] }));
  }
}
