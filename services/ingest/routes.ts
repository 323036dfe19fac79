import { randomUUID } from 'node:crypto';
import { authenticate } from '../access/repository.js';
import { InvalidInput } from '../errors.js';
import type { CorrexApp, RouteDependencies } from '../http/app.js';
import { latestFiringPagerDutySignal } from '../monitoring/repository.js';
import type { SignalInput } from '../monitoring/signal.js';
import { AlertmanagerAccepted, AlertmanagerWebhook, alertmanagerSignals } from './alertmanager.js';
import { integrationKeySender, PagerDutyChangeAccepted, PagerDutyChangeEvent, recordChangeEvent } from './change-events.js';
import { PagerDutyAccepted, PagerDutyEvent, pagerDutySignal, type EarlierTrigger } from './pagerduty.js';

/** Signals from other tools: validated and stored before 202 is sent, then handed to their system's monitor. */
export function ingestRoutes(app: CorrexApp, deps: RouteDependencies): void {
  const tags = ['ingestion'];

  const systemsKnown = async (signals: SignalInput[], path: (index: number) => string) => {
    const unknown = [];
    for (const [index, signal] of signals.entries()) {
      if (!(await deps.runbooks.find(signal.systemId))) unknown.push({ path: path(index), message: `no runbook defines system '${signal.systemId}'` });
    }
    if (unknown.length) throw new InvalidInput(unknown);
  };

  app.post('/v1/ingest/alertmanager', {
    config: { access: ['ingest', 'admin'] },
    schema: {
      tags,
      operationId: 'ingestAlertmanager',
      summary: "Alertmanager's webhook (version 4): point a webhook_configs receiver here with a bearer token",
      body: AlertmanagerWebhook,
      response: { 202: AlertmanagerAccepted.describe("Every alert stored; each is handed to its system's monitor next") },
    },
    handler: async (request, reply) => {
      let signals: SignalInput[];
      try {
        signals = alertmanagerSignals(request.body, request.principal?.systemId ?? null);
        await systemsKnown(signals, (index) => `alerts.${index}.labels.system`);
      } catch (error) {
        throw error instanceof InvalidInput ? error.within('body') : error;
      }
      const delivered = await deps.monitor.deliverAllChecked(signals);
      const duplicates = delivered.filter((d) => d.duplicate).length;
      return reply.code(202).send({ accepted: signals.length, duplicates, truncatedAlerts: request.body.truncatedAlerts });
    },
  });

  app.post('/v2/enqueue', {
    config: { access: 'integration-key', errorFormat: 'pagerduty' },
    bodyLimit: 512 * 1024,
    schema: {
      tags,
      operationId: 'enqueuePagerDutyEvent',
      summary: 'PagerDuty Events API v2: trigger, acknowledge, resolve. The routing key is a Correx integration key, which selects the system.',
      description: "Answers in PagerDuty's own format, not problem+json: 202 as below, 400 and 429 as PagerDutyError.",
      body: PagerDutyEvent,
      response: { 202: PagerDutyAccepted.describe('Event processed (as PagerDuty answers)') },
    },
    handler: async (request, reply) => {
      const event = request.body;
      const auth = await authenticate(deps.db, event.routing_key);
      // Answered as PagerDuty does (the route's errorFormat), like every other invalid event.
      if (!('principal' in auth) || !auth.principal.systemId || !auth.principal.roles.includes('ingest')) {
        throw new InvalidInput([{ path: '', message: 'Invalid routing key' }]);
      }
      const systemId = auth.principal.systemId;
      const dedupKey = event.dedup_key ?? randomUUID();
      let earlier: EarlierTrigger | undefined;
      if (event.event_action !== 'trigger') {
        const row = await latestFiringPagerDutySignal(deps.db, systemId, dedupKey);
        // PagerDuty drops acknowledge and resolve for keys it has no alert for; so do we.
        if (!row) return reply.code(202).send({ status: 'success', message: 'Event processed', dedup_key: dedupKey });
        earlier = { labels: row.labels ?? {}, severity: row.severity ?? undefined };
      }
      await deps.monitor.deliverChecked(pagerDutySignal(event, systemId, dedupKey, earlier, new Date()));
      return reply.code(202).send({ status: 'success', message: 'Event processed', dedup_key: dedupKey });
    },
  });

  app.post('/v2/change/enqueue', {
    config: { access: 'integration-key', errorFormat: 'pagerduty' },
    bodyLimit: 512 * 1024,
    schema: {
      tags,
      operationId: 'enqueuePagerDutyChangeEvent',
      summary: "PagerDuty Change Events API: a change (deploy, config push) recorded as context on the system's incidents; pages nobody",
      description:
        "Answers in PagerDuty's own format, not problem+json: 202 as below, 400 and 429 as PagerDutyError. The change lands on the timeline of the system's open incidents (and of those opening within the hour after it) as change.recorded.",
      body: PagerDutyChangeEvent,
      response: { 202: PagerDutyChangeAccepted.describe('Change event processed (as PagerDuty answers), with the id Correx stored it under') },
    },
    handler: async (request, reply) => {
      const sender = await integrationKeySender(deps.db, request.body.routing_key);
      const { id } = await recordChangeEvent(deps.db, request.body, sender.systemId, sender.owner, new Date());
      return reply.code(202).send({ status: 'success', message: 'Change event processed', id });
    },
  });
}
