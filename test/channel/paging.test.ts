import { randomUUID } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createChannelSenders, type ChannelSenders } from '../../services/channel/delivery.js';
import type { ContactMethod } from '../../services/channel/kinds.js';
import { listPageDeliveries, sendPage, type PageDependencies, type PageRequest } from '../../services/escalation/repository.js';
import { recordIncidentOpened } from '../../services/incident/repository.js';
import { createMailer } from '../../services/notification/mailer.js';
import { listTimeline } from '../../services/timeline/repository.js';
import { anIncidentStart, testDatabaseBackends, type TestDatabase } from '../support/database.js';
import { MailSink } from '../support/smtp.js';
import { ChannelReceiver } from './receiver.js';

// Paging a person through their contacts in order, against a real database, a real SMTP server and a
// real HTTP listener standing in for Slack, Teams and an SMS relay (their clouds are out of reach).

describe.each(testDatabaseBackends)('paging through contacts in order on $backend', ({ create }) => {
  const receiver = new ChannelReceiver('relay-secret');
  const mail = new MailSink();
  const drillOutbox = path.join(os.tmpdir(), `correx-drill-pages-${randomUUID()}`);
  const env: Record<string, string> = {};
  let database: TestDatabase;
  let deps: PageDependencies;
  let senders: ChannelSenders;

  beforeAll(async () => {
    await Promise.all([receiver.start(), mail.start()]);
    Object.assign(env, {
      SLACK_AMARA: receiver.url('/slack/amara'),
      TEAMS_AMARA: receiver.url('/teams/amara'),
      RELAY_SECRET: 'relay-secret',
    });
    senders = createChannelSenders({ secret: (name) => env[name], timeoutMs: 2_000 });
    deps = {
      mailer: createMailer({ smtpUrl: mail.url, outboxDir: '/nonexistent', from: 'correx@test.local' }),
      drillMailer: createMailer({ smtpUrl: undefined, outboxDir: drillOutbox, from: 'correx@test.local' }),
      senders,
      publicUrl: 'https://correx.example.com/',
    };
  });
  afterEach(async () => {
    await database?.destroy();
  });
  afterAll(async () => {
    await Promise.all([receiver.stop(), mail.stop(), rm(drillOutbox, { recursive: true, force: true })]);
  });

  async function anIncident(options: { drill?: boolean } = {}): Promise<string> {
    const opening = anIncidentStart(new Date().toISOString());
    const incidentId = opening.incidentId;
    await recordIncidentOpened(database.db, { ...opening, ...(options.drill ? { drill: true } : {}) });
    return incidentId;
  }

  const aPage = (incidentId: string, contacts?: ContactMethod[]): PageRequest => ({
    incidentId,
    idempotencyKey: `${incidentId}:escalation:1:1:amara`,
    person: { id: 'amara', name: 'Amara Okafor', email: `amara-${incidentId}@example.com`, ...(contacts ? { contacts } : {}) },
    level: 1,
    attempt: 1,
    subject: '[Correx SEV2] assistant-prod: Jailbreak success rate above 2%',
    text: 'Amara, you are paged (level 1, round 1).',
    reason: 'escalation',
    action: { what: `Acknowledge incident ${incidentId}`, path: `/console/incidents/${incidentId}`, command: `correx incident ack ${incidentId}` },
  });

  const pageRow = (key: string) => database.db.selectFrom('pages').selectAll().where('idempotency_key', '=', key).executeTakeFirstOrThrow();
  const pageEvents = async (incidentId: string) => (await listTimeline(database.db, incidentId)).filter((e) => e.kind === 'page.sent');

  it('falls back to the next contact when the first fails, and records the failure', async () => {
    database = await create();
    const incidentId = await anIncident();
    receiver.fail('/slack/amara', 500, 'internal_error');
    const page = aPage(incidentId, [{ channel: 'slack', webhookEnv: 'SLACK_AMARA' }, { channel: 'teams', webhookEnv: 'TEAMS_AMARA' }, { channel: 'email' }]);
    try {
      await sendPage(database.db, deps, page);
    } finally {
      receiver.recover('/slack/amara');
    }

    const teams = receiver.accepted('/teams/amara').filter((r) => JSON.stringify(r.body).includes(incidentId));
    expect(teams).toHaveLength(1);
    const card = (teams[0]!.body as { attachments: { content: { actions: { url: string }[] } }[] }).attachments[0]!.content;
    expect(card.actions[0]!.url).toBe(`https://correx.example.com/console/incidents/${incidentId}`);
    expect(mail.to(page.person.email)).toHaveLength(0); // Teams delivered: email, third, is not used

    const deliveries = await listPageDeliveries(database.db, page.idempotencyKey);
    expect(deliveries.map((d) => [d.channel, d.delivered_at !== null, d.error])).toEqual([
      ['slack', false, 'the Slack webhook answered HTTP 500: internal_error'],
      ['teams', true, null],
    ]);
    expect(await pageRow(page.idempotencyKey)).toMatchObject({ channel: 'teams', sent_at: expect.any(Date) });
    const [event] = await pageEvents(incidentId);
    expect(event!.data).toMatchObject({
      person: 'amara',
      channel: 'teams',
      failed: [{ channel: 'slack', error: 'the Slack webhook answered HTTP 500: internal_error' }],
      attempts: 2,
    });
  });

  it('falls back to email through SMTP, and a retry after delivery sends nothing again', async () => {
    database = await create();
    const incidentId = await anIncident();
    const relay = receiver.url(`/relay/${incidentId}`);
    receiver.fail(`/relay/${incidentId}`, 503, 'upstream SMS provider unavailable');
    const page = aPage(incidentId, [{ channel: 'webhook', url: relay, secretEnv: 'RELAY_SECRET' }, { channel: 'email' }]);
    await sendPage(database.db, deps, page);
    receiver.recover(`/relay/${incidentId}`);

    const mails = mail.to(page.person.email);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.text).toContain(`Open: https://correx.example.com/console/incidents/${incidentId}`);
    expect(receiver.accepted(`/relay/${incidentId}`)).toHaveLength(1); // the failed attempt, signed and well-formed
    const before = await listPageDeliveries(database.db, page.idempotencyKey);
    expect(before.map((d) => [d.channel, d.error])).toEqual([
      ['webhook', expect.stringMatching(/^the page webhook at 127\.0\.0\.1:\d+ answered HTTP 503: upstream SMS provider unavailable$/)],
      ['email', null],
    ]);

    // Temporal retries the activity (say its completion was lost): nothing is sent again.
    await sendPage(database.db, deps, page);
    await sendPage(database.db, deps, page);
    expect(mail.to(page.person.email)).toHaveLength(1);
    expect(receiver.accepted(`/relay/${incidentId}`)).toHaveLength(1);
    expect(await listPageDeliveries(database.db, page.idempotencyKey)).toHaveLength(2);
    const events = await pageEvents(incidentId);
    expect(events).toHaveLength(1);
    expect(events[0]!.data).toMatchObject({ channel: 'email', failed: [{ channel: 'webhook' }] });
    expect(await pageRow(page.idempotencyKey)).toMatchObject({ channel: 'email' });
  });

  it('throws when every contact fails, so the activity is retried; the retry delivers once one recovers', async () => {
    database = await create();
    const incidentId = await anIncident();
    receiver.fail('/slack/amara', 410, 'channel_is_archived');
    const page = aPage(incidentId, [
      { channel: 'matrix', user: '@amara:matrix.example' },
      { channel: 'slack', webhookEnv: 'SLACK_AMARA' },
      { channel: 'teams', webhookEnv: 'TEAMS_NOT_SET' },
    ]);
    try {
      await expect(sendPage(database.db, deps, page)).rejects.toThrow(
        new RegExp(
          `page ${page.idempotencyKey} to amara was not delivered through any of their contacts \\(` +
            'matrix: no matrix sender configured \\(set .*\\); ' +
            'slack: the Slack webhook answered HTTP 410: channel_is_archived; ' +
            "teams: environment variable TEAMS_NOT_SET is not set \\(the teams contact's webhookEnv\\)\\)",
        ),
      );
      expect(await pageRow(page.idempotencyKey)).toMatchObject({ sent_at: null });
      expect(await pageEvents(incidentId)).toHaveLength(0);
      expect(await listPageDeliveries(database.db, page.idempotencyKey)).toHaveLength(3);
    } finally {
      receiver.recover('/slack/amara');
    }

    // Temporal's retry: from the first contact again; Slack is back.
    await sendPage(database.db, deps, page);
    const deliveries = await listPageDeliveries(database.db, page.idempotencyKey);
    expect(deliveries.map((d) => [d.channel, d.delivered_at !== null])).toEqual([
      ['matrix', false],
      ['slack', false],
      ['teams', false],
      ['matrix', false],
      ['slack', true],
    ]);
    const [event] = await pageEvents(incidentId);
    expect(event!.data).toMatchObject({ channel: 'slack', failed: [{ channel: 'matrix' }, { channel: 'teams' }], attempts: 5 });
    expect(await pageRow(page.idempotencyKey)).toMatchObject({ channel: 'slack', sent_at: expect.any(Date) });
  });

  it("starts no contact once the attempt's time is spent, so the activity ends before Temporal's timeout", async () => {
    database = await create();
    const incidentId = await anIncident();
    receiver.hang('/slack/slow');
    env.SLACK_SLOW = receiver.url('/slack/slow');
    const page = aPage(incidentId, [{ channel: 'slack', webhookEnv: 'SLACK_SLOW' }, { channel: 'email' }]);
    try {
      await expect(sendPage(database.db, { ...deps, budgetMs: 500 }, page)).rejects.toThrow(
        "(slack: the Slack webhook did not answer within 2 s; email: not tried, the contacts before it took this attempt's time)",
      );
    } finally {
      receiver.recover('/slack/slow');
    }
    expect(mail.to(page.person.email)).toHaveLength(0);
    expect((await listPageDeliveries(database.db, page.idempotencyKey)).map((d) => d.channel)).toEqual(['slack']);
  });

  it('uses a configured sender for a channel it has (room for Matrix)', async () => {
    database = await create();
    const incidentId = await anIncident();
    const sent: string[] = [];
    const withMatrix: PageDependencies = {
      ...deps,
      senders: {
        ...senders,
        matrix: {
          async send(contact, message) {
            sent.push(`${contact.channel === 'matrix' ? contact.user : '?'} ${message.action.url}`);
            return { reference: '$event-id' };
          },
        },
      },
    };
    const page = aPage(incidentId, [{ channel: 'matrix', user: '@amara:matrix.example' }]);
    await sendPage(database.db, withMatrix, page);
    expect(sent).toEqual([`@amara:matrix.example https://correx.example.com/console/incidents/${incidentId}`]);
    expect(await listPageDeliveries(database.db, page.idempotencyKey)).toMatchObject([{ channel: 'matrix', reference: '$event-id', error: null }]);
  });

  it('pages by email alone when the person has no contacts, as before', async () => {
    database = await create();
    const incidentId = await anIncident();
    const page = aPage(incidentId);
    await sendPage(database.db, deps, page);
    expect(mail.to(page.person.email)).toHaveLength(1);
    expect(await pageRow(page.idempotencyKey)).toMatchObject({ channel: 'email' });
    const [event] = await pageEvents(incidentId);
    expect(event!.data).toMatchObject({ channel: 'email', failed: [], attempts: 1 });
  });

  it('in a drill, contacts no real channel: the page goes to the drill outbox, the record says which channel it stood in for', async () => {
    database = await create();
    const incidentId = await anIncident({ drill: true });
    const before = receiver.received.length;
    const page = aPage(incidentId, [
      { channel: 'slack', webhookEnv: 'SLACK_AMARA' },
      { channel: 'webhook', url: receiver.url('/relay/drill'), secretEnv: 'RELAY_SECRET' },
    ]);
    await sendPage(database.db, deps, page);

    expect(receiver.received.length).toBe(before);
    expect(mail.to(page.person.email)).toHaveLength(0);
    const files = await readdir(drillOutbox);
    const eml = files.find((f) => f.startsWith(incidentId));
    expect(eml).toBeDefined();
    expect(await readFile(path.join(drillOutbox, eml!), 'utf8')).toContain(`To: ${page.person.email}`);
    expect(await listPageDeliveries(database.db, page.idempotencyKey)).toMatchObject([
      { channel: 'slack', drill: true, error: null, delivered_at: expect.any(Date) },
    ]);
    expect(await pageRow(page.idempotencyKey)).toMatchObject({ channel: 'email' });
    const [event] = await pageEvents(incidentId);
    expect(event!.data).toMatchObject({ channel: 'email', drill: { wouldHaveUsed: 'slack' }, failed: [] });
  });
});
