import { createServer } from 'node:net';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from '../../services/db/schema.js';
import { generateSigningKey } from '../../services/export/signing.js';
import type { CorrexApp } from '../../services/http/app.js';
import { buildHttpService, type HttpServiceDependencies } from '../../services/http/server.js';
import { projectRoot } from '../../services/project-root.js';
import { RunbookCatalogue } from '../../services/runbook/catalogue.js';

/** A port nothing listens on: a database there refuses every connection. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The real HTTP service (strict responses, `app.inject`) over a database that refuses every connection
 * and a Temporal client that never connects on its own. What it answers without 503 it answered without
 * either: by its schemas, or by a probe reporting them down.
 */
export async function apiWithDatabaseDown(
  options: { rateLimit?: HttpServiceDependencies['rateLimit'] } = {},
): Promise<{ app: CorrexApp; close(): Promise<void> }> {
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ host: '127.0.0.1', port: await closedPort(), connectionTimeoutMillis: 2000 }) }),
  });
  const connection = Connection.lazy();
  const app = await buildHttpService({
    db,
    databaseBackend: 'postgres',
    temporal: { client: new Client({ connection }), connection, address: 'unused', taskQueue: 'unused' },
    runbooks: new RunbookCatalogue(path.join(projectRoot, 'runbooks')),
    signingKey: generateSigningKey(),
    strictResponses: true,
    ...(options.rateLimit ? { rateLimit: options.rateLimit } : {}),
  });
  return {
    app,
    async close() {
      await app.close();
      await db.destroy();
    },
  };
}
