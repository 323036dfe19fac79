import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const projectRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The admin URL of the test PostgreSQL: TEST_DATABASE_URL, else what `scripts/setup.sh --postgres` wrote. */
export function testPostgresUrl(): string {
  if (process.env.TEST_DATABASE_URL) return process.env.TEST_DATABASE_URL;
  try {
    const line = readFileSync(new URL('../../.tools/postgres.env', import.meta.url), 'utf8').match(/^TEST_DATABASE_URL=(.+)$/m);
    if (line?.[1]) return line[1].trim();
  } catch {
    // fall through to the explanation below
  }
  throw new Error('no test PostgreSQL: run `npm test` (it runs scripts/setup.sh --postgres first) or set TEST_DATABASE_URL');
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** host:port of the run's shared Temporal dev server. */
    temporalAddress: string;
    /** File holding the workflow bundle, built once per run. */
    workflowBundlePath: string;
    /** The time-skipping test server binary. */
    temporalTestServerPath: string;
    /** Admin URL of the test PostgreSQL; each test file creates its own database in it. */
    postgresUrl: string;
    /** How many namespaces (`test-1` …) the dev server was started with, and where files claim one. */
    temporalNamespaces: { count: number; claims: string };
  }
}
