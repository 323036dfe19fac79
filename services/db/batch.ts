/**
 * Group commit: items submitted while a statement is under way go together in the next one, so many
 * concurrent callers cost PostgreSQL one round trip per batch rather than one each. Each caller still
 * waits for its own item's result, so "stored before answered" holds for every one of them.
 */
export class Batched<Item, Result> {
  private queue: { item: Item; resolve: (result: Result) => void; reject: (error: unknown) => void }[] = [];
  private running = 0;
  private scheduled = false;

  /**
   * @param run one statement for a batch, answering each item in order
   * @param options.concurrency statements under way at once: enough to overlap round trips, few
   *   enough to leave the connection pool to everything else
   */
  constructor(
    private readonly run: (items: Item[]) => Promise<Result[]>,
    private readonly options: { concurrency: number; limit: number } = { concurrency: 3, limit: 500 },
  ) {}

  submit(item: Item): Promise<Result> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.running >= this.options.concurrency || this.queue.length === 0) return;
    this.scheduled = true;
    // After the I/O callbacks of this turn: the requests that arrived together go together.
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.queue.length === 0 || this.running >= this.options.concurrency) return;
    const batch = this.queue.splice(0, this.options.limit);
    this.running += 1;
    try {
      const results = await this.run(batch.map((entry) => entry.item));
      batch.forEach((entry, index) => entry.resolve(results[index]!));
    } catch (error) {
      for (const entry of batch) entry.reject(error);
    } finally {
      this.running -= 1;
      this.schedule();
    }
  }
}
