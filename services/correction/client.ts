import type { Client, WorkflowHandle } from '@temporalio/client';
import { correctionStateQuery, decideCorrectionUpdate, type CorrectionDecision, type CorrectionSnapshot } from '../../workflows/correction/messages.js';
import { ActionRefused } from '../errors.js';
import { refusalsAsErrors } from '../temporal/updates.js';

/** How the API, the console and drills drive one correction's workflow (proposing and lifting go through its incident). */
export class CorrectionClient {
  constructor(private readonly client: Client) {}

  state(correctionWorkflowId: string): Promise<CorrectionSnapshot> {
    return this.client.workflow.getHandle(correctionWorkflowId).query(correctionStateQuery);
  }

  decide(correctionWorkflowId: string, decision: CorrectionDecision, options: { updateId?: string } = {}): Promise<CorrectionSnapshot> {
    return this.onCorrection(
      correctionWorkflowId,
      (handle) => handle.executeUpdate(decideCorrectionUpdate, { args: [decision], ...(options.updateId ? { updateId: options.updateId } : {}) }),
      'is no longer pending a decision',
    );
  }

  /** A correction whose workflow has finished (rejected, expired, lifted) refuses like a running one would. */
  private async onCorrection<T>(workflowId: string, call: (handle: WorkflowHandle) => Promise<T>, refusal: string): Promise<T> {
    const handle = this.client.workflow.getHandle(workflowId);
    try {
      return await refusalsAsErrors(() => call(handle));
    } catch (error) {
      // The workflow had finished, or finished while the update waited (its last pages going out): either
      // way the correction is decided, and the person is told what became of it.
      if (!/already completed|aborted by closing workflow/i.test((error as Error).message)) throw error;
      const finished = await handle.query(correctionStateQuery);
      throw new ActionRefused(`correction ${finished.id} ${refusal} (it is ${finished.state})`);
    }
  }
}
