import { WorkflowIdConflictPolicy, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import type { Kysely } from 'kysely';
import type { monitorWorkflow } from '../../workflows/index.js';
import { monitorStateQuery, signalReceivedSignal, silenceUpdate, type MonitorState, type SilenceRequest } from '../../workflows/monitoring/messages.js';
import type { Database } from '../db/schema.js';
import { InvalidInput } from '../errors.js';
import { ActionRefused } from '../errors.js';
import { monitorWorkflowId } from '../identity.js';
import type { RunbookCatalogue, RunbookInUse } from '../runbook/catalogue.js';
import type { Silence } from './matching.js';
import { HandOverMarks, SignalWriter, signalsAwaitingHandOver, storeSignalOnce, type StoredSignal } from './repository.js';
import type { MonitorPlan } from './matching.js';
import { planMonitor } from './plan.js';
import { repeatsCountFor } from './thresholds.js';
import type { z } from 'zod';
import { SignalInput, type ReceivedSignal } from './signal.js';

export interface MonitorClientDependencies {
  db: Kysely<Database>;
  client: Client;
  taskQueue: string;
  /** Needed to submit (which finds the system's runbook); not to deliver a signal already tied to a version. */
  runbooks?: RunbookCatalogue;
  /** Signals per monitor run before it continues as new (tests lower it). */
  continueAsNewAfter?: number;
  /**
   * When a signal reaches its monitor. `before-answer` (the default): delivering returns once it is in
   * the monitor's history. `after-store` (ingestion over HTTP): delivering returns once it is stored,
   * and the hand-over follows in the background in arrival order per system; a hand-over cut short is
   * done by the sweeper (`sweepHandOvers`). Temporal is then off the path of every alert's 202.
   */
  handOver?: 'before-answer' | 'after-store';
  /** Where a background hand-over that failed is reported (it is retried by the sweeper). */
  report?: (line: string) => void;
}

/**
 * How signals reach a system's monitor: stored first (the outbox), then handed over durably
 * (signal-with-start) and marked as handed over.
 */
export class MonitorClient {
  private readonly signals: SignalWriter;
  private readonly marks: HandOverMarks;
  /** Monitor plans by runbook version (versions are content hashes, so a plan never changes). */
  private readonly plans = new Map<string, MonitorPlan>();
  /** Per system, the background hand-overs in arrival order (`after-store`). */
  private readonly queues = new Map<string, Promise<void>>();
  private queued = 0;
  /** Past this many background hand-overs waiting, delivering waits for its own: memory stays bounded. */
  private static readonly queueLimit = 10_000;

  constructor(private readonly deps: MonitorClientDependencies) {
    this.signals = new SignalWriter(deps.db);
    this.marks = new HandOverMarks(deps.db);
  }

  /**
   * Stores the signal and hands it to the system's monitor. Once this returns, the signal is in
   * PostgreSQL and in the monitor's history; a retry with the same idempotency key counts once.
   */
  async submit(raw: z.input<typeof SignalInput>, now = new Date()): Promise<{ signalId: string; duplicate: boolean }> {
    const parsed = SignalInput.safeParse(raw);
    if (!parsed.success) throw InvalidInput.fromZod(parsed.error);
    return this.deliverChecked(parsed.data, now);
  }

  /** `submit` for a signal already validated at the edge: finds the system's runbook, then delivers. */
  async deliverChecked(input: SignalInput, now = new Date()): Promise<{ signalId: string; duplicate: boolean }> {
    const [delivered] = await this.deliverAllChecked([input], now);
    return delivered!;
  }

  /**
   * Several signals validated at the edge (one Alertmanager payload): stored together in one write,
   * then handed to their monitors in the order given.
   */
  async deliverAllChecked(inputs: SignalInput[], now = new Date()): Promise<{ signalId: string; duplicate: boolean }[]> {
    const runbooks = this.deps.runbooks;
    if (!runbooks) throw new Error('MonitorClient.submit needs the runbook catalogue');
    const versions: RunbookInUse[] = [];
    for (const input of inputs) {
      const inUse = await runbooks.find(input.systemId);
      if (!inUse) {
        throw new InvalidInput([
          { path: 'systemId', message: `no runbook defines system '${input.systemId}' (known: ${(await runbooks.systemIds()).join(', ') || 'none'})` },
        ]);
      }
      await runbooks.record(this.deps.db, inUse);
      versions.push(inUse);
    }
    const stored = await Promise.all(inputs.map((input, index) => this.signals.store(input, now, versions[index]!.version)));
    const delivered = [];
    for (const [index, input] of inputs.entries()) {
      const signal = stored[index]!;
      delivered.push({ signalId: signal.signalId, duplicate: !signal.fresh });
      // A repeat stays in PostgreSQL (counted on its row) unless a threshold counts it.
      if (!signal.fresh && !this.repeatsCount(versions[index]!, input)) continue;
      const received = receivedSignal(input, signal, versions[index]!.version);
      if (this.deps.handOver === 'after-store' && this.queued < MonitorClient.queueLimit) this.handOverLater(received);
      else await this.handOver(received);
    }
    return delivered;
  }

  /**
   * Stores a validated signal and hands it to its system's monitor under a runbook version, for a
   * sender whose only repeat is a retry of the same receipt (an evaluation's activity).
   */
  async deliver(input: SignalInput, runbookVersion: string, now = new Date()): Promise<{ signalId: string; duplicate: boolean }> {
    const stored = await storeSignalOnce(this.deps.db, input, now, runbookVersion);
    await this.handOver(receivedSignal(input, stored, runbookVersion));
    return { signalId: stored.signalId, duplicate: !stored.fresh };
  }

  /**
   * Whether the monitor needs to hear of a repeat of this signal: some trigger it matches counts
   * occurrences towards a threshold above one. Otherwise a repeat stays in PostgreSQL (counted on its
   * row), which keeps alert storms out of the monitor's history.
   */
  private repeatsCount(inUse: RunbookInUse, signal: SignalInput): boolean {
    let plan = this.plans.get(inUse.version);
    if (!plan) {
      plan = planMonitor(inUse.runbook, inUse.version);
      this.plans.set(inUse.version, plan);
      if (this.plans.size > 64) this.plans.delete(this.plans.keys().next().value!);
    }
    return repeatsCountFor(plan, { ...signal, severity: signal.severity });
  }

  /** Hands a stored receipt to its system's monitor (signal-with-start), then marks it handed over. */
  private async handOver(received: ReceivedSignal): Promise<void> {
    await this.deps.client.workflow.signalWithStart<typeof monitorWorkflow, [ReceivedSignal]>('monitorWorkflow', {
      workflowId: monitorWorkflowId(received.systemId),
      taskQueue: this.deps.taskQueue,
      args: [{ systemId: received.systemId, ...(this.deps.continueAsNewAfter ? { continueAsNewAfter: this.deps.continueAsNewAfter } : {}) }],
      signal: signalReceivedSignal,
      signalArgs: [received],
    });
    await this.marks.mark(received.signalId, received.occurrence ?? 1);
  }

  /** `handOver` after those queued before it for the same system; a failure is left to the sweeper. */
  private handOverLater(received: ReceivedSignal): void {
    this.queued += 1;
    const next = (this.queues.get(received.systemId) ?? Promise.resolve())
      .then(() => this.handOver(received))
      .catch((error: unknown) => {
        const report = this.deps.report ?? ((line: string) => process.stderr.write(`${line}\n`));
        report(
          `signal ${received.signalId} (${received.systemId}) is stored but not yet handed to its monitor; the sweeper retries it: ${(error as Error).message}`,
        );
      })
      .finally(() => {
        this.queued -= 1;
        if (this.queues.get(received.systemId) === next) this.queues.delete(received.systemId);
      });
    this.queues.set(received.systemId, next);
  }

  /** Resolves once every background hand-over queued so far has been tried (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.queues.size > 0) await Promise.all([...this.queues.values()]);
  }

  /**
   * Hands over again, oldest first, the stored signals no monitor was given within `olderThanMs`
   * (their API instance stopped, or Temporal was down, between the 202 and the hand-over). Every API
   * instance sweeps; a signal handed over twice is one receipt to its monitor. Returns how many.
   */
  async sweepHandOvers(olderThanMs = 10_000, limit = 500): Promise<number> {
    const waiting = await signalsAwaitingHandOver(this.deps.db, olderThanMs, limit);
    let handed = 0;
    for (const w of waiting) {
      const version = w.runbookVersion ?? (await this.deps.runbooks?.find(w.input.systemId))?.version;
      if (!version) continue;
      await this.handOver(receivedSignal(w.input, { signalId: w.signalId, at: w.at, occurrence: 1 }, version));
      handed += 1;
    }
    return handed;
  }

  /** Silences matching signals of a system until `endsAt`; they are recorded, never paged. */
  async silence(systemId: string, request: SilenceRequest): Promise<Silence> {
    await this.deps.client.workflow.start<typeof monitorWorkflow>('monitorWorkflow', {
      workflowId: monitorWorkflowId(systemId),
      taskQueue: this.deps.taskQueue,
      args: [{ systemId, ...(this.deps.continueAsNewAfter ? { continueAsNewAfter: this.deps.continueAsNewAfter } : {}) }],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    });
    // The latest run, whichever it is: the monitor continues as new from time to time.
    const handle = this.deps.client.workflow.getHandle(monitorWorkflowId(systemId));
    try {
      return await handle.executeUpdate(silenceUpdate, { args: [request] });
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) throw new ActionRefused(error.cause?.message ?? error.message);
      throw error;
    }
  }

  state(systemId: string): Promise<MonitorState> {
    return this.deps.client.workflow.getHandle(monitorWorkflowId(systemId)).query(monitorStateQuery);
  }
}

/** What the monitor receives for one stored receipt of a signal. */
function receivedSignal(input: SignalInput, stored: Pick<StoredSignal, 'signalId' | 'at' | 'occurrence'>, runbookVersion: string): ReceivedSignal {
  return {
    signalId: stored.signalId,
    systemId: input.systemId,
    source: input.source,
    status: input.status,
    labels: input.labels,
    severity: input.severity,
    at: stored.at,
    runbookVersion,
    occurrence: stored.occurrence,
    ...(input.alertKey ? { alertKey: input.alertKey } : {}),
    ...(input.summary ? { summary: input.summary } : {}),
  };
}
