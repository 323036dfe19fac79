/**
 * When the run last moved forward: an incident finished a step of its script, a supervised process
 * printed a line while starting, or what the settle step waits for changed. Every wait of the suite
 * ends when the thing it waits for happens or when the run has not moved for `stallMs`, never at a
 * fixed time: a slow or busy machine makes a run slower, not red, and a run that has stopped moving
 * (a lost incident, a stuck correction) still ends and is reported.
 */
export class Progress {
  private last = Date.now();

  constructor(readonly stallMs: number) {}

  mark(): void {
    this.last = Date.now();
  }

  get idleMs(): number {
    return Date.now() - this.last;
  }

  get stalled(): boolean {
    return this.idleMs >= this.stallMs;
  }

  /** For messages: "the run made no progress for 180 s". */
  describe(): string {
    return `the run made no progress for ${Math.round(this.stallMs / 1000)} s`;
  }
}
