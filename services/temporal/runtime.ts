import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';

const levels: Record<string, LogLevel> = { trace: 'TRACE', debug: 'DEBUG', info: 'WARN', warn: 'WARN', error: 'ERROR', fatal: 'ERROR', silent: 'ERROR' };

/**
 * Installs the worker runtime once per process, before any worker connection. Correx handles
 * SIGINT/SIGTERM itself (to stop the HTTP service and the dev server too), so the SDK must not.
 * At `info`, the SDK's own chatter (bundle sizes, state changes) stays quiet.
 */
export function installWorkerRuntime(logLevel: string): void {
  try {
    Runtime.install({ logger: new DefaultLogger(levels[logLevel] ?? 'WARN'), shutdownSignals: [] });
  } catch {
    // Already installed in this process (tests create several workers).
  }
}
