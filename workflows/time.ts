/**
 * Now, in workflow code: Temporal's sandbox makes `Date.now()` the time of the current workflow task,
 * recorded in history, so it is the same on every replay. This is the one place workflows read it.
 */
export function workflowNow(): number {
  // eslint-disable-next-line no-restricted-properties -- deterministic inside Temporal's workflow sandbox (see above)
  return Date.now();
}
