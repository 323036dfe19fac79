/**
 * `npm run docs:openapi`: writes the API's OpenAPI document to docs/openapi.json from the routes
 * themselves, so the contract can be read, diffed in review and fed to client generators.
 * test/http/openapi.test.ts fails when the file is out of date.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { apiDocument } from '../services/http/document.js';
import { projectRoot } from '../services/project-root.js';

const document = await apiDocument();
const target = path.join(projectRoot, 'docs', 'openapi.json');
await writeFile(target, `${JSON.stringify(document, null, 2)}\n`);
process.stdout.write(`wrote ${path.relative(process.cwd(), target)} (${Object.keys(document.paths ?? {}).length} paths)\n`);
