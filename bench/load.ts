import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { distribution, type Distribution } from './stats.js';

export interface LoadResult {
  /** Requests answered (any status) within the duration. */
  requests: number;
  /** Requests answered with the expected status (202 unless told otherwise). */
  accepted: number;
  statuses: Record<string, number>;
  errors: number;
  seconds: number;
  perSecond: number;
  latencyMs: Distribution;
}

/**
 * Closed-loop load: `concurrency` keep-alive connections, each sending the next body as soon as the
 * previous one is answered, until `durationMs` has passed. Throughput counts answers with `expect`'s
 * status only (202 by default). Without `nextBody` each request is a GET.
 */
export async function closedLoop(options: {
  url: string;
  token?: string;
  concurrency: number;
  durationMs: number;
  nextBody?: () => string;
  /** Headers of the next request, besides content-type and authorization. */
  nextHeaders?: () => Record<string, string>;
  expect?: number;
  /** Told each answered request's latency (ms), for callers that merge several runs' distributions. */
  onLatency?: (ms: number) => void;
}): Promise<LoadResult> {
  const expected = options.expect ?? 202;
  const target = new URL(options.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  let requests = 0;
  let accepted = 0;
  let errors = 0;
  const post = (body: string | undefined) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          agent,
          host: target.hostname,
          port: target.port,
          path: `${target.pathname}${target.search}`,
          method: body === undefined ? 'GET' : 'POST',
          headers: {
            ...(body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
            ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
            ...options.nextHeaders?.(),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const started = performance.now();
  const deadline = started + options.durationMs;
  const loop = async () => {
    while (performance.now() < deadline) {
      const body = options.nextBody?.();
      const sent = performance.now();
      try {
        const status = await post(body);
        requests += 1;
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status === expected) accepted += 1;
        const latency = performance.now() - sent;
        latencies.push(latency);
        options.onLatency?.(latency);
      } catch {
        errors += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, loop));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return { requests, accepted, statuses, errors, seconds, perSecond: accepted / seconds, latencyMs: distribution(latencies) };
}
