import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { OperatorError } from '../errors.js';

export interface TemporalTarget {
  address: string;
  namespace: string;
}

function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.replace(/^\d+ [A-Z_]+: /, '');
}

/**
 * A client connection that has proved the server answers and the namespace exists, or one clear
 * error. `waitSeconds` keeps retrying while a server is still starting.
 */
export async function connectTemporal(target: TemporalTarget, options: { waitSeconds?: number } = {}): Promise<Connection> {
  const deadline = Date.now() + (options.waitSeconds ?? 5) * 1000;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const connection = await Connection.connect({ address: target.address, connectTimeout: '3s' });
      try {
        await connection.workflowService.describeNamespace({ namespace: target.namespace });
      } catch (error) {
        await connection.close();
        if ((error as { code?: number }).code === 5) {
          throw new OperatorError(`Temporal at ${target.address} has no namespace '${target.namespace}' (TEMPORAL_NAMESPACE)`);
        }
        throw error;
      }
      return connection;
    } catch (error) {
      if (error instanceof OperatorError) throw error;
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new OperatorError(`cannot reach Temporal at ${target.address}: ${reason(lastError)}`);
}

/** The worker's own (Rust core) connection; call after `connectTemporal` has proved the server is up. */
export async function connectWorkerTransport(target: TemporalTarget): Promise<NativeConnection> {
  try {
    return await NativeConnection.connect({ address: target.address });
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
