// The deadline of one occurrence of a regulator clock. Pure and deterministic, like calendar.ts: the
// regulatory clock workflow calls it (also inside condition() predicates), so nothing here may read the
// wall clock, do I/O or draw random numbers.
import { addOffset, parseClockOffset } from './calendar.js';
import type { Regime, RegulatoryClock } from './regime.js';

/** What a clock's deadline depends on besides the clock itself. */
export interface ClockDeadlineInput {
  /** When this occurrence started: the clock's start moment, or for a repeat the previous occurrence's deadline. */
  startAt: string;
  /** 1 for the first report; a repeating clock (`repeatEvery`) counts up from there. */
  occurrence: number;
  /** The incident's current classes: they choose the `sooner` deadlines that apply. */
  classes: readonly string[];
  /** The moment the clock's `latest` bound runs from (DORA: awareness), when it is known; ignored without a `latest` bound. */
  latestStartAt?: string | undefined;
}

function offsetOf(clock: RegulatoryClock, text: string) {
  const offset = parseClockOffset(text);
  if (!offset) throw new RangeError(`clock '${clock.id}' has a deadline that is not an offset: '${text}'`);
  return offset;
}

/**
 * When an occurrence of `clock` is due, in epoch milliseconds: the earliest of the clock's deadline and
 * every `sooner` deadline for a class the incident has, and for the first occurrence its `latest`
 * bound (DORA: 4 h after classification, but no later than 24 h after awareness). A repeat is due
 * `repeatEvery` after the previous one's deadline, whatever the classes. Business days count in the
 * regime's calendar (without one, Saturdays and Sundays in UTC); hours, days and months do not use it.
 */
export function clockDeadline(regime: Pick<Regime, 'calendar'>, clock: RegulatoryClock, input: ClockDeadlineInput): number {
  const { calendar } = regime;
  const start = new Date(input.startAt);
  const offsets =
    input.occurrence > 1 && clock.repeatEvery
      ? [clock.repeatEvery]
      : [clock.deadline, ...(clock.sooner ?? []).filter((s) => s.classes.some((c) => input.classes.includes(c))).map((s) => s.deadline)];
  const candidates = offsets.map((text) => addOffset(start, offsetOf(clock, text), calendar).getTime());
  if (clock.latest && input.occurrence === 1 && input.latestStartAt) {
    candidates.push(addOffset(new Date(input.latestStartAt), offsetOf(clock, clock.latest.deadline), calendar).getTime());
  }
  return Math.min(...candidates);
}
