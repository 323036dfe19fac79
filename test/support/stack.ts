import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Client, Connection, type WorkflowExecutionDescription } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, inject } from 'vitest';
import { stringify } from 'yaml';
import type { Database } from '../../services/db/schema.js';
import { createMailer } from '../../services/notification/mailer.js';
import { workflowClients, type WorkflowClients } from '../../services/temporal/clients.js';
import { startApi, type RunningApi } from './api.js';
import { ControlEndpoint } from './control-endpoint.js';
import { createPostgresTestDatabase, eventually, type TestDatabase } from './database.js';
import { projectRoot } from './environment.js';
import { recordRunbook, routeFallbacksTo, shippedRunbook, type RunbookContent } from './runbooks.js';
import { MailSink } from './smtp.js';
import { startDevServerWorker, startTimeSkippingWorker, testNamespace, type RunningWorker, type WorkerOptions } from './temporal.js';

/** The environment variable under which the worker knows the control endpoint's HMAC secret. */
export const webhookSecretEnv = 'CORREX_TEST_WEBHOOK_SECRET';

/** A shipped runbook by system id, or one adjusted before use (the stack is up to its API by then). */
export type RunbookSource = string | { from: string; adjust(runbook: RunbookContent, stack: IncidentStack): void };

export interface IncidentStackOptions {
  /**
   * `dev-server` (the default): a worker on this file's namespace of the run's shared dev server.
   * `time-skipping`: a private time-skipping server (`stack.environment`).
   * `none`: no worker in this process (the test runs its own, e.g. `correx worker` processes), but
   * clients on `taskQueue` of the dev server.
   */
  temporal?: 'dev-server' | 'time-skipping' | 'none';
  /** The task queue (a fresh one by default). */
  taskQueue?: string;
  /** Start the HTTP API over the stack (serving `runbookFiles` when given). */
  api?: boolean | Omit<NonNullable<Parameters<typeof startApi>[2]>, 'runbooksDir'>;
  /** A ControlEndpoint with this HMAC secret, which the worker knows as `webhookSecretEnv`. */
  controlEndpoint?: { secret: string };
  /** A real SMTP server (`stack.mail`) that receives the worker's pages and notices. */
  mailSink?: boolean;
  /** Drill mail goes to a folder of the stack's own (`stack.drillOutbox`). */
  drillOutbox?: boolean;
  /** More secrets for the worker, by environment variable name. */
  secrets?: Record<string, string>;
  /** Runbooks recorded as versions (as a trigger records them), by name (a list: shipped ones by system id): `stack.runbookVersion(name)`. */
  runbooks?: string[] | Record<string, RunbookSource>;
  /**
   * Runbook files by system id in a folder of the stack's own (`stack.runbooksDir`; empty when `{}`),
   * which the API serves. A shipped runbook is copied as written; an adjusted one is written as YAML.
   */
  runbookFiles?: string[] | Record<string, RunbookSource>;
  /** Workflow interceptor modules bundled into this stack's worker (its own bundle, not the run's). */
  workflowInterceptorModules?: string[];
}

export interface SettleOptions {
  /** Also wait until no activity at all is running in this stack's worker (a timed-out attempt still finishing, say). */
  worker?: boolean;
  timeoutMs?: number;
}

/**
 * One test file's incident stack: a fresh PostgreSQL database, a Correx worker on a Temporal server,
 * the workflow clients, and whatever else the file asks for (the HTTP API, a control endpoint, an SMTP
 * sink, runbooks). Its parts are there from the file's first hook on; reading one earlier throws.
 */
export interface IncidentStack {
  readonly database: TestDatabase;
  readonly db: Kysely<Database>;
  readonly worker: RunningWorker;
  /** The stack's own Temporal client: it outlives a restarted worker. */
  readonly client: Client;
  readonly clients: WorkflowClients;
  readonly taskQueue: string;
  readonly api: RunningApi;
  readonly endpoint: ControlEndpoint;
  readonly mail: MailSink;
  readonly environment: TestWorkflowEnvironment;
  readonly runbooksDir: string;
  readonly drillOutbox: string;
  /** The version recorded for a runbook of `options.runbooks` (the only or first one by default). */
  runbookVersion(name?: string): string;
  /** Points a runbook's webhook fallbacks (and, with `enforcement`, its enforcer) at the control endpoint. */
  routeToEndpoint(runbook: RunbookContent, options?: { enforcement?: boolean }): void;
  /** Stops the worker and starts another on the same task queue (dev server only). */
  restartWorker(): Promise<void>;
  /** Stops the worker (dev server only): tasks wait on the task queue until `startWorker`. */
  stopWorker(): Promise<void>;
  /** Starts a worker on the task queue after `stopWorker`. */
  startWorker(): Promise<void>;
  /**
   * Waits until the workflow has handled everything it was sent so far: no workflow task and no
   * activity of it outstanding. What it has not done by then, it was not about to do.
   */
  settled(workflowId: string, options?: SettleOptions): Promise<WorkflowExecutionDescription>;
}

