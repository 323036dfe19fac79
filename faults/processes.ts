import { startCorrex, type LongRunningCorrex } from '../test/support/cli.js';
import type { Progress } from './progress.js';

export interface ProcessEvent {
  at: number;
  what: string;
}

/**
 * One `correx worker` or `correx api` child, kept running as an orchestrator (systemd, Kubernetes)
 * would: the fault schedule kills it with SIGKILL and starts a new one; if it exits on its own, that
 * is recorded and it is started again after a short pause.
 */
export class SupervisedCorrex {
  current: LongRunningCorrex | undefined;
  /** Every process started, for their output. */
  readonly all: LongRunningCorrex[] = [];
  starts = 0;
  readonly unexpectedExits: { at: number; code: number | null; signal: string | null; reason: string; tail: string }[] = [];
  readonly events: ProcessEvent[] = [];
  /** The process that is up (polling / serving) right now, if any. */
  private readyPid: number | undefined;
  private stopping = false;
  private killing = false;
  private restarting: Promise<void> | undefined;

  constructor(
    readonly name: 'worker' | 'api',
    private readonly env: Record<string, string>,
    /** A starting process that prints a line (say, that it waits for PostgreSQL) moves the run forward. */
    private readonly progress: Progress,
    /**
     * The port of its health endpoints (the worker's CORREX_WORKER_HEALTH_PORT, the API's port), the
     * same for every process it starts: chosen with the run's other ports, so no two can draw the same
     * one while neither listens yet.
     */
    readonly healthPort: number,
  ) {}

  private get ready(): RegExp {
    return this.name === 'worker' ? /correx worker: polling/ : /correx api: serving/;
  }

  /**
   * Starts a process and resolves once it says it is polling / serving. A start may legitimately take
   * minutes (Correx waits up to 300 s each for Temporal and PostgreSQL, with a line per retry), so it
   * is given up only when the process exits, or says nothing new for the run's stall time.
   */
  async start(): Promise<void> {
    const extra: Record<string, string> =
      this.name === 'worker' ? { CORREX_WORKER_HEALTH_PORT: String(this.healthPort) } : { CORREX_HTTP_PORT: String(this.healthPort) };
    const child = startCorrex([this.name], { ...this.env, ...extra });
    this.current = child;
    this.all.push(child);
    this.starts += 1;
    child.child.once('exit', (code, signal) => {
      if (this.readyPid === child.child.pid) this.readyPid = undefined;
      if (this.current !== child || this.stopping || this.killing) return;
      const lines = child.output().trim().split('\n');
      const tail = lines.slice(-40).join('\n');
      // The error line of a crash (`error: …` after "Unhandled 'error' event") or Correx's own one-line error.
      const crash = lines.some((l) => l.includes("Unhandled 'error' event")) ? 'crashed: unhandled error event: ' : '';
      const reason = crash + ([...lines].reverse().find((l) => /^(\w*Error|error|correx): /.test(l.trim())) ?? lines.at(-1) ?? '').trim();
      this.unexpectedExits.push({ at: Date.now(), code, signal, reason, tail });
      this.events.push({ at: Date.now(), what: `${this.name} exited on its own (code ${code}, signal ${signal}); restarting` });
      this.restarting = this.restartAfterCrash();
    });
    for (let said = child.output().length; ;) {
      try {
        await child.waitFor(this.ready, this.progress.stallMs);
        break;
      } catch (error) {
        if (child.child.exitCode !== null || child.child.signalCode !== null || child.output().length === said) throw error;
        said = child.output().length;
        this.progress.mark();
      }
    }
    this.readyPid = child.child.pid;
    this.events.push({ at: Date.now(), what: `${this.name} #${this.starts} ${this.name === 'worker' ? 'polling' : 'serving'} (pid ${child.child.pid})` });
  }

  private async restartAfterCrash(): Promise<void> {
    for (let attempt = 1; !this.stopping; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(2_000 * attempt, 10_000)));
      if (this.stopping) return;
      // Someone (the fault schedule) started a new one meanwhile.
      if (this.current && this.current.child.exitCode === null && this.current.child.signalCode === null) return;
      try {
        await this.start();
        return;
      } catch (error) {
        // start() registered its own exit handler, which restarts again; stop this loop.
        this.events.push({ at: Date.now(), what: `${this.name} restart failed: ${(error as Error).message.split('\n')[0]}` });
        return;
      }
    }
  }

  /** SIGKILL, then a new process. Resolves once the new one is ready. */
  async killAndReplace(): Promise<{ pid: number | undefined; readyAfterMs: number }> {
    await this.restarting;
    const old = this.current;
    this.killing = true;
    const pid = old?.child.pid;
    await old?.stop('SIGKILL');
    this.events.push({ at: Date.now(), what: `${this.name} pid ${pid} killed with SIGKILL` });
    this.killing = false;
    const began = Date.now();
    try {
      await this.start();
    } catch {
      // It exited while starting: the supervisor keeps restarting it; wait for that while the run moves.
      while (this.readyPid === undefined && !this.progress.stalled) await new Promise((resolve) => setTimeout(resolve, 500));
      if (this.readyPid === undefined) throw new Error(`no ${this.name} could start after the kill, and ${this.progress.describe()}`);
    }
    return { pid, readyAfterMs: Date.now() - began };
  }

  get pid(): number | undefined {
    return this.current?.child.pid;
  }

  async healthz(): Promise<Record<string, unknown> | undefined> {
    try {
      const response = await fetch(`http://127.0.0.1:${this.healthPort}/healthz`, { signal: AbortSignal.timeout(5_000) });
      return (await response.json()) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }

  /** The output of every process started, each under a header line. */
  output(): string {
    return this.all.map((c, i) => `----- correx ${this.name} #${i + 1} (pid ${c.child.pid}) -----\n${c.output()}`).join('\n');
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.all.map((c) => c.stop('SIGKILL').catch(() => {})));
  }
}
