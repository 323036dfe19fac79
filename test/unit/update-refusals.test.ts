import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { ActionRefused } from '../../services/errors.js';
import { refusalsAsErrors } from '../../services/temporal/updates.js';

describe('refusalsAsErrors: what a person is told when an Update does not go through', () => {
  const failed = (message: string) => new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.create({ message }));

  it('sends again an Update the server rejected because no worker answered it, instead of calling it a refusal', async () => {
    let sent = 0;
    const answer = await refusalsAsErrors(async () => {
      sent += 1;
      if (sent < 3)
        throw failed("Workflow Update is rejected because it wasn't processed by worker. Probably, Workflow Update is not supported by the worker.");
      return 'acknowledged';
    });
    expect(answer).toBe('acknowledged');
    expect(sent).toBe(3);
  });

  it("passes the workflow's own refusal on at once, with its reason", async () => {
    let sent = 0;
    const refused = refusalsAsErrors(async () => {
      sent += 1;
      throw failed('incident is already acknowledged (commander: amara-okafor)');
    });
    await expect(refused).rejects.toThrow(ActionRefused);
    await expect(refused).rejects.toThrow('incident is already acknowledged (commander: amara-okafor)');
    expect(sent).toBe(1);
  });
});
