// The correction's rules beyond a single vote (admitVote): whether it still takes decisions, what a vote
// that decided it shows, and when it is in force. Pure, so the workflow and unit tests share them.
import { admitVote, isApproved, isRejected, type Person, type VotingState } from './authority.js';
import type { CorrectionState } from './states.js';

/** Applied, whether ratified or still awaiting ratification: only such a correction can be lifted. */
export function inForce(state: CorrectionState): boolean {
  return state === 'active' || state === 'awaiting-ratification';
}

/** A vote may decide the correction before the workflow moves on: show where it is going, not where it was. */
export function shownState(state: CorrectionState, voting: VotingState): CorrectionState {
  if (isRejected(voting)) return 'rejected';
  return isApproved(voting) && state === 'proposed' ? 'approved' : state;
}

/** Votes count while the correction is proposed, or applied by break-glass and awaiting ratification, and still undecided. */
export function votingOpen(state: CorrectionState, voting: VotingState): boolean {
  return (state === 'proposed' || state === 'awaiting-ratification') && !isApproved(voting) && !isRejected(voting);
}

/** The reason a decision on this correction is refused now, or undefined. */
export function decisionProblem(
  correction: { id: string; state: CorrectionState; voting: VotingState; people: Person[] },
  decision: { actor: string; decision: 'approve' | 'reject'; rationale: string },
): string | undefined {
  const { id, state, voting, people } = correction;
  if (!votingOpen(state, voting)) return `correction ${id} is no longer pending a decision (it is ${shownState(state, voting)})`;
  const admitted = admitVote(voting, people, decision);
  return 'refused' in admitted ? admitted.refused : undefined;
}
