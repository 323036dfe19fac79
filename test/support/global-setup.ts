import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode } from '@temporalio/worker';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { resolveTemporalBinaries } from '../../services/temporal/binaries.js';
import { installWorkerRuntime } from '../../services/temporal/runtime.js';
import { ensureSearchAttributes } from '../../services/temporal/search-attributes.js';
import { workflowsPath } from '../../services/worker.js';
import { testPostgresUrl } from './environment.js';

/**
 * Once per run: one real Temporal dev server, the workflow bundle, and a check that the test
 * PostgreSQL answers. Test files share these read-only; each gets its own task queue and database.
 */
export default async function setup(project: TestProject) {
  installWorkerRuntime('warn');
  const binaries = resolveTemporalBinaries();
  if (!binaries.testServer) throw new Error('temporal-test-server not found: run scripts/setup.sh');

  const postgresUrl = testPostgresUrl();
  const probe = new pg.Client({ connectionString: postgresUrl });
  try {
    await probe.connect();
    await probe.query('select 1');
  } catch (error) {
    throw new Error(`test PostgreSQL at ${postgresUrl.replace(/:[^:@/]+@/, ':***@')} does not answer: ${(error as Error).message}`);
  } finally {
    await probe.end().catch(() => {});
  }

  // Workflow ids (a system's monitor, an incident's dedup key) are unique per namespace, so each test
  // file gets a namespace of its own: files running at once never signal each other's workflows.
  const namespaceCount = 72;
  const namespaceArgs = Array.from({ length: namespaceCount }, (_, i) => ['--namespace', `test-${i + 1}`]).flat();
  const [environment, bundle] = await Promise.all([
    TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: binaries.cli },
        ip: '127.0.0.1',
        ui: false,
        extraArgs: ['--dynamic-config-value', 'frontend.enableExecuteMultiOperation=true', '--log-level', 'error', ...namespaceArgs],
      },
    }),
    bundleWorkflowCode({ workflowsPath, logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error } }),
  ]);
  for (let i = 1; i <= namespaceCount; i++) {
    const registered = await ensureSearchAttributes(environment.connection, `test-${i}`, () => {});
    if (!registered) throw new Error(`could not register Correx's search attributes on test-${i}`);
  }
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'correx-test-'));
  const workflowBundlePath = path.join(scratch, 'workflow-bundle.js');
  await writeFile(workflowBundlePath, bundle.code);

  project.provide('temporalAddress', environment.address);
  project.provide('workflowBundlePath', workflowBundlePath);
  project.provide('temporalTestServerPath', binaries.testServer);
  project.provide('postgresUrl', postgresUrl);
  const claims = path.join(scratch, 'namespace-claims');
  await mkdir(claims);
  project.provide('temporalNamespaces', { count: namespaceCount, claims });

  return async () => {
    await environment.teardown();
    await rm(scratch, { recursive: true, force: true });
  };
}
