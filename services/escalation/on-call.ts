// Why a person was paged under a schedule: which schedule, and what put them on call there. Pages
// carry it in words and the timeline keeps it as data, so "why was I paged?" has an answer.

export type OnCallSource = { kind: 'layer'; layer: string } | { kind: 'override'; overrideId: string; by: string; reason: string } | { kind: 'fallback' };

export interface OnCallWhy {
  scheduleId: string;
  scheduleName: string;
  source: OnCallSource;
  /** When this person's turn ends (ISO instant). */
  until: string;
}

export function onCallInWords(why: OnCallWhy): string {
  const what =
    why.source.kind === 'layer'
      ? `your turn in rotation '${why.source.layer}'`
      : why.source.kind === 'override'
        ? `an override by ${why.source.by} (${why.source.reason})`
        : 'its fallback: nobody in its rotations is on call now';
  return `You are on call under schedule '${why.scheduleName}' (${why.scheduleId}) by ${what}, until ${why.until}.`;
}
