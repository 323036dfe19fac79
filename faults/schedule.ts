import type { PrivatePostgres } from './postgres.js';
import type { SupervisedCorrex } from './processes.js';
import type { Progress } from './progress.js';
import type { ControlEndpoint } from '../test/support/control-endpoint.js';
import type { MailSink } from '../test/support/smtp.js';

/** A small seeded PRNG (mulberry32), so a run's schedule can be repeated with `--seed`. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FaultRecord {
  name: string;
  /** Offset from the start of the incidents, as planned. */
  plannedMs: number;
  startedAt?: number;
  /** When the fault was over (service back, new process ready). */
  endedAt?: number;
  detail: string;
  error?: string;
}

export interface FaultTargets {
  smtp: MailSink;
  enforcer: ControlEndpoint;
  postgres: PrivatePostgres;
  worker: SupervisedCorrex;
  api: SupervisedCorrex;
  /** Stops the Temporal dev server and starts it again on the same port and SQLite file; resolves when it answers. */
  restartTemporal: () => Promise<{ downMs: number }>;
  /** True when a query through the API to an incident workflow is answered (which takes a polling worker). */
  workflowsAnswer: () => Promise<boolean>;
  /** How many incidents are between their trigger and their resolution right now. */
  inFlight: () => number;
  /** Whether the run still moves: a recovery is waited for until it does not. */
  progress: Progress;
}

