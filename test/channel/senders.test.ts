import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannelSenders, type ChannelSenders, type PageMessage } from '../../services/channel/delivery.js';
import { verifyPageSignature } from '../../services/channel/webhook.js';
import { ChannelReceiver, RelayPage, SlackMessage, TeamsMessage } from './receiver.js';

const page: PageMessage = {
  incidentId: '0b5b4d52-6a43-4bd4-8f4e-3c1b1f3f0a11',
  idempotencyKey: '0b5b4d52-6a43-4bd4-8f4e-3c1b1f3f0a11:escalation:1:1:amara',
  person: { id: 'amara', name: 'Amara Okafor', email: 'amara@example.com' },
  subject: '[Correx SEV2] assistant-prod: Jailbreak success rate above 2% <now> & rising',
  text: 'Amara, you are paged (level 1, round 1).\nThe jailbreak success rate is 3.1% over 10 minutes.',
  severity: 'SEV2',
  reason: 'escalation',
  action: {
    what: 'Acknowledge incident 0b5b4d52 to stop the escalation and take command',
    url: 'https://correx.example.com/console/incidents/0b5b4d52-6a43-4bd4-8f4e-3c1b1f3f0a11',
    command: 'correx incident ack 0b5b4d52-6a43-4bd4-8f4e-3c1b1f3f0a11',
  },
};

