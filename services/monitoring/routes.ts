import { z } from 'zod';
import { readers } from '../access/roles.js';
import { InvalidInput } from '../errors.js';
import { actorOf, NotFound, type CorrexApp, type RouteDependencies } from '../http/app.js';
import { SystemId } from '../incident/schema.js';
import { SignalInput } from './signal.js';

const SystemParams = z.strictObject({ systemId: SystemId });
const SilenceBody = z.strictObject({
  reason: z.string().trim().min(1, 'say why').max(2000),
  endsAt: z.iso.datetime({ offset: true, message: 'must be an ISO 8601 time with offset' }),
  matchers: z.record(z.string().min(1), z.string()).default({}),
  trigger: z.string().min(1).optional(),
});

export function monitoringRoutes(app: CorrexApp, deps: RouteDependencies): void {
  const tags = ['monitoring'];
  const systemOr404 = async (systemId: string) => {
    if (!(await deps.runbooks.find(systemId))) throw new NotFound(`no runbook defines system '${systemId}'`);
  };

  app.post('/v1/signals', {
    config: { access: ['ingest', 'responder', 'admin'] },
    schema: {
      tags,
      summary: "A signal in Correx's own format; the system's monitor decides whether it opens, joins, acknowledges or resolves an incident",
      body: SignalInput,
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
    config: { access: ['responder', 'admin'] },
    schema: { tags, summary: 'Silence matching signals until endsAt: recorded, never paged', params: SystemParams, body: SilenceBody },
    handler: async (request, reply) => {
      await systemOr404(request.params.systemId);
      if (Date.parse(request.body.endsAt) <= Date.now()) throw new InvalidInput([{ path: 'body.endsAt', message: 'must be in the future' }]);
      const silence = await deps.monitor.silence(request.params.systemId, { ...request.body, owner: actorOf(request) });
      return reply.code(201).send(silence);
    },
  });

  app.get('/v1/systems/:systemId/monitor', {
    config: { access: readers },
    schema: { tags, summary: "The system monitor's live state: open groups, windows, silences", params: SystemParams },
    handler: async (request) => {
      await systemOr404(request.params.systemId);
      return deps.monitor.state(request.params.systemId);
    },
  });
}
