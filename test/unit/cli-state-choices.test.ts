import { describe, expect, it } from 'vitest';
import { incidentStates } from '../../services/incident/schema.js';
import { taskStates } from '../../services/review/schema.js';
import { runCorrex } from '../support/cli.js';

// Nothing listens on port 9: a command line that gets past its options fails to connect (exit 1).
const nowhere = ['--server', 'http://127.0.0.1:9', '--token', 'crx_unused'];

describe("the CLI's --state options take the states of their vocabulary", () => {
  it('refuses an incident state that does not exist, naming every one, before calling the API', async () => {
    const result = await runCorrex(['incident', 'list', '--state', 'triggered,paused', ...nowhere]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      `correx: option '--state <states>' argument 'triggered,paused' is invalid. Allowed choices are ${incidentStates.join(', ')} (comma-separated). (run with --help for usage)`,
    );
  });

  it('takes any open states, mitigating included, comma-separated', async () => {
    const result = await runCorrex(['incident', 'list', '--state', 'mitigating, mitigated,', ...nowhere]);
    expect(result.stderr).not.toContain('Allowed choices');
    expect(result.code).toBe(1);
  });

  it('refuses a task state that does not exist, naming every one', async () => {
    const result = await runCorrex(['task', 'list', '--state', 'finished', ...nowhere]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      `correx: option '--state <state>' argument 'finished' is invalid. Allowed choices are ${taskStates.join(', ')}. (run with --help for usage)`,
    );
  });
});
