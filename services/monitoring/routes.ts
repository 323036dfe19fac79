import { z } from 'zod';
import { readers } from '../access/roles.js';
import { InvalidInput } from '../errors.js';
import { actorOf, NotFound, type CorrexApp, type RouteDependencies } from '../http/app.js';
import { SystemId } from '../incident/schema.js';
import { InstantInput } from '../instant.js';
import { IncidentParams, incidentOr404 } from '../incident/routes.js';
import { AlertPage, incidentAlerts } from './alerts.js';
import { SignalInput } from './signal.js';
import { MonitorView, monitorView, SilenceView, silenceView } from './view.js';

const SystemParams = z.strictObject({ systemId: SystemId });
const SilenceBody = z
  .strictObject({
    reason: z.string().trim().min(1, 'say why').max(2000),
    endsAt: InstantInput.refine((endsAt) => Date.parse(endsAt) > Date.now(), 'must be in the future'),
    matchers: z.record(z.string().min(1), z.string()).default({}).describe('Labels a signal must carry, all of them, to be held back'),
    trigger: z.string().min(1).optional().describe('Only signals matching this trigger (its id in the runbook) are held back'),
  })
  // The monitor refuses a silence that would hold back everything; the schema says so first.
  .refine((silence) => Object.keys(silence.matchers).length > 0 || silence.trigger !== undefined, {
    path: ['matchers'],
    message: 'give label matchers or a trigger, so the silence cannot hold back every signal by accident',
  })
  .meta({ anyOf: [{ required: ['matchers'], properties: { matchers: { minProperties: 1 } } }, { required: ['trigger'] }] });

const SignalAccepted = z.strictObject({
  signalId: z.uuid(),
  duplicate: z.boolean().describe('True when a signal with the same idempotency key was stored before: it counts once'),
});
const monitorLink = (systemId: string) => ({ monitor: { operationId: 'getMonitor', parameters: { systemId } } });

export function monitoringRoutes(app: CorrexApp, deps: RouteDependencies): void {
  const tags = ['monitoring'];
  const systemOr404 = async (systemId: string) => {
    if (!(await deps.runbooks.find(systemId))) throw new NotFound(`no runbook defines system '${systemId}'`);
  };

  app.post('/v1/signals', {
    config: { access: ['ingest', 'responder', 'admin'], links: { 202: monitorLink('$request.body#/systemId') } },
    schema: {
      tags,
      operationId: 'sendSignal',
      summary: "A signal in Correx's own format; the system's monitor decides whether it opens, joins, acknowledges or resolves an incident",
      body: SignalInput,
      response: { 202: SignalAccepted.describe("Stored; handed to the system's monitor next") },
    },
    handler: async (request, reply) => {
      if (request.principal?.systemId && request.principal.systemId !== request.body.systemId) {
        throw new InvalidInput([{ path: 'body.systemId', message: `this key sends for ${request.principal.systemId} only` }]);
      }
      try {
        return reply.code(202).send(await deps.monitor.deliverChecked(request.body));
      } catch (error) {
        throw error instanceof InvalidInput ? error.within('body') : error;
      }
    },
  });

  app.post('/v1/systems/:systemId/silences', {
    config: { access: ['responder', 'admin'], alsoAnswers: [409], links: { 201: monitorLink('$request.path.systemId') } },
    schema: {
      tags,
      operationId: 'createSilence',
      summary: 'Silence matching signals until endsAt: recorded, never paged',
      params: SystemParams,
      body: SilenceBody,
      response: { 201: SilenceView.describe('The silence, in force until endsAt') },
    },
    handler: async (request, reply) => {
      await systemOr404(request.params.systemId);
      const silence = await deps.monitor.silence(request.params.systemId, { ...request.body, owner: actorOf(request) });
      return reply.code(201).send(silenceView(silence));
    },
  });

  app.get('/v1/incidents/:id/alerts', {
    config: { access: readers },
    schema: {
      tags,
      operationId: 'listIncidentAlerts',
      summary: "An incident's alerts: each as its sender names it, how it stands, first and last seen",
      params: IncidentParams,
      response: { 200: AlertPage },
    },
    handler: async (request) => {
      await incidentOr404(deps.db, request.params.id);
      return { items: await incidentAlerts(deps.db, request.params.id) };
    },
  });

  app.get('/v1/systems/:systemId/monitor', {
    config: { access: readers },
    schema: {
      tags,
      operationId: 'getMonitor',
      summary: "The system monitor's live state: open groups, windows, silences",
      description: 'A system whose monitor has had no signal or silence yet has no state to show: 404.',
      params: SystemParams,
      response: { 200: MonitorView.describe("The monitor's live state") },
    },
    handler: async (request) => {
      await systemOr404(request.params.systemId);
      return monitorView(await deps.monitor.state(request.params.systemId));
    },
  });
}
