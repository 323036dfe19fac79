import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from './environment.js';

/**
 * Global setup: tests that run `bin/correx.js` (test/cli, the cluster test, the runbook and export
 * checks) run the compiled dist/, so it is rebuilt first when a source changed since the last build
 * (`npm test` has already done so through scripts/setup.sh; this covers `npx vitest run <file>`).
 */
export default function setup(): void {
  execFileSync(process.execPath, [path.join(projectRoot, 'scripts', 'build.mjs'), '--if-stale', '--quiet'], { cwd: projectRoot, stdio: 'inherit' });
}
