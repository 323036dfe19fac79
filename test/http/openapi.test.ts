import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { OpenAPIV3_1 } from 'openapi-types';
import { beforeAll, describe, expect, it } from 'vitest';
import { maxPathSegment } from '../../services/http/contract.js';
import { apiDocument, apiTypes } from '../../services/http/document.js';
import { projectRoot } from '../../services/project-root.js';

type Operation = OpenAPIV3_1.OperationObject & { method: string; path: string };

/**
 * The published contract: each operation names every status it can answer with the body it answers
 * with, and links a client from what it creates to what it can do next. What is documented is checked
 * against what is answered by the strict serializer in every API test (test/support/api.ts) and by
 * schemathesis in CI (scripts/schemathesis.sh).
 */
describe('the OpenAPI contract', () => {
  let document: OpenAPIV3_1.Document;
  let operations: Operation[];

  beforeAll(async () => {
    document = await apiDocument();
    operations = Object.entries(document.paths ?? {}).flatMap(([route, item]) =>
      Object.entries(item ?? {}).map(([method, op]) => ({ ...(op as OpenAPIV3_1.OperationObject), method, path: route })),
    );
  });

  it('is written to docs/openapi.json as the routes declare it, with its generated client types (npm run docs:openapi)', async () => {
    const written = JSON.parse(await readFile(path.join(projectRoot, 'docs', 'openapi.json'), 'utf8')) as unknown;
    expect(written, 'docs/openapi.json is out of date: run npm run docs:openapi').toEqual(JSON.parse(JSON.stringify(document)));
    const types = await readFile(path.join(projectRoot, 'test', 'support', 'openapi.d.ts'), 'utf8');
    expect(types === (await apiTypes(document)), 'test/support/openapi.d.ts is out of date: run npm run docs:openapi').toBe(true);
  });

  it('names every operation, uniquely', () => {
    const unnamed = operations.filter((op) => !op.operationId).map((op) => `${op.method.toUpperCase()} ${op.path}`);
    expect(unnamed).toEqual([]);
    const ids = operations.map((op) => op.operationId);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });

  it('documents a success response with its body for every operation', () => {
    const missing = operations
      .filter((op) => {
        const successes = Object.entries(op.responses ?? {}).filter(([status]) => status.startsWith('2'));
        return successes.length === 0 || successes.some(([, response]) => !('content' in response) || !response.content);
      })
      .map((op) => `${op.method.toUpperCase()} ${op.path}`);
    expect(missing).toEqual([]);
  });

  it('documents the errors each kind of route can answer, as problem+json', () => {
    const gaps: string[] = [];
    for (const op of operations) {
      const statuses = Object.keys(op.responses ?? {});
      const name = `${op.method.toUpperCase()} ${op.path}`;
      const bearer = (op.security ?? []).length > 0;
      const expected = [
        ...(bearer ? ['401', '403'] : []),
        ...(op.path.includes('{') ? ['404'] : []),
        ...(op.method === 'post' ? ['400', '413', '415'] : []),
        ...(op.parameters?.length || op.requestBody ? ['400'] : []),
      ];
      for (const status of expected) if (!statuses.includes(status)) gaps.push(`${name} ${status}`);
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        // PagerDuty's clients parse its own error shape; a health probe's 503 is its report of what is down.
        const ownFormat =
          op.path === '/v2/enqueue' || op.path === '/v2/change/enqueue' || (status === '503' && (op.path === '/healthz' || op.path === '/readyz'));
        if (!/^[45]/.test(status) || ownFormat) continue;
        const content = (response as OpenAPIV3_1.ResponseObject).content ?? {};
        if (!content['application/problem+json']) gaps.push(`${name} ${status} is not problem+json`);
      }
    }
    expect(gaps).toEqual([]);
    expect(document.components?.schemas?.Problem).toMatchObject({ type: 'object', required: ['type', 'title', 'status'] });
  });

  it('says in each free request string that NUL is refused, as the edge refuses it for every field', () => {
    const trigger = operations.find((op) => op.operationId === 'triggerIncident')!;
    const body = (trigger.requestBody as OpenAPIV3_1.RequestBodyObject).content['application/json']!.schema as OpenAPIV3_1.SchemaObject;
    const title = body.properties!.title as OpenAPIV3_1.SchemaObject;
    expect(title.pattern).toBe('^[^\\u0000]*$');
    expect(new RegExp(title.pattern!).test('x\u0000y')).toBe(false);
    // A string with its own pattern keeps it: the pattern already excludes NUL.
    expect((body.properties!.systemId as OpenAPIV3_1.SchemaObject).pattern).toBe('^[a-z0-9][a-z0-9-]{0,62}$');
  });

  it('bounds every path parameter to the longest path segment the server takes, so no valid request is refused 414', () => {
    const unbounded: string[] = [];
    const lengthOf = (schema: OpenAPIV3_1.SchemaObject): number | undefined =>
      schema.anyOf
        ? Math.max(...schema.anyOf.map((branch) => lengthOf(branch as OpenAPIV3_1.SchemaObject) ?? Infinity))
        : schema.format === 'uuid'
          ? 36
          : schema.maxLength;
    for (const op of operations)
      for (const parameter of (op.parameters ?? []) as OpenAPIV3_1.ParameterObject[]) {
        if (parameter.in !== 'path') continue;
        const length = lengthOf(parameter.schema as OpenAPIV3_1.SchemaObject);
        if (length === undefined || length > maxPathSegment) unbounded.push(`${op.method} ${op.path} ${parameter.name}: ${length}`);
      }
    expect(unbounded).toEqual([]);
    // The calendar secret is the one with a prefix: its own pattern fits the bound as well.
    const feed = operations.find((op) => op.operationId === 'getCalendarFeed')!;
    const secret = ((feed.parameters ?? []) as OpenAPIV3_1.ParameterObject[]).find((p) => p.name === 'secret')!.schema as OpenAPIV3_1.SchemaObject;
    expect(new RegExp(secret.pattern!).test(`cal_${'a'.repeat(maxPathSegment - 4)}`)).toBe(true);
    expect(new RegExp(secret.pattern!).test(`cal_${'a'.repeat(maxPathSegment - 3)}`)).toBe(false);
  });

  it('links each created resource to the operations that act on it, with parameters those operations take', () => {
    const byId = new Map(operations.map((op) => [op.operationId, op]));
    const broken: string[] = [];
    let links = 0;
    for (const op of operations) {
      for (const [status, response] of Object.entries(op.responses ?? {})) {
        for (const [name, link] of Object.entries((response as OpenAPIV3_1.ResponseObject).links ?? {})) {
          links++;
          const target = byId.get((link as OpenAPIV3_1.LinkObject).operationId);
          if (!target) {
            broken.push(`${op.operationId} ${status} ${name}: no operation ${(link as OpenAPIV3_1.LinkObject).operationId}`);
            continue;
          }
          const taken = new Set((target.parameters ?? []).map((p) => (p as OpenAPIV3_1.ParameterObject).name));
          for (const parameter of Object.keys((link as OpenAPIV3_1.LinkObject).parameters ?? {}))
            if (!taken.has(parameter)) broken.push(`${op.operationId} ${status} ${name}: ${target.operationId} takes no ${parameter}`);
        }
      }
    }
    expect(broken).toEqual([]);
    const linked = (operationId: string) =>
      Object.values(byId.get(operationId)?.responses ?? {}).some((r) => Object.keys((r as OpenAPIV3_1.ResponseObject).links ?? {}).length > 0);
    // The chains a client follows: trigger → propose → decide → lift, token → revoke, drill → read.
    for (const operationId of ['triggerIncident', 'proposeCorrection', 'createToken', 'startDrill']) expect(linked(operationId), operationId).toBe(true);
    expect(links).toBeGreaterThan(8);
  });
});
