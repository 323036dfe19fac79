import { beforeAll, describe, expect, it } from 'vitest';
import { monitorWorkflowId } from '../../services/identity.js';
import { MonitorClient } from '../../services/monitoring/client.js';
import { RunbookCatalogue } from '../../services/runbook/catalogue.js';
import { listTimeline } from '../../services/timeline/repository.js';
import { eventually } from '../support/database.js';
import { useIncidentStack } from '../support/stack.js';

const MINUTE = 60_000;

describe('monitoring the monitor: heartbeats (time-skipping server)', () => {
  const stack = useIncidentStack({
    temporal: 'time-skipping',
    runbooks: {
      'clinical-triage': {
        from: 'clinical-triage',
        adjust(runbook) {
          runbook.monitoring = { heartbeat: { interval: '5m', severity: 'SEV2' } };
        },
      },
    },
    runbookFiles: {}, // no files: the recorded version serves
  });
  let monitor: MonitorClient;

  beforeAll(() => {
    monitor = new MonitorClient({
      db: stack.db,
      client: stack.client,
      taskQueue: stack.taskQueue,
      runbooks: new RunbookCatalogue(stack.runbooksDir, stack.db),
    });
  });

  const heartbeat = async () =>
    monitor.submit({ systemId: 'clinical-triage', source: 'heartbeat', at: new Date(await stack.environment.currentTimeMs()).toISOString() });
  /** The monitor's own state once it has handled `count` heartbeats and every timer due so far. */
  const handled = async (count: number) => {
    await stack.settled(monitorWorkflowId('clinical-triage'));
    return eventually(async () => {
      const state = await monitor.state('clinical-triage');
      return state.processed >= count ? state : undefined;
    });
  };
  const blind = () =>
    stack.db.selectFrom('incidents').selectAll().where('system_id', '=', 'clinical-triage').where('title', 'like', 'Monitoring blind%').execute();

  it('opens a "monitoring blind" incident when heartbeats stop, and resolves it when they resume', async () => {
    await heartbeat();
    await stack.environment.sleep(3 * MINUTE);
    await heartbeat();
    await stack.environment.sleep(3 * MINUTE);
    expect((await handled(2)).openings.heartbeat).toBeUndefined();
    expect(await blind()).toHaveLength(0); // never 5 minutes without one so far

    await stack.environment.sleep(4 * MINUTE);
    const [incident] = await eventually(async () => {
      const rows = await blind();
      return rows.length === 1 ? rows : undefined;
    });
    expect(incident).toMatchObject({
      severity: 'SEV2',
      opened_by: 'system:monitor',
      title: 'Monitoring blind: no heartbeat from clinical-triage for 5 minutes',
    });

    await stack.environment.sleep(30 * MINUTE);
    expect((await handled(2)).openings.heartbeat).toBe(1);
    expect(await blind()).toHaveLength(1); // one blind incident, not one per interval

    await heartbeat();
    await eventually(async () => ((await stack.clients.incidents.state(incident!.workflow_id)).state === 'resolved' ? true : undefined));
    const resolved = (await listTimeline(stack.db, incident!.id)).find((e) => e.kind === 'incident.resolved');
    expect(resolved).toMatchObject({ actor: 'system:monitor', data: { reason: 'heartbeats resumed' } });
  });
});
