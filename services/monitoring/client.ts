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
import { SignalWriter, storeSignalOnce, type StoredSignal } from './repository.js';
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
}

/** How signals reach a system's monitor: stored first, then handed over durably (signal-with-start). */
export class MonitorClient {
  /**
   * Signals this process has handed to their monitor. A repeat of one of these (Alertmanager re-sends
   * each group every repeat_interval) is stored once and not signalled again: the monitor would drop it
   * as already seen, and the signal would only cost its workflow a history event. A repeat this process
   * has not handed over (another instance did, or it restarted) is signalled, which is harmless.
   */
  private readonly handedOver = new Set<string>();
  private static readonly handedOverLimit = 20_000;

  private readonly signals: SignalWriter;
  /** Monitor plans by runbook version (versions are content hashes, so a plan never changes). */
  private readonly plans = new Map<string, MonitorPlan>();

  constructor(private readonly deps: MonitorClientDependencies) {
    this.signals = new SignalWriter(deps.db);
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
    const stored = await Promise.all(inputs.map((input) => this.signals.store(input, now)));
    const delivered = [];
    for (const [index, input] of inputs.entries()) {
      delivered.push(await this.handOver(input, stored[index]!, versions[index]!.version, this.repeatsCount(versions[index]!, input)));
    }
    return delivered;
  }

  /**
   * Stores a validated signal and hands it to its system's monitor under a runbook version, for a
   * sender whose only repeat is a retry of the same receipt (an evaluation's activity).
   */
  async deliver(input: SignalInput, runbookVersion: string, now = new Date()): Promise<{ signalId: string; duplicate: boolean }> {
    return this.handOver(input, await storeSignalOnce(this.deps.db, input, now), runbookVersion, false);
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

  /**
   * Hands a stored signal to its system's monitor (signal-with-start). A repeat goes too when a
   * trigger counts it towards a threshold, or when this process has not handed the signal over
   * before (another instance did, or it restarted): the monitor tells the receipts apart.
   */
  private async handOver(
    input: SignalInput,
    stored: StoredSignal,
    runbookVersion: string,
    repeatsCount: boolean,
  ): Promise<{ signalId: string; duplicate: boolean }> {
    if (!stored.fresh && !repeatsCount && this.handedOver.has(stored.signalId)) return { signalId: stored.signalId, duplicate: true };
    const received: ReceivedSignal = {
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
    await this.deps.client.workflow.signalWithStart<typeof monitorWorkflow, [ReceivedSignal]>('monitorWorkflow', {
      workflowId: monitorWorkflowId(input.systemId),
      taskQueue: this.deps.taskQueue,
      args: [{ systemId: input.systemId, ...(this.deps.continueAsNewAfter ? { continueAsNewAfter: this.deps.continueAsNewAfter } : {}) }],
      signal: signalReceivedSignal,
      signalArgs: [received],
    });
    this.handedOver.add(stored.signalId);
    if (this.handedOver.size > MonitorClient.handedOverLimit) this.handedOver.delete(this.handedOver.values().next().value!);
    return { signalId: stored.signalId, duplicate: !stored.fresh };
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
