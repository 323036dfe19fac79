import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Person } from '../../services/correction/authority.js';
import { listPageDeliveries } from '../../services/escalation/repository.js';
import { recordIncidentOpened } from '../../services/incident/repository.js';
import { listTimeline } from '../../services/timeline/repository.js';
import type { EscalationStart } from '../../workflows/escalation/messages.js';
import { anIncidentStart, createPostgresTestDatabase, eventually, type TestDatabase } from '../support/database.js';
import { startDevServerWorker, type RunningWorker } from '../support/temporal.js';
import { ChannelReceiver } from './receiver.js';

// The escalation workflow on a real Temporal server and worker, paging through a person's contacts:
// the activity the worker registers finds the Slack and webhook senders by the secrets it is given.
// The listener stands in for Slack and an SMS relay, which the tests cannot reach.

describe('escalation pages through contacts, with Temporal retrying when all fail', () => {
  const receiver = new ChannelReceiver('relay-secret');
  let database: TestDatabase;
  let worker: RunningWorker;

  beforeAll(async () => {
    await receiver.start();
    database = await createPostgresTestDatabase();
    worker = await startDevServerWorker(database.db, {
      secrets: { SLACK_ONCALL: receiver.url('/slack/oncall'), RELAY_SECRET: 'relay-secret' },
      publicUrl: () => 'https://correx.example.com',
    });
  });
  afterAll(async () => {
    await worker?.stop();
    await database?.destroy();
    await receiver.stop();
  });

  async function escalate(people: Person[]): Promise<{ incidentId: string; handle: Awaited<ReturnType<RunningWorker['client']['workflow']['start']>> }> {
    const opening = anIncidentStart(new Date().toISOString());
    const incidentId = opening.incidentId;
    await recordIncidentOpened(database.db, { ...opening });
    const start: EscalationStart = {
      incidentId,
      systemId: 'assistant-prod',
      title: 'Jailbreak success rate above 2%',
      severity: 'SEV2',
      levels: [{ people, ackTimeoutMs: 600_000 }],
      repeat: 0,
    };
    const handle = await worker.client.workflow.start('escalationWorkflow', {
      taskQueue: worker.taskQueue,
      workflowId: `escalation-${incidentId}`,
      args: [start],
    });
    return { incidentId, handle };
  }

  const sentPage = (key: string) => async () => {
    const row = await database.db.selectFrom('pages').selectAll().where('idempotency_key', '=', key).executeTakeFirst();
    return row?.sent_at ? row : undefined;
  };

  it('falls back from a failing Slack webhook to the SMS relay, once', async () => {
    receiver.fail('/slack/oncall', 500, 'internal_error');
    const { incidentId, handle } = await escalate([
      {
        id: 'amara',
        name: 'Amara Okafor',
        email: 'amara@example.com',
        roles: ['on-call-engineer'],
        contacts: [
          { channel: 'slack', webhookEnv: 'SLACK_ONCALL' },
          { channel: 'webhook', url: receiver.url('/relay/amara'), secretEnv: 'RELAY_SECRET' },
        ],
      },
    ]);
    const key = `${incidentId}:escalation:1:1:amara`;
    const page = await eventually(sentPage(key));
    receiver.recover('/slack/oncall');
    await handle.signal('escalationAcknowledged', { actor: 'amara' });
    await handle.result();

    expect(page.channel).toBe('webhook');
    const relayed = receiver.accepted('/relay/amara');
    expect(relayed).toHaveLength(1);
    expect(relayed[0]!.body).toMatchObject({ id: key, link: `https://correx.example.com/console/incidents/${incidentId}`, severity: 'SEV2' });
    expect((await listPageDeliveries(database.db, key)).map((d) => [d.channel, d.delivered_at !== null])).toEqual([
      ['slack', false],
      ['webhook', true],
    ]);
    const event = (await listTimeline(database.db, incidentId)).find((e) => e.kind === 'page.sent');
    expect(event!.data).toMatchObject({ channel: 'webhook', failed: [{ channel: 'slack', error: 'the Slack webhook answered HTTP 500: internal_error' }] });
  });

  it('when every contact fails the activity fails and Temporal retries it until one delivers', async () => {
    receiver.fail('/slack/oncall', 503, 'service_unavailable');
    const { incidentId, handle } = await escalate([
      { id: 'li', name: 'Li Wei', email: 'li@example.com', roles: ['on-call-engineer'], contacts: [{ channel: 'slack', webhookEnv: 'SLACK_ONCALL' }] },
    ]);
    const key = `${incidentId}:escalation:1:1:li`;
    // Two failed attempts (the activity's first run and its first retry), then Slack is back.
    // An attempt's row is written before Slack answers: wait for two answered 503s, not two rows.
    const failedTries = async () => (await listPageDeliveries(database.db, key)).filter((d) => d.error !== null).length;
    await eventually(async () => ((await failedTries()) >= 2 ? true : undefined));
    receiver.recover('/slack/oncall');
    const page = await eventually(sentPage(key));
    await handle.signal('escalationAcknowledged', { actor: 'li' });
    await handle.result();

    expect(page.channel).toBe('slack');
    const deliveries = await listPageDeliveries(database.db, key);
    expect(deliveries.filter((d) => d.delivered_at)).toHaveLength(1);
    expect(deliveries.filter((d) => d.error === 'the Slack webhook answered HTTP 503: service_unavailable').length).toBeGreaterThanOrEqual(2);
    // Delivered to Slack exactly once: the failed tries got 503, the one that got through, 200.
    expect(receiver.accepted('/slack/oncall').filter((r) => r.status === 200 && r.raw.includes(incidentId))).toHaveLength(1);
    const events = (await listTimeline(database.db, incidentId)).filter((e) => e.kind === 'page.sent');
    expect(events).toHaveLength(1);
    expect(events[0]!.data).toMatchObject({ channel: 'slack', failed: [] });
  });
});
