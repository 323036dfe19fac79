import { ServiceError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { IncidentClient, multiOperationDisabled } from '../../services/incident/client.js';
import { findIncident } from '../../services/incident/repository.js';
import { eventually } from '../support/database.js';
import { useIncidentStack } from '../support/stack.js';

/**
 * A trigger is one Update-with-Start that the incident answers once it is on record. A server that
 * refuses ExecuteMultiOperation (self-hosted Temporal before it was on by default) is triggered with
 * signal-with-start, as before. The run's dev server (Temporal 1.32) ignores
 * frontend.enableExecuteMultiOperation=false, so the refusal is the server's documented error, built
 * here, and the older path is taken by a client told the server refuses.
 */
describe('the two ways a trigger reaches its incident', () => {
  const stack = useIncidentStack({ runbooks: ['frontier-assistant'] });
  const trigger = (client: IncidentClient, dedupKey: string) =>
    client.trigger({ systemId: 'frontier-assistant', title: 'Jailbreak rate above 2%', severity: 'SEV2', dedupKey }, 'jonas-berg', {
      runbookVersion: stack.runbookVersion(),
    });

  it('Update-with-Start: answered once the incident is on record, and a second trigger joins it', async () => {
    const client = new IncidentClient(stack.client, stack.taskQueue);
    const first = await trigger(client, 'trigger-paths-update');
    expect(first).toMatchObject({ joined: false, recorded: true });
    // On record when answered: no waiting for the row.
    expect((await findIncident(stack.db, first.incidentId))?.state).toBe('triggered');
    const again = await trigger(client, 'trigger-paths-update');
    expect(again).toMatchObject({ incidentId: first.incidentId, joined: true, recorded: true });
    expect((await stack.clients.incidents.state(first.workflowId)).joinedTriggers).toBe(1);
  });

  it('signal-with-start on a server that refuses Update-with-Start: the row follows, a second trigger joins', async () => {
    const client = new IncidentClient(stack.client, stack.taskQueue, { updateWithStart: false });
    const first = await trigger(client, 'trigger-paths-signal');
    expect(first.joined).toBe(false);
    expect(first.recorded).toBeUndefined();
    await eventually(() => findIncident(stack.db, first.incidentId));
    const again = await trigger(client, 'trigger-paths-signal');
    expect(again).toMatchObject({ incidentId: first.incidentId, joined: true });
  });

  it("recognises the server's refusal, and nothing else, as ExecuteMultiOperation switched off", () => {
    const refusal = new ServiceError('Failed to execute multi-operation', {
      cause: Object.assign(new Error('7 PERMISSION_DENIED: ExecuteMultiOperation API is disabled on this namespace.'), { code: 7 }),
    });
    expect(multiOperationDisabled(refusal)).toBe(true);
    expect(multiOperationDisabled(new ServiceError('Failed to execute multi-operation', { cause: new Error('14 UNAVAILABLE: connection refused') }))).toBe(
      false,
    );
    expect(multiOperationDisabled(new Error('Workflow execution already completed'))).toBe(false);
  });
});
