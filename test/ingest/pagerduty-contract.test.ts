import type { OpenAPIV3_1 } from 'openapi-types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CorrexApp } from '../../services/http/app.js';
import { PagerDutyError } from '../../services/ingest/pagerduty.js';
import { apiWithDatabaseDown } from '../support/database-down.js';

/**
 * PagerDuty Events v2 over the real HTTP service whose database is down. The handler's first step
 * is to look the routing key up in the database, so an event the service answers 400 without it
 * was refused by the body schema alone, which is the schema the OpenAPI document publishes.
 */
describe('PagerDuty Events v2: what each event action requires is in the schema, answered as PagerDuty does', () => {
  let app: CorrexApp;
  let close: () => Promise<void>;
  let document: OpenAPIV3_1.Document;
  const routingKey = 'f'.repeat(32);
  const post = (body: unknown) => app.inject({ method: 'POST', url: '/v2/enqueue', payload: body as object });

  beforeAll(async () => {
    // One event a minute per sender: the second valid event is throttled.
    ({ app, close } = await apiWithDatabaseDown({ rateLimit: { perMinute: 1, ingestPerMinute: 1 } }));
    document = app.swagger() as OpenAPIV3_1.Document;
  });
  afterAll(async () => {
    await close?.();
  });

  it('refuses an acknowledge or resolve without a dedup key by its schema, with a PagerDuty invalid-event body', async () => {
    for (const action of ['acknowledge', 'resolve']) {
      const refused = await post({ routing_key: routingKey, event_action: action });
      expect(refused.statusCode, refused.body).toBe(400);
      expect(refused.headers['content-type']).toMatch(/^application\/json/);
      expect(refused.json()).toEqual({ status: 'invalid event', message: 'Event object is invalid', errors: [`'dedup_key' is required for ${action} events`] });
      expect(PagerDutyError.safeParse(refused.json()).success).toBe(true);
    }
    const noPayload = await post({ routing_key: routingKey, event_action: 'trigger' });
    expect(noPayload.json()).toEqual({ status: 'invalid event', message: 'Event object is invalid', errors: ["'payload' is required for trigger events"] });
    const unknownAction = await post({ routing_key: routingKey, event_action: 'snooze', dedup_key: 'disk-1' });
    expect(unknownAction.json()).toMatchObject({ errors: ["'event_action' must be 'trigger', 'acknowledge' or 'resolve'"] });
  });

  it('takes the same acknowledge with its dedup key past the schema, to the handler, which needs the database', async () => {
    const reachesHandler = await post({ routing_key: routingKey, event_action: 'acknowledge', dedup_key: 'disk-1' });
    expect(reachesHandler.statusCode, reachesHandler.body).toBe(503);
    expect(reachesHandler.headers['content-type']).toMatch(/^application\/problem\+json/);
    // The one event this sender may send this minute is spent: the next is throttled, in PagerDuty's words.
    const throttled = await post({ routing_key: routingKey, event_action: 'resolve', dedup_key: 'disk-1' });
    expect(throttled.statusCode).toBe(429);
    expect(throttled.json()).toEqual({ status: 'throttle event', message: expect.any(String) });
    expect(PagerDutyError.safeParse(throttled.json()).success).toBe(true);
  });

  it('documents one body variant per event action, and the 400 and 429 bodies as PagerDutyError', () => {
    const operation = document.paths?.['/v2/enqueue']?.post;
    expect(operation?.operationId).toBe('enqueuePagerDutyEvent');
    const body = (operation?.requestBody as OpenAPIV3_1.RequestBodyObject).content['application/json']!.schema as OpenAPIV3_1.SchemaObject;
    const variants = (body.oneOf ?? []) as OpenAPIV3_1.SchemaObject[];
    const variantOf = (action: string) =>
      variants.find((v) => {
        const eventAction = v.properties?.event_action as OpenAPIV3_1.SchemaObject | undefined;
        return eventAction?.const === action || (eventAction?.enum?.length === 1 && eventAction.enum[0] === action);
      });
    expect(variantOf('acknowledge')?.required).toEqual(expect.arrayContaining(['routing_key', 'event_action', 'dedup_key']));
    expect(variantOf('resolve')?.required).toEqual(expect.arrayContaining(['routing_key', 'event_action', 'dedup_key']));
    expect(variantOf('trigger')?.required).toEqual(expect.arrayContaining(['routing_key', 'event_action', 'payload']));
    expect(variantOf('trigger')?.required).not.toContain('dedup_key');
    expect(variants).toHaveLength(3);

    const answers = operation?.responses ?? {};
    for (const status of ['400', '429'])
      expect((answers[status] as OpenAPIV3_1.ResponseObject).content).toEqual({
        'application/json': { schema: { $ref: '#/components/schemas/PagerDutyError' } },
      });
    expect(document.components?.schemas?.PagerDutyError).toMatchObject({ required: ['status', 'message'], additionalProperties: false });
    const accepted = (answers['202'] as OpenAPIV3_1.ResponseObject).content?.['application/json']?.schema as OpenAPIV3_1.SchemaObject;
    expect(accepted.required).toEqual(['status', 'message', 'dedup_key']);
  });
});
