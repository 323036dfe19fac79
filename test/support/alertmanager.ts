import { execFile, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { freePorts } from './cli.js';

/**
 * The real Prometheus Alertmanager (Debian's `prometheus-alertmanager`, installed by
 * `scripts/setup.sh --postgres`) on a random loopback port, with clustering off, routing every alert
 * to one webhook receiver named `correx` that sends `Authorization: Bearer <token>`.
 *
 * Alertmanager 0.25 behaviour worth knowing when testing against it:
 * - group_interval and repeat_interval must be > 0 (any Go duration, `100ms` is accepted);
 *   group_wait may be 0. Notifications only go out on group ticks, so a repeat arrives on the first
 *   tick more than repeat_interval after the last one (with 1s/2s: about 3 s later).
 * - A resolved notification goes out on the next group tick, and only for alerts that were notified
 *   as firing: an alert resolved before group_wait ran out is never sent at all.
 * - Webhook answered 4xx: not retried within the flush, but nothing is logged as sent, so the same
 *   notification is sent again on every group tick. 5xx / connection errors: retried with backoff
 *   (from 0.5 s) for at least 10 s per flush, blocking that group's ticks meanwhile.
 */

export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  /** RFC 3339; Alertmanager uses the time it receives the alert when absent. */
  startsAt?: string;
  /** RFC 3339; now or in the past resolves the alert. Absent: resolve_timeout (5 m) after receipt. */
  endsAt?: string;
  generatorURL?: string;
}

/** What Alertmanager 0.25's webhook receiver POSTs (JSON, `version: "4"`). */
export interface AlertmanagerWebhookPayload {
  version: string;
  /** Stable per route and group labels, e.g. `{}:{alertname="X", system="y"}`. */
  groupKey: string;
  truncatedAlerts: number;
  /** `resolved` only when every alert in the message is resolved. */
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: {
    status: 'firing' | 'resolved';
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: string;
    /** `0001-01-01T00:00:00Z` while firing. */
    endsAt: string;
    generatorURL: string;
    /** 16 hex digits, a hash of the labels. */
    fingerprint: string;
  }[];
}

export interface AlertmanagerOptions {
  webhookUrl: string;
  bearerToken: string;
  /** Defaults: 500ms / 1s / 2s, so a first notification comes within ~0.5 s and a repeat ~3 s later. */
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
  /** Default `['alertname']`; `['...']` groups by all labels (one group per alert). */
  groupBy?: string[];
  /** Default true. */
  sendResolved?: boolean;
  /** Alerts per webhook message; 0 (default) is unlimited. Extra ones are counted in `truncatedAlerts`. */
  maxAlerts?: number;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** How long to wait for `/-/ready`; default 15 s. */
  startTimeoutMs?: number;
}

export interface RunningAlertmanager {
  /** `http://127.0.0.1:<port>`; also the `externalURL` in its webhook payloads. */
  url: string;
  configFile: string;
  /**
   * Posts alerts the way an operator or Prometheus would: with `amtool alert add` (one run per alert,
   * the default) or in one `POST /api/v2/alerts` request (`via: 'api'`, atomic even with group_wait 0).
   */
  postAlerts(alerts: AlertmanagerAlert[], options?: { via?: 'amtool' | 'api' }): Promise<void>;
  /** Posts the alerts again with `endsAt` now, which resolves them. */
  resolveAlerts(alerts: AlertmanagerAlert[], options?: { via?: 'amtool' | 'api' }): Promise<void>;
  /** Everything Alertmanager logged so far (logfmt). */
  logs(): string;
  stop(): Promise<void>;
}

const LOG_LIMIT = 200_000;

function onPath(...names: string[]): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    for (const name of names) {
      const candidate = path.join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

function binaries(): { alertmanager: string; amtool: string } {
  const alertmanager = onPath('prometheus-alertmanager', 'alertmanager');
  const amtool = onPath('amtool');
  if (!alertmanager || !amtool) {
    throw new Error("prometheus-alertmanager / amtool not on PATH: run scripts/setup.sh --postgres (it installs Debian's prometheus-alertmanager)");
  }
  return { alertmanager, amtool };
}

function lastLines(text: string, count = 20): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}

