import { z } from 'zod';
import { OperatorError, describeZodIssues } from './errors.js';

const port = z.coerce.number().int().min(1, 'must be a port number (1-65535)').max(65535, 'must be a port number (1-65535)');
const hostPort = z.string().regex(/^[^\s:/]+:\d{1,5}$/, 'must be host:port, e.g. localhost:7233');

const postgresUrl = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return url.protocol === 'postgres:' || url.protocol === 'postgresql:';
  } catch {
    return false;
  }
}, 'must be a postgres:// or postgresql:// URL, e.g. postgres://user:password@localhost:5432/correx');

const optionalString = z
  .string()
  .transform((v) => v.trim())
  .pipe(z.string())
  .optional()
  .transform((v) => (v ? v : undefined));

/** Every environment variable Correx reads, with its default. docs/deploy.md's table of environment variables mirrors this. */
export const environmentSchema = z.object({
  DATABASE_URL: optionalString.pipe(postgresUrl.optional()),
  CORREX_DATA_DIR: z.string().min(1).default('.correx'),
  TEMPORAL_ADDRESS: optionalString.pipe(hostPort.optional()),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('correx'),
  TEMPORAL_DEV_PORT: port.default(7233),
  TEMPORAL_UI_PORT: port.default(8233),
  TEMPORAL_CLI_PATH: optionalString,
  /** The Temporal web UI operators use (e.g. https://temporal.example.com); the API and console link each incident's workflow there. */
  CORREX_TEMPORAL_UI_URL: optionalString.pipe(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. https://temporal.example.com' }).optional()),
  /** TLS to the Temporal frontend (Temporal Cloud, a self-hosted cluster behind TLS). */
  TEMPORAL_TLS: optionalString.pipe(z.enum(['true', 'false'], "must be 'true' or 'false'").optional()),
  TEMPORAL_TLS_CERT_FILE: optionalString,
  TEMPORAL_TLS_KEY_FILE: optionalString,
  TEMPORAL_TLS_CA_FILE: optionalString,
  TEMPORAL_TLS_SERVER_NAME: optionalString,
  /** Temporal Cloud API key (implies TLS). */
  TEMPORAL_API_KEY: optionalString,
  /** `correx worker`'s health and readiness endpoints. */
  CORREX_WORKER_HEALTH_PORT: port.default(8081),
  CORREX_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  CORREX_HTTP_PORT: port.default(8080),
  /** Where people reach the console (links in pages and notices); http://localhost:<CORREX_HTTP_PORT> when unset. */
  CORREX_PUBLIC_URL: optionalString.pipe(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. https://correx.example.com' }).optional()),
  CORREX_RUNBOOKS: z.string().min(1).default('runbooks'),
  CORREX_SIGNING_KEY_FILE: optionalString,
  /** Behind a load balancer: trust its X-Forwarded-For (true, a hop count, or addresses/CIDRs, comma-separated). */
  CORREX_TRUST_PROXY: optionalString,
  CORREX_RATE_LIMIT: z.coerce.number().int().min(1, 'must be at least 1 request a minute').default(1200),
  CORREX_INGEST_RATE_LIMIT: z.coerce.number().int().min(1, 'must be at least 1 request a minute').default(60_000),
  SMTP_URL: optionalString.pipe(
    z
      .string()
      .regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL')
      .optional(),
  ),
  CORREX_MAIL_FROM: z.email('must be an email address').default('correx@localhost'),
  /** Matrix (docs/matrix.md): the homeserver of Correx's own account, and that account's access token (a file wins). */
  CORREX_MATRIX_HOMESERVER: optionalString.pipe(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. https://matrix.example.com' }).optional()),
  CORREX_MATRIX_ACCESS_TOKEN_FILE: optionalString,
  CORREX_MATRIX_ACCESS_TOKEN: optionalString,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Environment = z.infer<typeof environmentSchema>;

export interface Config {
  databaseUrl: string | undefined;
  dataDir: string;
  temporal: {
    /** Unset: `correx dev` starts its own dev server; other commands use localhost:7233. */
    address: string | undefined;
    namespace: string;
    taskQueue: string;
    devPort: number;
    uiPort: number;
    cliPath: string | undefined;
    /** Set when the frontend speaks TLS: CA, server name and client certificate as files (read at start). */
    tls: { certFile?: string; keyFile?: string; caFile?: string; serverName?: string } | undefined;
    apiKey: string | undefined;
    /** The Temporal web UI's address without a trailing slash (`CORREX_TEMPORAL_UI_URL`); unset: no links to it. */
    uiUrl: string | undefined;
  };
  workerHealthPort: number;
  http: { host: string; port: number; rateLimit: { perMinute: number; ingestPerMinute: number }; trustProxy?: boolean | number | string[] };
  runbooksDir: string;
  /** The origin people reach the console at, without a trailing slash: the links in pages and notices. */
  publicUrl: string;
  /** Ed25519 private key (PKCS#8 PEM) for export manifests; unset in local mode: one kept in the data folder. */
  signingKeyFile: string | undefined;
  smtpUrl: string | undefined;
  mailFrom: string;
  /** Matrix paging and incident rooms; unset: no Matrix. */
  matrix: { homeserver: string; accessTokenFile?: string; accessToken?: string } | undefined;
  logLevel: Environment['LOG_LEVEL'];
}

/** Reads the environment; every bad variable is reported at once, one line each. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = environmentSchema.safeParse(env);
  if (!parsed.success) {
    const lines = describeZodIssues(parsed.error);
    throw new OperatorError(`invalid configuration: ${lines.join('; ')}`, lines);
  }
  const e = parsed.data;
  const problems: string[] = [];
  if (Boolean(e.TEMPORAL_TLS_CERT_FILE) !== Boolean(e.TEMPORAL_TLS_KEY_FILE))
    problems.push('TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE: give both (mTLS client certificate and its key) or neither');
  if (e.TEMPORAL_TLS === 'false' && (e.TEMPORAL_API_KEY || e.TEMPORAL_TLS_CERT_FILE || e.TEMPORAL_TLS_CA_FILE))
    problems.push('TEMPORAL_TLS: is false, but TLS files or an API key are set (they need TLS)');
  if (e.CORREX_MATRIX_HOMESERVER && !e.CORREX_MATRIX_ACCESS_TOKEN_FILE && !e.CORREX_MATRIX_ACCESS_TOKEN)
    problems.push(
      "CORREX_MATRIX_HOMESERVER: is set, but neither CORREX_MATRIX_ACCESS_TOKEN_FILE nor CORREX_MATRIX_ACCESS_TOKEN (Correx's Matrix account's token)",
    );
  if (!e.CORREX_MATRIX_HOMESERVER && (e.CORREX_MATRIX_ACCESS_TOKEN_FILE || e.CORREX_MATRIX_ACCESS_TOKEN))
    problems.push('CORREX_MATRIX_HOMESERVER: a Matrix access token is set but not the homeserver it is for');
  if (problems.length) throw new OperatorError(`invalid configuration: ${problems.join('; ')}`, problems);
  return {
    databaseUrl: e.DATABASE_URL,
    dataDir: e.CORREX_DATA_DIR,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      devPort: e.TEMPORAL_DEV_PORT,
      uiPort: e.TEMPORAL_UI_PORT,
      cliPath: e.TEMPORAL_CLI_PATH,
      tls:
        e.TEMPORAL_TLS === 'true' || e.TEMPORAL_API_KEY || e.TEMPORAL_TLS_CERT_FILE || e.TEMPORAL_TLS_CA_FILE
          ? {
              ...(e.TEMPORAL_TLS_CERT_FILE ? { certFile: e.TEMPORAL_TLS_CERT_FILE } : {}),
              ...(e.TEMPORAL_TLS_KEY_FILE ? { keyFile: e.TEMPORAL_TLS_KEY_FILE } : {}),
              ...(e.TEMPORAL_TLS_CA_FILE ? { caFile: e.TEMPORAL_TLS_CA_FILE } : {}),
              ...(e.TEMPORAL_TLS_SERVER_NAME ? { serverName: e.TEMPORAL_TLS_SERVER_NAME } : {}),
            }
          : undefined,
      apiKey: e.TEMPORAL_API_KEY,
      uiUrl: e.CORREX_TEMPORAL_UI_URL?.replace(/\/+$/, ''),
    },
    workerHealthPort: e.CORREX_WORKER_HEALTH_PORT,
    http: {
      host: e.CORREX_HTTP_HOST,
      port: e.CORREX_HTTP_PORT,
      rateLimit: { perMinute: e.CORREX_RATE_LIMIT, ingestPerMinute: e.CORREX_INGEST_RATE_LIMIT },
      ...(e.CORREX_TRUST_PROXY
        ? {
            trustProxy:
              e.CORREX_TRUST_PROXY === 'true'
                ? true
                : /^\d+$/.test(e.CORREX_TRUST_PROXY)
                  ? Number(e.CORREX_TRUST_PROXY)
                  : e.CORREX_TRUST_PROXY.split(',').map((a) => a.trim()),
          }
        : {}),
    },
    runbooksDir: e.CORREX_RUNBOOKS,
    publicUrl: (e.CORREX_PUBLIC_URL ?? `http://localhost:${e.CORREX_HTTP_PORT}`).replace(/\/+$/, ''),
    signingKeyFile: e.CORREX_SIGNING_KEY_FILE,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.CORREX_MAIL_FROM,
    matrix: e.CORREX_MATRIX_HOMESERVER
      ? {
          homeserver: e.CORREX_MATRIX_HOMESERVER.replace(/\/+$/, ''),
          ...(e.CORREX_MATRIX_ACCESS_TOKEN_FILE ? { accessTokenFile: e.CORREX_MATRIX_ACCESS_TOKEN_FILE } : {}),
          ...(e.CORREX_MATRIX_ACCESS_TOKEN ? { accessToken: e.CORREX_MATRIX_ACCESS_TOKEN } : {}),
        }
      : undefined,
    logLevel: e.LOG_LEVEL,
  };
}
