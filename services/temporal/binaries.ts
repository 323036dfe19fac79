import { accessSync, constants, readFileSync } from 'node:fs';
import path from 'node:path';
import { OperatorError } from '../errors.js';
import { projectRoot } from '../project-root.js';

export interface TemporalBinaries {
  /** The Temporal CLI (`temporal server start-dev`: the real server, SQLite-backed, with the web UI). */
  cli: string;
  /** The time-skipping test server, for timer-heavy tests. */
  testServer: string | undefined;
}

function executable(file: string | undefined): string | undefined {
  if (!file) return undefined;
  try {
    accessSync(file, constants.X_OK);
    return file;
  } catch {
    return undefined;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const found = dir && executable(path.join(dir, name));
    if (found) return found;
  }
  return undefined;
}

/** What scripts/setup.sh resolved and wrote to .tools/temporal.env. */
function fromSetup(): Record<string, string> {
  try {
    const text = readFileSync(path.join(projectRoot, '.tools', 'temporal.env'), 'utf8');
    return Object.fromEntries(
      text
        .split('\n')
        .map((line) => line.match(/^([A-Z_]+)=(.*)$/))
        .filter((m): m is RegExpMatchArray => m !== null)
        .map((m) => [m[1]!, m[2]!]),
    );
  } catch {
    return {};
  }
}

/**
 * Finds the Temporal binaries: an explicit path (TEMPORAL_CLI_PATH, TEMPORAL_TEST_SERVER_PATH), then
 * what `scripts/setup.sh` installed, then PATH.
 */
export function resolveTemporalBinaries(explicit: { cli?: string | undefined; testServer?: string | undefined } = {}): TemporalBinaries {
  const setup = fromSetup();
  const cliCandidate = explicit.cli ?? process.env.TEMPORAL_CLI_PATH;
  if (cliCandidate && !executable(cliCandidate)) {
    throw new OperatorError(`TEMPORAL_CLI_PATH: ${cliCandidate} is not an executable file`);
  }
  const cli = executable(cliCandidate) ?? executable(setup.TEMPORAL_CLI_PATH) ?? onPath('temporal');
  if (!cli) {
    throw new OperatorError(
      'the Temporal CLI was not found: run `npm run setup` (installs it into .tools/), or put `temporal` on PATH, or set TEMPORAL_CLI_PATH',
    );
  }
  const testServer =
    executable(explicit.testServer ?? process.env.TEMPORAL_TEST_SERVER_PATH) ?? executable(setup.TEMPORAL_TEST_SERVER_PATH) ?? onPath('temporal-test-server');
  return { cli, testServer };
}
