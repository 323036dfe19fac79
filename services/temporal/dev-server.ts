import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { OperatorError } from '../errors.js';

export interface DevServerOptions {
  cli: string;
  port: number;
  uiPort: number;
  namespace: string;
  /** SQLite file that keeps workflows across restarts. */
  dbFile: string;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  stop(): Promise<void>;
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Starts `temporal server start-dev` (the real Temporal server on SQLite, with its web UI) bound to
 * 127.0.0.1. The caller waits for it to answer with `connectTemporal`.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  for (const [name, port] of [
    ['TEMPORAL_DEV_PORT', options.port],
    ['TEMPORAL_UI_PORT', options.uiPort],
  ] as const) {
    if (await portInUse(port)) {
      throw new OperatorError(
        `port ${port} is already in use (another Temporal server or correx dev?); stop it, set ${name}, or point TEMPORAL_ADDRESS at the running server`,
      );
    }
  }
  await mkdir(path.dirname(options.dbFile), { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--ui-port',
    String(options.uiPort),
    '--db-filename',
    options.dbFile,
    '--log-level',
    'warn',
    '--ui-disable-news-fetch',
    ...(options.namespace === 'default' ? [] : ['--namespace', options.namespace]),
    '--dynamic-config-value',
    'frontend.enableExecuteMultiOperation=true',
  ];
  const child: ChildProcess = spawn(options.cli, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderrTail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString()).slice(-2000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.once('error', () => {});

  const early = await Promise.race([exited, new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), 300))]);
  if (early !== 'running') {
    const last = stderrTail.trim().split('\n').pop() ?? '';
    throw new OperatorError(`the Temporal dev server (${options.cli}) exited at start (code ${early})${last ? `: ${last}` : ''}`);
  }

  return {
    address: `127.0.0.1:${options.port}`,
    uiUrl: `http://127.0.0.1:${options.uiPort}`,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
