// Test peers (gateways, a Matrix homeserver) run as real programs: each in a process group of its own,
// killed with everything it started when it stops or when the test run ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Kills a child's whole process group (it is started detached, so it leads one). */
function killGroup(child: ChildProcess, signal: NodeJS.Signals) {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test file that fails, or a run stopped with Ctrl-C or a signal, must not leave a gateway or homeserver listening
  // (each runs in a process group of its own, so a signal to this process does not reach it).
  const killAll = () => {
    for (const child of running) killGroup(child, 'SIGKILL');
  };
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      // Then die of the signal as usual, unless someone else (vitest) handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

export interface RunningProcess {
  /** The process's id (it leads its own process group). */
  pid: number | undefined;
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts `command` in a new process group and waits until `ready()` resolves true; on failure (exit,
 * spawn error, deadline) it stops the process and throws with the tail of its log.
 */
export async function startProcess(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  dir: string,
  ready: () => Promise<boolean>,
  timeoutMs: number,
): Promise<RunningProcess> {
  installExitHook();
  const child = spawn(command, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  running.add(child);
  let log = '';
  const onData = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-200_000);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 5_000);
      // 'close' never comes when spawning failed; 'error' is enough then.
      if (!spawnError) await exited;
      clearTimeout(timer);
      // Children that outlived the leader (a uvicorn worker, say) go too.
      killGroup(child, 'SIGKILL');
      running.delete(child);
      await rm(dir, { recursive: true, force: true });
    })());
  for (const deadline = Date.now() + timeoutMs; ;) {
    if (spawnError || child.exitCode !== null || child.signalCode !== null) {
      const why = spawnError?.message ?? `exit ${child.exitCode ?? child.signalCode}`;
      await stop();
      const hint = spawnError ? `; is it installed? run scripts/setup.sh --postgres` : '';
      throw new Error(`${name} did not start (${why}${hint}):\n${log.slice(-4000)}`);
    }
    if (await ready().catch(() => false)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${name} was not ready within ${timeoutMs} ms:\n${log.slice(-4000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { pid: child.pid, log: () => log, stop };
}