/** A label or annotation value as an amtool matcher value: quoted, with `\`, `"` and newlines escaped. */
function amtoolValue(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

export async function startAlertmanager(options: AlertmanagerOptions): Promise<RunningAlertmanager> {
  const bin = binaries();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'correx-alertmanager-'));
  const configFile = path.join(dir, 'alertmanager.yml');
  const storage = path.join(dir, 'data');
  await mkdir(storage);
  await writeFile(
    configFile,
    stringify({
      route: {
        receiver: 'correx',
        group_by: options.groupBy ?? ['alertname'],
        group_wait: options.groupWait ?? '500ms',
        group_interval: options.groupInterval ?? '1s',
        repeat_interval: options.repeatInterval ?? '2s',
      },
      receivers: [
        {
          name: 'correx',
          webhook_configs: [
            {
              url: options.webhookUrl,
              send_resolved: options.sendResolved ?? true,
              max_alerts: options.maxAlerts ?? 0,
              http_config: { authorization: { type: 'Bearer', credentials: options.bearerToken } },
            },
          ],
        },
      ],
    }),
  );

  // A free port can be taken between probing and binding it: try a few.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(bin, dir, configFile, storage, options);
    } catch (error) {
      if (attempt < 3 && /address already in use/.test((error as Error).message)) continue;
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }
}

async function launch(
  bin: { alertmanager: string; amtool: string },
  dir: string,
  configFile: string,
  storage: string,
  options: AlertmanagerOptions,
): Promise<RunningAlertmanager> {
  const [port] = await freePorts(1);
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    bin.alertmanager,
    [
      `--config.file=${configFile}`,
      `--storage.path=${storage}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--web.external-url=${url}`,
      // No HA gossip: nothing on :9094, and no peer-timeout wait before notifying.
      '--cluster.listen-address=',
      `--log.level=${options.logLevel ?? 'info'}`,
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  const onData = (chunk: Buffer) => {
    log += chunk.toString();
    if (log.length > LOG_LIMIT) log = log.slice(-LOG_LIMIT);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null && !spawnError;

  const kill = async () => {
    if (running()) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };

  // Wait for /-/ready (it answers once the config is loaded and the listener is up).
  const deadline = Date.now() + (options.startTimeoutMs ?? 15_000);
  for (;;) {
    if (!running()) {
      await exited;
      throw new Error(`Alertmanager exited while starting (${spawnError?.message ?? `code ${child.exitCode ?? child.signalCode}`}):\n${lastLines(log)}`);
    }
    const ready = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await kill();
      throw new Error(`Alertmanager did not answer ${url}/-/ready in time:\n${lastLines(log)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  const amtool = (args: string[]) =>
    new Promise<void>((resolve, reject) => {
      // HOME points at the scratch dir so a developer's ~/.config/amtool/config.yml cannot interfere.
      execFile(bin.amtool, args, { env: { ...process.env, HOME: dir }, timeout: 15_000 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`amtool ${args.join(' ')} failed: ${error.message}\n${stdout}${stderr}`));
        else resolve();
      });
    });

  const post = async (alerts: AlertmanagerAlert[], via: 'amtool' | 'api' = 'amtool') => {
    if (via === 'api') {
      const response = await fetch(`${url}/api/v2/alerts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alerts),
        signal: AbortSignal.timeout(10_000),
      });
      if (!response.ok) throw new Error(`POST ${url}/api/v2/alerts answered ${response.status}: ${await response.text()}`);
      return;
    }
    for (const alert of alerts) {
      const args = ['alert', 'add', `--alertmanager.url=${url}`, '--no-version-check'];
      for (const [name, value] of Object.entries(alert.annotations ?? {})) args.push(`--annotation=${name}=${amtoolValue(value)}`);
      if (alert.startsAt) args.push(`--start=${alert.startsAt}`);
      if (alert.endsAt) args.push(`--end=${alert.endsAt}`);
      if (alert.generatorURL) args.push(`--generator-url=${alert.generatorURL}`);
      args.push('--', ...Object.entries(alert.labels).map(([name, value]) => `${name}=${amtoolValue(value)}`));
      await amtool(args);
    }
  };

  let stopped = false;
  return {
    url,
    configFile,
    postAlerts: (alerts, postOptions) => post(alerts, postOptions?.via),
    resolveAlerts: (alerts, postOptions) => {
      const now = new Date().toISOString();
      return post(
        alerts.map((alert) => ({ ...alert, endsAt: now })),
        postOptions?.via,
      );
    },
    logs: () => log,
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