/** Registers beforeAll/afterAll hooks that start and stop an incident stack; returns it. */
export function useIncidentStack(options: IncidentStackOptions = {}): IncidentStack {
  const stack = new Stack(options);
  beforeAll(() => stack.start());
  afterAll(() => stack.stop());
  return stack;
}

function byName(runbooks: string[] | Record<string, RunbookSource> | undefined): Record<string, RunbookSource> {
  return Array.isArray(runbooks) ? Object.fromEntries(runbooks.map((systemId) => [systemId, systemId])) : (runbooks ?? {});
}

class Stack implements IncidentStack {
  private parts: Partial<{
    database: TestDatabase;
    worker: RunningWorker;
    client: Client;
    connection: Connection;
    clients: WorkflowClients;
    api: RunningApi;
    endpoint: ControlEndpoint;
    mail: MailSink;
    environment: TestWorkflowEnvironment;
    runbooksDir: string;
    drillOutbox: string;
  }> = {};
  private readonly versions = new Map<string, string>();
  readonly taskQueue: string;

  constructor(private readonly options: IncidentStackOptions) {
    this.taskQueue = options.taskQueue ?? `test-${randomUUID()}`;
  }

  private part<K extends keyof Stack['parts']>(name: K, hint: string): NonNullable<Stack['parts'][K]> {
    const value = this.parts[name];
    if (value === undefined) throw new Error(`the incident stack has no ${name} ${hint}`);
    return value as NonNullable<Stack['parts'][K]>;
  }

  get database() {
    return this.part('database', '(yet: use it in a hook or test)');
  }
  get db() {
    return this.database.db;
  }
  get worker() {
    return this.part('worker', this.options.temporal === 'none' ? "(temporal: 'none')" : '(yet: use it in a hook or test)');
  }
  get client() {
    return this.part('client', '(yet: use it in a hook or test)');
  }
  get clients() {
    return this.part('clients', '(yet: use it in a hook or test)');
  }
  get api() {
    return this.part('api', this.options.api ? '(yet)' : '(pass `api: true`)');
  }
  get endpoint() {
    return this.part('endpoint', this.options.controlEndpoint ? '(yet)' : '(pass `controlEndpoint`)');
  }
  get mail() {
    return this.part('mail', this.options.mailSink ? '(yet)' : '(pass `mailSink: true`)');
  }
  get environment() {
    return this.part('environment', this.options.temporal === 'time-skipping' ? '(yet)' : "(pass `temporal: 'time-skipping'`)");
  }
  get runbooksDir() {
    return this.part('runbooksDir', this.options.runbookFiles ? '(yet)' : '(pass `runbookFiles`)');
  }
  get drillOutbox() {
    return this.part('drillOutbox', this.options.drillOutbox ? '(yet)' : '(pass `drillOutbox: true`)');
  }

  runbookVersion(name?: string): string {
    const key = name ?? Object.keys(byName(this.options.runbooks))[0];
    const version = key === undefined ? undefined : this.versions.get(key);
    if (version === undefined) throw new Error(`the incident stack recorded no runbook ${key ?? '(pass `runbooks`)'}`);
    return version;
  }

  // A property, so that it can be passed around unbound.
  readonly routeToEndpoint = (runbook: RunbookContent, options: { enforcement?: boolean } = {}): void => {
    if (options.enforcement) runbook.system.enforcement = { adapter: 'webhook', url: this.endpoint.url, secretEnv: webhookSecretEnv };
    routeFallbacksTo(runbook, this.endpoint.url, webhookSecretEnv);
  };

  private workerOptions(): WorkerOptions {
    const { mail, drillOutbox } = this.parts;
    return {
      taskQueue: this.taskQueue,
      // Links in mail lead to this stack's console once its API listens.
      publicUrl: () => this.parts.api?.url ?? 'http://correx.test',
      secrets: { ...(this.options.controlEndpoint ? { [webhookSecretEnv]: this.options.controlEndpoint.secret } : {}), ...this.options.secrets },
      ...(this.options.workflowInterceptorModules ? { workflowInterceptorModules: this.options.workflowInterceptorModules } : {}),
      ...(mail ? { mailer: createMailer({ smtpUrl: mail.url, outboxDir: '/nonexistent', from: 'correx@test.local' }) } : {}),
      ...(drillOutbox ? { drillMailer: createMailer({ smtpUrl: undefined, outboxDir: drillOutbox, from: 'correx@test.local' }) } : {}),
    };
  }

