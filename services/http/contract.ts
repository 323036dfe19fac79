import type { FastifyBaseLogger, RouteOptions } from 'fastify';
import { ResponseSerializationError } from 'fastify-type-provider-zod';
import type { OpenAPIV3_1 } from 'openapi-types';
import { z } from 'zod';
import type { Access } from '../access/roles.js';
// PagerDuty Events API v2 answers its own shapes, which PagerDuty's clients parse.
import { PagerDutyError } from '../ingest/pagerduty.js';

/**
 * The API's contract beyond what zod states per route: which error statuses each operation can answer
 * (all of them problem+json), and the OpenAPI links that let a client chain create → act → read.
 * Everything here is derived from how the route is declared, so the document cannot drift from the
 * code that answers: a bearer route can answer 401 and 403, a route with a path parameter 404, one
 * with input 400, and so on. What only the handler knows (a refusal, 409) it declares in `alsoAnswers`.
 */

/** The error statuses a route can answer besides the ones derived from its declaration. */
export type DeclaredErrorStatus = 404 | 409 | 422 | 503;

/** An OpenAPI link from one of a route's success responses to another operation, by its operationId. */
export interface ContractLink {
  operationId: string;
  /** Parameter name → runtime expression, e.g. `{ id: '$response.body#/incidentId' }`. */
  parameters: Record<string, string>;
  description?: string;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Statuses only the handler knows it may answer (a refusal is 409); the rest are derived. */
    alsoAnswers?: readonly DeclaredErrorStatus[];
    /** Links from a success status's response to the operations a client would call next. */
    links?: Partial<Record<200 | 201 | 202, Record<string, ContractLink>>>;
  }
}

export const ProblemBody = z.object({
  type: z.string().describe('`about:blank`: the status and title say what happened'),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional().describe('What to do about it, in words'),
  errors: z
    .array(z.object({ path: z.string().describe('e.g. `body.scope.tiers.0`'), message: z.string() }))
    .optional()
    .describe('Each failing field of a 400'),
});

/**
 * The longest path segment the server takes: a longer one is answered 400 before any route sees it
 * (Fastify's `maxParamLength`). Every path parameter says so in the document, whatever its own schema.
 */
export const maxPathSegment = 100;

const errorTitles: Record<number, string> = {
  400: 'The request is invalid: `errors` names each failing field',
  401: 'No token, or one that is unknown, revoked or expired',
  403: "The token's roles do not allow this",
  404: 'Nothing by that id',
  409: 'Refused in the current state: `detail` says why',
  413: 'The body is larger than 1 MiB',
  415: 'The body is not application/json',
  422: 'The Idempotency-Key was used before with a different request',
  429: 'Rate limit reached: retry after the Retry-After header',
  503: 'The database does not answer, or the accepted write is not recorded yet: retry after the Retry-After header',
};

interface RouteContract {
  access: Access;
  errorFormat: 'problem' | 'pagerduty';
  hasInput: boolean;
  hasBody: boolean;
  /** The body schema accepts no body at all (an action whose reason is optional). */
  bodyOptional: boolean;
  hasPathParameters: boolean;
  rateLimited: boolean;
  alsoAnswers: readonly DeclaredErrorStatus[];
  links: NonNullable<RouteOptions['config']>['links'];
}

/** What the document needs of each route, collected as routes are added (`onRoute`). */
export class ApiContract {
  private readonly routes = new Map<string, RouteContract>();

  add(route: RouteOptions): void {
    const config = route.config ?? {};
    const schema = (route.schema ?? {}) as Record<string, unknown>;
    if (schema.hide || !config.access) return;
    const methods = [route.method].flat().filter((method) => method !== 'HEAD');
    for (const method of methods) {
      this.routes.set(`${method.toLowerCase()} ${openApiPath(route.url)}`, {
        access: config.access,
        errorFormat: config.errorFormat ?? 'problem',
        hasInput: Boolean(schema.body || schema.querystring || schema.params || schema.headers),
        hasBody: method === 'POST' || method === 'PUT' || method === 'PATCH',
        bodyOptional: schema.body instanceof z.ZodType && schema.body.safeParse(undefined).success,
        hasPathParameters: route.url.includes(':'),
        rateLimited: config.rateLimit !== false,
        alsoAnswers: config.alsoAnswers ?? [],
        links: config.links,
      });
    }
  }