export interface Fault {
  name: string;
  at: number;
  run: (record: FaultRecord) => Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Milliseconds until `probe` holds, or undefined once `over()` says to stop waiting. */
async function until(probe: () => Promise<boolean>, over: () => boolean): Promise<number | undefined> {
  const began = Date.now();
  while (!over()) {
    if (await probe().catch(() => false)) return Date.now() - began;
    await sleep(250);
  }
  return undefined;
}

/** For waits that only choose a good moment (a fault mid-incident), not ones a check depends on. */
const within = (ms: number) => {
  const end = Date.now() + ms;
  return () => Date.now() >= end;
};

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * The faults of one run, at jittered offsets (seconds from the first trigger), over a window of
 * about 150 s while incidents are being driven: three worker kills at random moments, SMTP refusing
 * then hanging, the enforcer webhook failing then hanging, PostgreSQL down for 20 s, and a Temporal
 * restart.
 */
export function planFaults(random: () => number, t: FaultTargets, options: { outageMs: number; postgresDownMs: number }): Fault[] {
  const jitter = (from: number, span: number) => Math.round((from + random() * span) * 1000);
  // Worker kills and the Temporal restart take turns, so each restart's reconnection is measured
  // on a process that lived through it.
  let turn: Promise<unknown> = Promise.resolve();
  const exclusive = (work: () => Promise<void>) => {
    const mine = turn.then(work);
    turn = mine.catch(() => {});
    return mine;
  };
  const workerKill = (n: number, at: number): Fault => ({
    name: `worker SIGKILL #${n}`,
    at,
    run: (r) =>
      exclusive(async () => {
        r.startedAt = Date.now();
        const { pid, readyAfterMs } = await t.worker.killAndReplace();
        r.endedAt = Date.now();
        r.detail = `killed pid ${pid}; new worker pid ${t.worker.pid} polling after ${seconds(readyAfterMs)}`;
      }),
  });
  const faults: Fault[] = [
    {
      name: 'SMTP refuses (451)',
      at: jitter(5, 5),
      run: async (r) => {
        r.startedAt = Date.now();
        const before = t.smtp.rejected;
        t.smtp.failFor(options.outageMs);
        await sleep(options.outageMs);
        r.endedAt = Date.now();
        r.detail = `${t.smtp.rejected - before} messages refused`;
      },
    },
    workerKill(1, jitter(15, 20)),
    {
      name: 'enforcer webhook 503',
      at: jitter(25, 10),
      run: async (r) => {
        r.startedAt = Date.now();
        const before = t.enforcer.log.filter((q) => q.outcome === 'failed').length;
        t.enforcer.failFor(options.outageMs);
        await sleep(options.outageMs);
        r.endedAt = Date.now();
        r.detail = `${t.enforcer.log.filter((q) => q.outcome === 'failed').length - before} requests answered 503`;
      },
    },
    {
      name: `PostgreSQL stopped ${options.postgresDownMs / 1000} s`,
      at: jitter(45, 10),
      run: async (r) => {
        // Mid-incident: wait (a little) for incidents whose activities are writing.
        await until(async () => t.inFlight() > 0, within(15_000));
        r.startedAt = Date.now();
        const busy = t.inFlight();
        await t.postgres.stop();
        const stoppedAt = Date.now();
        await sleep(options.postgresDownMs);
        await t.postgres.start();
        r.endedAt = Date.now();
        r.detail = `stopped with ${plural(busy, 'incident')} in flight (pg_ctl stop -m fast took ${seconds(stoppedAt - r.startedAt)}); down ${seconds(r.endedAt - stoppedAt)}`;
      },
    },
    workerKill(2, jitter(70, 25)),
    {
      name: 'Temporal dev server restart',
      at: jitter(85, 10),
      run: (r) =>
        exclusive(async () => {
          await until(async () => t.inFlight() > 0, within(15_000));
          r.startedAt = Date.now();
          const busy = t.inFlight();
          const workerPid = t.worker.pid;
          const apiPid = t.api.pid;
          const { downMs } = await t.restartTemporal();
          // Both processes must see Temporal again on their own (health reports it reachable), however
          // long that takes on this machine, as long as the run still moves.
          t.progress.mark();
          const stalled = () => t.progress.stalled;
          const [workerBack, apiBack, answering] = await Promise.all([
            until(async () => (await t.worker.healthz())?.temporal === true, stalled),
            until(async () => ((await t.api.healthz())?.temporal as { reachable?: boolean } | undefined)?.reachable === true, stalled),
            until(t.workflowsAnswer, stalled),
          ]);
          r.endedAt = Date.now();
          const same = (before: number | undefined, now: number | undefined) => (before === now ? 'same process' : `process replaced: ${before} → ${now}`);
          const after = (ms: number | undefined) => (ms === undefined ? `NOT before ${t.progress.describe()}` : `${seconds(ms)} after`);
          r.detail =
            `${plural(busy, 'incident')} in flight; down ${seconds(downMs)}; worker reconnected ${after(workerBack)} (${same(workerPid, t.worker.pid)}), api ${after(apiBack)} (${same(apiPid, t.api.pid)}), ` +
            `workflow queries through the API answered ${after(answering)}`;
          if (workerBack === undefined || apiBack === undefined || answering === undefined) r.error = r.detail;
        }),
    },
    {
      name: 'SMTP hangs',
      at: jitter(105, 10),
      run: async (r) => {
        r.startedAt = Date.now();
        const before = t.smtp.held;
        t.smtp.hangFor(options.outageMs);
        await sleep(options.outageMs);
        r.endedAt = Date.now();
        r.detail = `${t.smtp.held - before} messages held until the end of the hang`;
      },
    },
    {
      name: 'enforcer webhook hangs',
      at: jitter(120, 10),
      run: async (r) => {
        r.startedAt = Date.now();
        const before = t.enforcer.log.filter((q) => q.held).length;
        t.enforcer.hangFor(options.outageMs);
        await sleep(options.outageMs);
        // Held requests are answered (and processed) when the hang ends.
        await sleep(500);
        r.endedAt = Date.now();
        r.detail = `${t.enforcer.log.filter((q) => q.held).length - before} requests held (Correx gives up on each after 10 s; the listener processes them anyway)`;
      },
    },
    workerKill(3, jitter(125, 25)),
  ];
  return faults.sort((a, b) => a.at - b.at);
}

/** Runs each fault at its offset from `t0`; resolves when all are over. */
export async function runFaults(faults: Fault[], t0: number, log: (line: string) => void): Promise<FaultRecord[]> {
  const records: FaultRecord[] = faults.map((f) => ({ name: f.name, plannedMs: f.at, detail: '' }));
  await Promise.all(
    faults.map(async (fault, i) => {
      const record = records[i]!;
      await sleep(Math.max(0, t0 + fault.at - Date.now()));
      log(`fault: ${fault.name}`);
      try {
        await fault.run(record);
        log(`fault over: ${fault.name}: ${record.detail}`);
      } catch (error) {
        record.endedAt = Date.now();
        record.error = (error as Error).message.split('\n')[0];
        log(`fault ${fault.name} went wrong: ${record.error}`);
      }
    }),
  );
  return records;
}
