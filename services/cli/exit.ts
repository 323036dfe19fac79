/**
 * Exit codes scripts can rely on:
 *
 * | code | meaning |
 * |---|---|
 * | 0 | success |
 * | 1 | failure: the server failed (5xx), could not be reached, or something unexpected happened |
 * | 2 | usage error or invalid input: a bad command line, or the API answered 400 |
 * | 3 | unauthenticated or forbidden: no token, a token the API refused (401), or one lacking the role (403) |
 * | 4 | not found: the incident, correction, report, task or token does not exist (404) |
 * | 5 | refused by the workflow (409): not in the runbook's decision authority, deciding one's own proposal, wrong state… |
 */
export const ExitCode = { ok: 0, failure: 1, usage: 2, unauthorized: 3, notFound: 4, refused: 5 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Ends a command with an exit code after it has printed what it had to say. */
export class ExitWith extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** A failure with the exit code it means; main() prints the message as one line (`correx: …`) and exits with the code. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly code: ExitCode,
  ) {
    super(message);
  }
}

/** The exit code an HTTP error status means. */
export function exitCodeForStatus(status: number): ExitCode {
  if (status === 400 || status === 413 || status === 415 || status === 422) return ExitCode.usage;
  if (status === 401 || status === 403) return ExitCode.unauthorized;
  if (status === 404) return ExitCode.notFound;
  if (status === 409) return ExitCode.refused;
  return ExitCode.failure;
}