  /** Fills in each operation's error responses and links (the swagger plugin's `transformObject`). */
  complete(document: OpenAPIV3_1.Document): OpenAPIV3_1.Document {
    const problem = { $ref: '#/components/schemas/Problem' };
    document.components = {
      ...document.components,
      schemas: {
        ...document.components?.schemas,
        Problem: z.toJSONSchema(ProblemBody, { target: 'draft-2020-12' }) as OpenAPIV3_1.SchemaObject,
        PagerDutyError: z.toJSONSchema(PagerDutyError, { target: 'draft-2020-12' }) as OpenAPIV3_1.SchemaObject,
      },
    };
    for (const [path, item] of Object.entries(document.paths ?? {})) {
      for (const [method, operation] of Object.entries(item ?? {}) as [string, OpenAPIV3_1.OperationObject][]) {
        const route = this.routes.get(`${method} ${path}`);
        if (!route || typeof operation !== 'object' || !operation.responses) continue;
        forEachRequestSchema(operation, refuseNul);
        for (const parameter of (operation.parameters ?? []) as OpenAPIV3_1.ParameterObject[])
          if (parameter.in === 'path') forEachSchema(parameter.schema, boundPathSegment);
        // The swagger plugin marks every body required; these routes act the same without one.
        if (route.bodyOptional && operation.requestBody && 'content' in operation.requestBody) operation.requestBody.required = false;
        for (const status of errorStatuses(route)) {
          if (operation.responses[status]) continue;
          const pagerDuty = route.errorFormat === 'pagerduty' && (status === 400 || status === 429);
          operation.responses[status] = {
            description: errorTitles[status]!,
            content: pagerDuty
              ? { 'application/json': { schema: { $ref: '#/components/schemas/PagerDutyError' } } }
              : { 'application/problem+json': { schema: problem } },
          };
        }
        for (const [status, links] of Object.entries(route.links ?? {})) {
          const response = operation.responses[status] as OpenAPIV3_1.ResponseObject | undefined;
          if (!response || !links) continue;
          response.links = Object.fromEntries(
            Object.entries(links).map(([name, link]) => [
              name,
              { operationId: link.operationId, parameters: link.parameters, ...(link.description ? { description: link.description } : {}) },
            ]),
          );
        }
      }
    }
    return document;
  }
}

/**
 * Every request string is refused with NUL in it (PostgreSQL text cannot hold one: see `illFormedText`
 * in server.ts), a rule of the whole API rather than of a field. Said in each free string's schema, so
 * a client (or a fuzzer) knows it before it sends one; strings with a pattern, format or enum already
 * exclude it.
 */
function refuseNul(schema: Record<string, unknown>): void {
  const isString = schema.type === 'string' || (Array.isArray(schema.type) && schema.type.includes('string'));
  if (isString && schema.pattern === undefined && schema.format === undefined && schema.enum === undefined && schema.const === undefined)
    schema.pattern = '^[^\\u0000]*$';
}

function boundPathSegment(schema: Record<string, unknown>): void {
  if (schema.type === 'string' && schema.format !== 'uuid' && !(typeof schema.maxLength === 'number' && schema.maxLength <= maxPathSegment))
    schema.maxLength = maxPathSegment;
}

function forEachSchema(node: unknown, visit: (schema: Record<string, unknown>) => void): void {
  if (Array.isArray(node)) return node.forEach((inner) => forEachSchema(inner, visit));
  if (node === null || typeof node !== 'object') return;
  const schema = node as Record<string, unknown>;
  visit(schema);
  for (const key of ['items', 'additionalProperties', 'not', 'contains', 'propertyNames', 'anyOf', 'oneOf', 'allOf', 'prefixItems'])
    forEachSchema(schema[key], visit);
  if (schema.properties && typeof schema.properties === 'object') forEachSchema(Object.values(schema.properties), visit);
}

function forEachRequestSchema(operation: OpenAPIV3_1.OperationObject, visit: (schema: Record<string, unknown>) => void): void {
  for (const parameter of operation.parameters ?? []) forEachSchema((parameter as OpenAPIV3_1.ParameterObject).schema, visit);
  const body = operation.requestBody as OpenAPIV3_1.RequestBodyObject | undefined;
  for (const media of Object.values(body?.content ?? {})) forEachSchema(media.schema, visit);
}

function errorStatuses(route: RouteContract): number[] {
  const statuses = new Set<number>(route.alsoAnswers);
  if (route.hasInput) statuses.add(400);
  if (Array.isArray(route.access)) {
    statuses.add(401);
    statuses.add(403);
  }
  if (route.access === 'integration-key') statuses.add(400);
  if (route.hasPathParameters) statuses.add(404);
  if (route.hasBody) {
    statuses.add(400);
    statuses.add(413);
    statuses.add(415);
  }
  if (route.rateLimited) statuses.add(429);
  // Every route but the liveness probe reads the database or a workflow, either of which can be away.
  if (route.rateLimited || route.access !== 'public') statuses.add(503);
  return [...statuses].sort();
}

function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/**
 * Serializes a success body through its documented schema. A body that does not match is a defect in
 * the contract, not the client's problem: in production it is logged and sent anyway (the client gets
 * what the handler produced, not a 500), while tests run strict so the mismatch fails them.
 */
export function contractSerializer(options: { strict: boolean; log: () => FastifyBaseLogger }) {
  return ({ schema, method, url }: { schema: unknown; method: string; url: string }) => {
    const zodSchema = schema as z.ZodType;
    return (data: unknown): string => {
      const result = zodSchema.safeEncode(data);
      if (result.success) return JSON.stringify(result.data);
      if (options.strict) throw new ResponseSerializationError(method, url, { cause: result.error });
      options.log().error({ method, url, issues: result.error.issues.slice(0, 5) }, 'response does not match its documented schema');
      return JSON.stringify(data);
    };
  };
}
