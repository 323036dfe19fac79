import type { ContactMethod } from './kinds.js';
import { ChannelDeliveryError, postJson, requireSecret, type ChannelSender, type PageMessage, type SenderOptions } from './delivery.js';

type SlackContact = Extract<ContactMethod, { channel: 'slack' }>;

/** Slack's `mrkdwn` treats these three as control characters; everything else is literal. */
function mrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * The message a Slack incoming webhook is sent: `text` (the notification's and screen readers'
 * fallback) and Block Kit `blocks`: a header (plain text, at most 150 characters), a section in
 * mrkdwn (at most 3,000), a context line, and an actions block with one link button (label at most
 * 75 characters; a button with a `url` opens it, Slack still acknowledges the click to no one).
 */
export function slackMessage(page: PageMessage) {
  const facts = [
    `Incident \`${page.incidentId}\``,
    ...(page.severity ? [page.severity] : []),
    `paged for ${page.reason.replace(/-/g, ' ')}`,
    `to ${page.person.name}`,
  ];
  const todo = [`*${mrkdwn(page.action.what)}*`, ...(page.action.command ? [`Or in a terminal: \`${mrkdwn(page.action.command)}\``] : [])].join('\n');
  return {
    text: clip(`${page.subject}: ${page.action.what} ${page.action.url}`, 3000),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: clip(page.subject, 150), emoji: false } },
      { type: 'section', text: { type: 'mrkdwn', text: clip(`${todo}\n\n${mrkdwn(page.text)}`, 3000) } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: clip(mrkdwn(facts.join(' · ')), 3000) }] },
      {
        type: 'actions',
        elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open in Correx' }, url: page.action.url, action_id: 'correx-open', style: 'primary' }],
      },
    ],
  };
}

/**
 * Pages through a Slack incoming webhook (https://hooks.slack.com/services/…, the URL in the contact's
 * `webhookEnv`). Slack answers `200 ok`; a refusal is a 4xx with a word such as `invalid_payload`,
 * `channel_is_archived` or `no_service`, which the failure carries.
 */
export function createSlackSender(options: SenderOptions): ChannelSender {
  return {
    async send(contact, page) {
      if (contact.channel !== 'slack') throw new ChannelDeliveryError('slack', `the slack sender was given a ${contact.channel} contact`);
      const url = requireSecret('slack', options.secret, (contact as SlackContact).webhookEnv);
      await postJson('slack', 'the Slack webhook', url, JSON.stringify(slackMessage(page)), {
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
        accepted: (status) => status >= 200 && status < 300,
      });
      return {};
    },
  };
}