  private async runbook(source: RunbookSource): Promise<RunbookContent> {
    if (typeof source === 'string') return shippedRunbook(source);
    const runbook = await shippedRunbook(source.from);
    source.adjust(runbook, this);
    return runbook;
  }

  async start(): Promise<void> {
    const { options, parts } = this;
    parts.database = await createPostgresTestDatabase();
    if (options.mailSink) parts.mail = await new MailSink().start();
    if (options.controlEndpoint) parts.endpoint = await new ControlEndpoint(options.controlEndpoint.secret).start();
    if (options.drillOutbox) parts.drillOutbox = await mkdtemp(path.join(os.tmpdir(), 'correx-drill-outbox-'));

    if (options.temporal === 'time-skipping') {
      const worker = await startTimeSkippingWorker(this.db, this.workerOptions());
      parts.worker = worker;
      parts.environment = worker.environment;
      parts.client = worker.client;
    } else {
      // A client of the stack's own, so that clients and the API outlive a restarted worker.
      parts.connection = await Connection.connect({ address: inject('temporalAddress') });
      parts.client = new Client({ connection: parts.connection, namespace: await testNamespace() });
      if (options.temporal !== 'none') parts.worker = await startDevServerWorker(this.db, this.workerOptions());
    }
    parts.clients = workflowClients(this.client, this.taskQueue, this.db);

    for (const [name, source] of Object.entries(byName(options.runbooks))) this.versions.set(name, await recordRunbook(this.db, await this.runbook(source)));
    if (options.runbookFiles) {
      parts.runbooksDir = await mkdtemp(path.join(os.tmpdir(), 'correx-runbooks-'));
      for (const [systemId, source] of Object.entries(byName(options.runbookFiles))) {
        const file = path.join(parts.runbooksDir, `${systemId}.yaml`);
        if (typeof source === 'string') await copyFile(path.join(projectRoot, 'runbooks', `${source}.yaml`), file);
        else await writeFile(file, stringify(await this.runbook(source)));
      }
    }

    if (options.api) {
      parts.api = await startApi(this.db, this.apiTemporal(), {
        ...(typeof options.api === 'object' ? options.api : {}),
        ...(parts.runbooksDir ? { runbooksDir: parts.runbooksDir } : {}),
      });
    }
  }

  /** What the API talks to Temporal through: the stack's client, on the worker's task queue. */
  private apiTemporal(): RunningWorker {
    const connection = this.parts.connection ?? this.worker.connection;
    return { ...this.worker, client: this.client, connection };
  }

  async restartWorker(): Promise<void> {
    await this.stopWorker();
    await this.startWorker();
  }

  async stopWorker(): Promise<void> {
    if (this.options.temporal === 'time-skipping' || this.options.temporal === 'none') throw new Error('only a dev-server stack restarts its worker');
    const previous = this.worker;
    this.parts.worker = undefined;
    await previous.stop();
  }

  async startWorker(): Promise<void> {
    if (this.parts.worker) throw new Error('the stack has a worker running');
    this.parts.worker = await startDevServerWorker(this.db, this.workerOptions());
  }

  async settled(workflowId: string, options: SettleOptions = {}): Promise<WorkflowExecutionDescription> {
    const handle = this.client.workflow.getHandle(workflowId);
    let quietAt = -1;
    return eventually(async () => {
      const description = await handle.describe();
      if (description.status.name !== 'RUNNING') return description;
      const { raw } = description;
      const busy =
        !!raw.pendingWorkflowTask ||
        (raw.pendingActivities?.length ?? 0) > 0 ||
        (options.worker === true && this.worker.worker.getStatus().numInFlightActivities > 0);
      if (!busy && description.historyLength === quietAt) return description;
      quietAt = busy ? -1 : description.historyLength;
      // A query is answered only once the workflow has handled what is due (a fired timer, say), so
      // whatever that starts shows by the next look; the time-skipping server lists no workflow task.
      await handle.query('__stack_trace').catch(() => {});
      return undefined;
    }, options.timeoutMs);
  }

  async stop(): Promise<void> {
    const { parts } = this;
    const steps: (() => Promise<unknown> | undefined)[] = [
      () => parts.api?.close(),
      () => parts.worker?.stop(),
      () => parts.connection?.close(),
      () => parts.endpoint?.stop(),
      () => parts.mail?.stop(),
      () => parts.database?.destroy(),
      () => (parts.runbooksDir ? rm(parts.runbooksDir, { recursive: true, force: true }) : undefined),
      () => (parts.drillOutbox ? rm(parts.drillOutbox, { recursive: true, force: true }) : undefined),
    ];
    const errors: unknown[] = [];
    for (const step of steps) {
      try {
        await step();
      } catch (error) {
        errors.push(error);
      }
    }
    this.parts = {};
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'the incident stack did not stop cleanly');
  }
}
