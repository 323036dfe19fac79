/**
 * `npm run docs:openapi`: writes the API's OpenAPI document to docs/openapi.json from the routes
 * themselves, so the contract can be read, diffed in review and fed to client generators, and the
 * TypeScript types openapi-typescript generates from it to test/support/openapi.d.ts, which the
 * generated-client test calls the API through. test/http/openapi.test.ts fails when either is stale.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { apiDocument, apiTypes } from '../services/http/document.js';
import { projectRoot } from '../services/project-root.js';

const document = await apiDocument();
const targets = {
  document: path.join(projectRoot, 'docs', 'openapi.json'),
  types: path.join(projectRoot, 'test', 'support', 'openapi.d.ts'),
};
await writeFile(targets.document, `${JSON.stringify(document, null, 2)}\n`);
await writeFile(targets.types, await apiTypes(document));
for (const target of Object.values(targets)) process.stdout.write(`wrote ${path.relative(process.cwd(), target)}\n`);