describe('channel senders against a listener that checks the documented payloads', () => {
  const receiver = new ChannelReceiver('whsec-test');
  const env: Record<string, string> = {};
  let senders: ChannelSenders;
  beforeAll(async () => {
    await receiver.start();
    Object.assign(env, {
      SLACK_ONCALL_WEBHOOK: receiver.url('/slack/T000/B000/secretpart'),
      TEAMS_ONCALL_WEBHOOK: receiver.url('/teams/workflows/abc'),
      RELAY_SECRET: 'whsec-test',
    });
    senders = createChannelSenders({ secret: (name) => env[name], timeoutMs: 1_000 });
  });
  afterAll(async () => {
    await receiver.stop();
  });

  it('posts Slack a text fallback and Block Kit blocks with an Open in Correx link button', async () => {
    const result = await senders.slack!.send({ channel: 'slack', webhookEnv: 'SLACK_ONCALL_WEBHOOK' }, page);
    expect(result).toEqual({});
    expect(receiver.problems).toEqual([]);
    const [request] = receiver.accepted('/slack/T000/B000/secretpart');
    const message = SlackMessage.parse(request!.body);
    expect(request!.status).toBe(200);
    expect(message.text).toContain(page.action.url);
    expect(message.blocks.map((b) => b.type)).toEqual(['header', 'section', 'context', 'actions']);
    const [header, section, context, actions] = message.blocks as unknown as [
      { text: { text: string } },
      { text: { type: string; text: string } },
      { elements: { text: string }[] },
      { elements: { text: { text: string }; url: string }[] },
    ];
    expect(header.text.text).toBe(page.subject); // plain text: nothing to escape
    expect(section.text.type).toBe('mrkdwn');
    expect(section.text.text).toContain(`*${page.action.what}*`);
    expect(section.text.text).toContain(`\`${page.action.command}\``);
    expect(context.elements[0]!.text).toContain('SEV2');
    expect(actions.elements[0]).toMatchObject({ text: { text: 'Open in Correx' }, url: page.action.url });
  });

  it("escapes Slack's control characters in mrkdwn", async () => {
    await senders.slack!.send({ channel: 'slack', webhookEnv: 'SLACK_ONCALL_WEBHOOK' }, { ...page, text: 'rate <2% & >1%: see <!channel>' });
    const last = receiver.accepted('/slack/T000/B000/secretpart').at(-1)!;
    const section = (last.body as { blocks: { type: string; text: { text: string } }[] }).blocks[1]!;
    expect(section.text.text).toContain('rate &lt;2% &amp; &gt;1%: see &lt;!channel&gt;');
  });

  it('posts Teams a message with one Adaptive Card: TextBlocks, a FactSet and an Action.OpenUrl', async () => {
    await senders.teams!.send({ channel: 'teams', webhookEnv: 'TEAMS_ONCALL_WEBHOOK' }, page);
    expect(receiver.problems).toEqual([]);
    const [request] = receiver.accepted('/teams/workflows/abc');
    expect(request!.status).toBe(202);
    const card = TeamsMessage.parse(request!.body).attachments[0]!.content;
    expect(card.version).toBe('1.4');
    expect(card.body[0]).toMatchObject({ type: 'TextBlock', text: page.subject });
    const facts = card.body.find((b) => b.type === 'FactSet') as { facts: { title: string; value: string }[] };
    expect(facts.facts).toEqual(
      expect.arrayContaining([
        { title: 'Incident', value: page.incidentId },
        { title: 'Severity', value: 'SEV2' },
        { title: 'In a terminal', value: page.action.command },
      ]),
    );
    expect(card.actions).toEqual([{ type: 'Action.OpenUrl', title: 'Open in Correx', url: page.action.url }]);
  });

  it('signs the generic webhook so the relay can verify it, and names the delivery for deduplication', async () => {
    const contact = { channel: 'webhook' as const, url: receiver.url('/relay/sms'), secretEnv: 'RELAY_SECRET' };
    const first = await senders.webhook!.send(contact, page);
    const again = await senders.webhook!.send(contact, page);
    expect(receiver.problems).toEqual([]);
    const requests = receiver.accepted('/relay/sms');
    expect(requests).toHaveLength(2);
    expect(first.reference).toMatch(/^SM\d+$/);
    expect(again.reference).not.toBe(first.reference);
    for (const request of requests) {
      expect(request.headers['x-correx-delivery']).toBe(page.idempotencyKey);
      // Correx's own verifier agrees with the listener's independent one.
      expect(verifyPageSignature('whsec-test', request.headers['x-correx-signature'] as string, request.raw)).toBeUndefined();
      expect(verifyPageSignature('another-secret', request.headers['x-correx-signature'] as string, request.raw)).toMatch(/does not verify/);
      expect(verifyPageSignature('whsec-test', request.headers['x-correx-signature'] as string, `${request.raw} `)).toMatch(/does not verify/);
    }
    const body = RelayPage.parse(requests[0]!.body);
    expect(body).toMatchObject({
      id: page.idempotencyKey,
      incident: page.incidentId,
      person: page.person,
      subject: page.subject,
      link: page.action.url,
      command: page.action.command,
      severity: 'SEV2',
      reason: 'escalation',
    });
    // A retry is the same page: the same id, the same delivery header.
    expect((requests[1]!.body as { id: string }).id).toBe(body.id);
  });

  it('refuses a wrongly signed page at the relay (the listener really checks)', async () => {
    const wrong = createChannelSenders({ secret: (name) => (name === 'RELAY_SECRET' ? 'not-the-secret' : undefined) });
    await expect(wrong.webhook!.send({ channel: 'webhook', url: receiver.url('/relay/strict'), secretEnv: 'RELAY_SECRET' }, page)).rejects.toThrow(
      /page webhook at 127\.0\.0\.1:\d+ answered HTTP 401: signature does not verify/,
    );
    receiver.received.splice(0); // the refusal above is the expected one
  });

  it("says what went wrong: the HTTP status and the answer's first words, never the webhook URL", async () => {
    receiver.fail('/slack/T000/B000/secretpart', 404, 'no_service');
    const error = await senders.slack!.send({ channel: 'slack', webhookEnv: 'SLACK_ONCALL_WEBHOOK' }, page).catch((e: Error) => e);
    receiver.recover('/slack/T000/B000/secretpart');
    expect((error as Error).message).toBe('the Slack webhook answered HTTP 404: no_service');
    expect((error as Error).message).not.toContain('secretpart');

    receiver.fail('/teams/workflows/abc', 500, `{"error":{"code":"TriggerFailed","message":"${'x'.repeat(400)}"}}`);
    const teamsError = await senders.teams!.send({ channel: 'teams', webhookEnv: 'TEAMS_ONCALL_WEBHOOK' }, page).catch((e: Error) => e);
    receiver.recover('/teams/workflows/abc');
    expect((teamsError as Error).message).toMatch(/^the Teams webhook answered HTTP 500: \{"error":\{"code":"TriggerFailed".{100,}…$/);
    expect((teamsError as Error).message.length).toBeLessThan(260);
  });

  it('names a missing environment variable', async () => {
    await expect(senders.slack!.send({ channel: 'slack', webhookEnv: 'SLACK_NOT_SET' }, page)).rejects.toThrow(
      "environment variable SLACK_NOT_SET is not set (the slack contact's webhookEnv)",
    );
    await expect(senders.webhook!.send({ channel: 'webhook', url: receiver.url('/relay/sms'), secretEnv: 'NOT_SET_EITHER' }, page)).rejects.toThrow(
      "environment variable NOT_SET_EITHER is not set (the webhook contact's secretEnv)",
    );
  });

  it('gives up on a listener that does not answer within the timeout', async () => {
    receiver.hang('/teams/slow');
    env.TEAMS_SLOW = receiver.url('/teams/slow');
    const started = Date.now();
    await expect(senders.teams!.send({ channel: 'teams', webhookEnv: 'TEAMS_SLOW' }, page)).rejects.toThrow('the Teams webhook did not answer within 1 s');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('says when nothing listens', async () => {
    const closed = await new ChannelReceiver().start();
    env.SLACK_GONE = closed.url('/services/x');
    await closed.stop();
    await expect(senders.slack!.send({ channel: 'slack', webhookEnv: 'SLACK_GONE' }, page)).rejects.toThrow(
      'the Slack webhook could not be reached: ECONNREFUSED',
    );
  });
});
