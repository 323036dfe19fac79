/**
 * How Correx waits for a server that does not answer yet (Temporal, PostgreSQL): it tries again after
 * 0.25 s, doubling up to 5 s, for at most `waitSeconds`, and says so before each wait, so an operator
 * watching a process start sees what it waits for rather than a crash loop.
 */
export interface BackoffOptions {
  /** How long to keep trying, from the first attempt. */
  waitSeconds: number;
  /** Whether a failure is worth waiting out (the server is away); any other error is thrown at once. */
  retryable: (error: unknown) => boolean;
  /** The line to print before a wait: what does not answer and why; "; retrying in 0.5 s" is added. */
  waiting: (error: unknown) => string;
  onWaiting?: (line: string) => void;
}

export const FIRST_DELAY_MS = 250;
export const MAX_DELAY_MS = 5_000;

/** Runs `attempt` until it succeeds; once waiting no longer fits in `waitSeconds`, throws its last error. */
export async function withBackoff<T>(attempt: () => Promise<T>, options: BackoffOptions): Promise<T> {
  const deadline = Date.now() + options.waitSeconds * 1000;
  let delay = FIRST_DELAY_MS;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (!options.retryable(error) || Date.now() + delay > deadline) throw error;
      options.onWaiting?.(`${options.waiting(error)}; retrying in ${(delay / 1000).toFixed(1)} s`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    }
  }
}
