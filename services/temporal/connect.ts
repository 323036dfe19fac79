import { readFileSync } from 'node:fs';
import { Connection } from '@temporalio/client';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow/tls-config.js';
import { NativeConnection } from '@temporalio/worker';
import { withBackoff } from '../backoff.js';
import type { Config } from '../config.js';
import { OperatorError } from '../errors.js';

export interface TemporalTarget {
  address: string;
  namespace: string;
  tls?: TLSConfig;
  apiKey?: string;
}

function readPem(variable: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new OperatorError(
      `${variable}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`,
    );
  }
}

/** Where and how to reach Temporal, from the configuration; TLS files are read (and checked) here, at start. */
export function temporalTarget(config: Config, address: string): TemporalTarget {
  const t = config.temporal;
  const tls: TLSConfig | undefined = t.tls
    ? {
        ...(t.tls.serverName ? { serverNameOverride: t.tls.serverName } : {}),
        ...(t.tls.caFile ? { serverRootCACertificate: readPem('TEMPORAL_TLS_CA_FILE', t.tls.caFile) } : {}),
        ...(t.tls.certFile && t.tls.keyFile
          ? { clientCertPair: { crt: readPem('TEMPORAL_TLS_CERT_FILE', t.tls.certFile), key: readPem('TEMPORAL_TLS_KEY_FILE', t.tls.keyFile) } }
          : {}),
      }
    : undefined;
  return { address, namespace: t.namespace, ...(tls ? { tls } : {}), ...(t.apiKey ? { apiKey: t.apiKey } : {}) };
}

const describe = (target: TemporalTarget) => `${target.address}${target.tls ? ' (TLS)' : ''}`;

function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.replace(/^\d+ [A-Z_]+: /, '');
}

/**
 * A client connection that has proved the server answers and the namespace exists, or one clear
 * error. While the server does not answer it retries with backoff for `waitSeconds`, saying so
 * through `onWaiting` (a cluster being restarted, a dev server still starting).
 */
export async function connectTemporal(target: TemporalTarget, options: { waitSeconds?: number; onWaiting?: (line: string) => void } = {}): Promise<Connection> {
  const attempt = async () => {
    const connection = await Connection.connect({
      address: target.address,
      connectTimeout: '3s',
      ...(target.tls ? { tls: target.tls } : {}),
      ...(target.apiKey ? { apiKey: target.apiKey } : {}),
    });
    try {
      await connection.workflowService.describeNamespace({ namespace: target.namespace });
    } catch (error) {
      await connection.close();
      const code = (error as { code?: number }).code;
      if (code === 5) throw new OperatorError(`Temporal at ${describe(target)} has no namespace '${target.namespace}' (TEMPORAL_NAMESPACE)`);
      if (code === 16 || code === 7)
        throw new OperatorError(`Temporal at ${describe(target)} refused the credentials: ${reason(error)} (TEMPORAL_API_KEY / TEMPORAL_TLS_CERT_FILE)`);
      throw error;
    }
    return connection;
  };
  try {
    return await withBackoff(attempt, {
      waitSeconds: options.waitSeconds ?? 5,
      retryable: (error) => !(error instanceof OperatorError),
      waiting: (error) => `Temporal at ${describe(target)} does not answer (${reason(error)})`,
      ...(options.onWaiting ? { onWaiting: options.onWaiting } : {}),
    });
  } catch (error) {
    if (error instanceof OperatorError) throw error;
    throw new OperatorError(`cannot reach Temporal at ${describe(target)}: ${reason(error)}`);
  }
}

/** The worker's own (Rust core) connection; call after `connectTemporal` has proved the server is up. */
export async function connectWorkerTransport(target: TemporalTarget): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect({
      address: target.address,
      ...(target.tls ? { tls: target.tls } : {}),
      ...(target.apiKey ? { apiKey: target.apiKey } : {}),
    });
  } catch (error) {
    throw new OperatorError(`cannot reach Temporal at ${target.address}: ${reason(error)}`);
  }
}

/** For health checks: true when the frontend answers within two seconds. */
export async function temporalReachable(connection: Connection): Promise<boolean> {
  try {
    await connection.withDeadline(Date.now() + 2_000, () => connection.healthService.check({}));
    return true;
  } catch {
    return false;
  }
}
