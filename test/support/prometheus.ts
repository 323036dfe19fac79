import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { freePorts } from './cli.js';

export interface PrometheusOptions {
  /** Alerting rules, as in a rule file's `groups[].rules`. */
  rules: Record<string, unknown>[];
  /** `host:port` of the Alertmanager the alerts go to. */
  alertmanager: string;
  /** Scrape jobs: name, `host:port`, metrics path and an optional bearer token. */
  scrape: { job: string; target: string; path?: string; bearerToken?: string }[];
  /** How often it scrapes and evaluates; default 1s. */
  interval?: string;
}

export interface RunningPrometheus {
  url: string;
  /** An instant query through its HTTP API: the result vector. */
  query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  /** Its scrape targets, as `/api/v1/targets` reports them. */
  targets(): Promise<{ labels: Record<string, string>; health: string; lastError: string }[]>;
  logs(): string;
  stop(): Promise<void>;
}

/** The real Prometheus (Debian's `prometheus`, scripts/setup.sh --postgres) on a port and a folder of its own. */
export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'correx-prometheus-'));
  const interval = options.interval ?? '1s';
  await writeFile(path.join(dir, 'rules.yml'), stringify({ groups: [{ name: 'correx-test', interval, rules: options.rules }] }));
  await writeFile(
    path.join(dir, 'prometheus.yml'),
    stringify({
      global: { scrape_interval: interval, evaluation_interval: interval },
      rule_files: [path.join(dir, 'rules.yml')],
      alerting: { alertmanagers: [{ static_configs: [{ targets: [options.alertmanager] }] }] },
      scrape_configs: options.scrape.map((s) => ({
        job_name: s.job,
        metrics_path: s.path ?? '/metrics',
        ...(s.bearerToken ? { authorization: { type: 'Bearer', credentials: s.bearerToken } } : {}),
        static_configs: [{ targets: [s.target] }],
      })),
    }),
  );
  await mkdir(path.join(dir, 'data'));
  const [port] = await freePorts(1);
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    'prometheus',
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      // A state change is sent at once anyway; this makes a firing alert's re-sends frequent too.
      '--rules.alert.resend-delay=1s',
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  const onData = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-200_000);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
    await rm(dir, { recursive: true, force: true });
  };
  for (const deadline = Date.now() + 20_000; ;) {
    if (spawnError || child.exitCode !== null) {
      await stop();
      throw new Error(`prometheus did not start (${spawnError?.message ?? `exit ${child.exitCode}`}; run scripts/setup.sh --postgres):\n${log.slice(-2000)}`);
    }
    const ready = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus did not answer ${url}/-/ready in time:\n${log.slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const api = async <T>(route: string): Promise<T> => {
    const response = await fetch(`${url}${route}`);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${route}: ${body.error ?? response.status}`);
    return body.data;
  };
  return {
    url,
    query: async (expr) =>
      (await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result,
    targets: async () =>
      (await api<{ activeTargets: { labels: Record<string, string>; health: string; lastError: string }[] }>('/api/v1/targets')).activeTargets,
    logs: () => log,
    stop,
  };
}
