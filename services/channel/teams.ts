import type { ContactMethod } from './kinds.js';
import { ChannelDeliveryError, postJson, requireSecret, type ChannelSender, type PageMessage, type SenderOptions } from './delivery.js';

type TeamsContact = Extract<ContactMethod, { channel: 'teams' }>;

/**
 * The body a Microsoft Teams Workflows webhook ("When a Teams webhook request is received", then
 * "Post card in a chat or channel") is sent: a `message` whose one attachment is an Adaptive Card
 * (schema 1.4): the subject, what to do, the page's text, a fact set, and an `Action.OpenUrl` to the
 * console. Workflows accept Adaptive Cards only, not the older connector MessageCard.
 */
export function teamsMessage(page: PageMessage) {
  const facts = [
    { title: 'Incident', value: page.incidentId },
    ...(page.severity ? [{ title: 'Severity', value: page.severity }] : []),
    { title: 'Why', value: page.reason.replace(/-/g, ' ') },
    { title: 'Paged', value: page.person.name },
    ...(page.action.command ? [{ title: 'In a terminal', value: page.action.command }] : []),
  ];
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            { type: 'TextBlock', text: page.subject, size: 'Medium', weight: 'Bolder', wrap: true },
            { type: 'TextBlock', text: page.action.what, weight: 'Bolder', color: 'Attention', wrap: true },
            { type: 'TextBlock', text: page.text, wrap: true },
            { type: 'FactSet', facts },
          ],
          actions: [{ type: 'Action.OpenUrl', title: 'Open in Correx', url: page.action.url }],
        },
      },
    ],
  };
}

/**
 * Pages through a Teams Workflows webhook (the URL in the contact's `webhookEnv`). The flow's trigger
 * answers 202 Accepted (some 200) once it has taken the request; anything else is a failure.
 */
export function createTeamsSender(options: SenderOptions): ChannelSender {
  return {
    async send(contact, page) {
      if (contact.channel !== 'teams') throw new ChannelDeliveryError('teams', `the teams sender was given a ${contact.channel} contact`);
      const url = requireSecret('teams', options.secret, (contact as TeamsContact).webhookEnv);
      await postJson('teams', 'the Teams webhook', url, JSON.stringify(teamsMessage(page)), {
        ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
        accepted: (status) => status === 200 || status === 202,
      });
      return {};
    },
  };
}
