import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Kysely, PostgresDialect } from 'kysely';
import type { OpenAPIV3_1 } from 'openapi-types';
import pg from 'pg';
import type { Database } from '../db/schema.js';
import { generateSigningKey } from '../export/signing.js';
import { projectRoot } from '../project-root.js';
import { RunbookCatalogue } from '../runbook/catalogue.js';
import { buildHttpService } from './server.js';

/** The API's OpenAPI document, built from the routes alone: no database or Temporal server is contacted. */
export async function apiDocument(): Promise<OpenAPIV3_1.Document> {
  // Neither connects until used, and building the routes uses neither.
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool() }) });
  const connection = Connection.lazy();
  const app = await buildHttpService({
    db,
    databaseBackend: 'postgres',
    temporal: { client: new Client({ connection }), connection, address: 'unused', taskQueue: 'unused' },
    runbooks: new RunbookCatalogue(path.join(projectRoot, 'runbooks')),
    signingKey: generateSigningKey(),
  });
  try {
    return app.swagger() as OpenAPIV3_1.Document;
  } finally {
    await app.close();
    await db.destroy();
  }
}
