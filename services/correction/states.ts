/**
 * A correction's states, as its workflow reports them and as its row records them. Pure (no zod, no
 * I/O) so that workflows, the CLI's help and the database types share one list.
 *
 * `applying` and `lifting` are the workflow's own (the row keeps the state before them until the
 * enforcer confirms); `applied` is the row's own: applied without break-glass and not yet verified,
 * while the workflow still reports `applying`.
 */
export const correctionStates = [
  'proposed',
  'approved',
  'rejected',
  'expired',
  'applying',
  'applied',
  'awaiting-ratification',
  'active',
  'lifting',
  'lifted',
] as const;
export type CorrectionState = (typeof correctionStates)[number];

/** States in which a correction still needs a decision or is (about to be) in force: its incident cannot close over it. */
export const openCorrectionStates: readonly CorrectionState[] = ['proposed', 'approved', 'applying', 'applied', 'awaiting-ratification', 'active', 'lifting'];
