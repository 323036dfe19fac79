import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { localAdminTokenFile } from '../access/local-admin.js';
import { loadConfig } from '../config.js';
import { connectionFailureReason, OperatorError } from '../errors.js';
import { CliError, ExitCode, exitCodeForStatus } from './exit.js';

// ---- connection settings ----

/** The options every command that talks to the API takes (`withApi` in ./define.ts). */
export interface ConnectionOptions {
  server?: string;
  token?: string;
  profile?: string;
  json?: boolean;
}

const ServerUrl = z.string().refine((text) => {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && !url.search && !url.hash;
  } catch {
    return false;
  }
}, 'must be an http:// or https:// URL, e.g. https://correx.example.com');

const ProfileFile = z.object({
  profiles: z.record(
    z.string().min(1),
    z.strictObject({
      server: ServerUrl.optional(),
      token: z.string().trim().min(1, 'must not be empty').optional(),
    }),
  ),
});

export interface Connection {
  /** Base URL without a trailing slash. */
  server: string;
  token: string;
  /** Where the token came from, for messages about a refused token. */
  tokenSource: string;
}

export function profileFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.CORREX_CONFIG || path.join(os.homedir(), '.config', 'correx', 'config.json');
}

async function readProfile(name: string, explicit: boolean, env: NodeJS.ProcessEnv): Promise<{ server?: string; token?: string; file: string } | undefined> {
  const file = profileFilePath(env);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      if (explicit)
        throw new CliError(
          `no profile file ${file} (for profile '${name}'); create it as {"profiles": {"${name}": {"server": "…", "token": "…"}}}`,
          ExitCode.usage,
        );
      return undefined;
    }
    throw new OperatorError(`cannot read the profile file ${file}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new OperatorError(`invalid profile file ${file}: not JSON (${(error as Error).message})`);
  }
  const parsed = ProfileFile.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.map(String).join('.') || '(top level)'}: ${issue.message}`);
    throw new OperatorError(`invalid profile file ${file}: ${problems.join('; ')}`);
  }
  const profile = parsed.data.profiles[name];
  if (!profile) {
    if (explicit) throw new CliError(`no profile '${name}' in ${file} (it has: ${Object.keys(parsed.data.profiles).join(', ') || 'none'})`, ExitCode.usage);
    return undefined;
  }
  return { ...profile, file };
}

const trimSlash = (url: string) => url.replace(/\/+$/, '');

/** The URL a client on this machine reaches the local HTTP service at. */
function localServer(host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

/**
 * Server and token, each from the first that sets it: flags, CORREX_SERVER / CORREX_TOKEN, the
 * profile, local mode (the token `correx dev` wrote to $CORREX_DATA_DIR/local-admin.token, for the
 * local server only).
 */
export async function resolveConnection(options: ConnectionOptions, env: NodeJS.ProcessEnv = process.env): Promise<Connection> {
  if (options.server !== undefined) {
    const checked = ServerUrl.safeParse(options.server);
    if (!checked.success) throw new CliError(`--server: ${checked.error.issues[0]!.message}`, ExitCode.usage);
  }
  if (options.token !== undefined && !options.token.trim()) throw new CliError('--token: must not be empty', ExitCode.usage);
  if (env.CORREX_SERVER) {
    const checked = ServerUrl.safeParse(env.CORREX_SERVER);
    if (!checked.success) throw new OperatorError(`invalid configuration: CORREX_SERVER: ${checked.error.issues[0]!.message}`);
  }

  const profileName = options.profile ?? (env.CORREX_PROFILE || 'default');
  const explicitProfile = options.profile !== undefined || Boolean(env.CORREX_PROFILE);
  const profile = await readProfile(profileName, explicitProfile, env);

  let server = options.server ?? (env.CORREX_SERVER || undefined) ?? profile?.server;
  let token: string | undefined;
  let tokenSource = '';
  if (options.token !== undefined) [token, tokenSource] = [options.token.trim(), '--token'];
  else if (env.CORREX_TOKEN?.trim()) [token, tokenSource] = [env.CORREX_TOKEN.trim(), '$CORREX_TOKEN'];
  else if (profile?.token) [token, tokenSource] = [profile.token, `profile '${profileName}' in ${profile.file}`];

  let localFile: string | undefined;
  if (!server || !token) {
    const config = loadConfig(env);
    const local = localServer(config.http.host, config.http.port);
    server ??= local;
    // The local administrator's token only ever goes to the local server.
    if (!token && trimSlash(server) === local) {
      localFile = localAdminTokenFile(config.dataDir);
      const secret = (await readFile(localFile, 'utf8').catch(() => '')).trim();
      if (secret) [token, tokenSource] = [secret, `local mode (${localFile})`];
    }
  }
  if (!token) {
    const local = localFile ? `, or run \`correx dev\` (local mode writes ${localFile})` : '';
    throw new CliError(
      `no API token for ${trimSlash(server)}: pass --token, set CORREX_TOKEN, or add "token" to profile '${profileName}' in ${profileFilePath(env)}${local}`,
      ExitCode.unauthorized,
    );
  }
  return { server: trimSlash(server), token, tokenSource };
}

// ---- HTTP ----

interface ProblemBody {
  title?: string;
  status?: number;
  detail?: string;
  errors?: { path: string; message: string }[];
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ').trim();

/** `<detail or title>` with the field errors the detail does not already name. */
export function describeProblem(problem: ProblemBody, fallback: string): string {
  let text = oneLine(problem.detail || problem.title || fallback);
  const missing = (problem.errors ?? []).map((e) => `${e.path}: ${oneLine(e.message)}`).filter((e) => !text.includes(e));
  if (missing.length > 0) text += `: ${missing.join('; ')}`;
  return text;
}

export type Query = Record<string, string | number | boolean | undefined>;

/** Correx could not be reached or was briefly unavailable: the request may or may not have taken effect. */
export class TransientApiError extends CliError {
  constructor(
    message: string,
    code: ExitCode,
    readonly retryAfterMs?: number,
  ) {
    super(message, code);
  }
}

/** A thin client of the Correx HTTP API: JSON in and out, problem+json errors as CliError with their exit code. */
export class ApiClient {
  constructor(
    readonly connection: Connection,
    private readonly timeoutMs = 60_000,
  ) {}

  static async connect(options: ConnectionOptions): Promise<ApiClient> {
    return new ApiClient(await resolveConnection(options));
  }

  get<T>(route: string, query: Query = {}): Promise<T> {
    return this.request<T>('GET', route, { query });
  }

  post<T>(route: string, body: unknown = {}): Promise<T> {
    return this.request<T>('POST', route, { body });
  }

  delete<T>(route: string): Promise<T> {
    return this.request<T>('DELETE', route, {});
  }

  /**
   * POSTs an action that must not happen twice: with a fresh `Idempotency-Key` for this call, sent
   * unchanged on each retry. While Correx cannot be reached or answers 502, 503 or 504, the request
   * may or may not have taken effect, so it is sent again (after Retry-After, at most `attempts` times
   * in all); the key makes Correx answer a repeat with the first outcome instead of acting again.
   */
  async postIdempotent<T>(route: string, body: unknown, options: { attempts?: number; onRetry?: (line: string) => void } = {}): Promise<T> {
    const key = randomUUID();
    const attempts = options.attempts ?? 4;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.request<T>('POST', route, { body, headers: { 'idempotency-key': key } });
      } catch (error) {
        if (!(error instanceof TransientApiError) || attempt >= attempts) throw error;
        const waitMs = Math.min(error.retryAfterMs ?? 1_000 * 2 ** (attempt - 1), 10_000);
        (options.onRetry ?? ((line: string) => process.stderr.write(`correx: ${line}\n`)))(
          `${error.message}; retrying in ${waitMs / 1000} s with the same Idempotency-Key`,
        );
        await new Promise((resolve) => setTimeout(resolve, waitMs));
      }
    }
  }

  async request<T>(method: string, route: string, options: { query?: Query; body?: unknown; headers?: Record<string, string> }): Promise<T> {
    const { server, token } = this.connection;
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(options.query ?? {})) if (value !== undefined) search.set(key, String(value));
    const queryString = search.toString();
    const url = `${server}${route}${queryString ? `?${queryString}` : ''}`;
    const headers: Record<string, string> = { ...options.headers, accept: 'application/json, application/problem+json', authorization: `Bearer ${token}` };
    if (options.body !== undefined) headers['content-type'] = 'application/json';

    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
        throw new TransientApiError(`Correx at ${server} did not answer ${method} ${route} within ${this.timeoutMs / 1000} s`, ExitCode.failure);
      }
      const cause = error instanceof Error && error.cause !== undefined ? error.cause : error;
      throw new TransientApiError(`cannot reach Correx at ${server}: ${connectionFailureReason(cause)}`, ExitCode.failure);
    }

    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (response.ok) {
      if (text && body === undefined) throw new CliError(`Correx at ${server} answered ${method} ${route} with something other than JSON`, ExitCode.failure);
      return body as T;
    }
    const problem = typeof body === 'object' && body !== null ? (body as ProblemBody) : {};
    let message = `${describeProblem(problem, response.statusText || 'request failed')} (HTTP ${response.status})`;
    if (response.status === 401) message += `; token from ${this.connection.tokenSource}`;
    if ([502, 503, 504].includes(response.status)) {
      const retryAfter = Number(response.headers.get('retry-after'));
      throw new TransientApiError(
        message,
        exitCodeForStatus(response.status),
        Number.isFinite(retryAfter) && response.headers.has('retry-after') ? retryAfter * 1000 : undefined,
      );
    }
    throw new CliError(message, exitCodeForStatus(response.status));
  }
}

// ---- command-line input ----

/**
 * Validates command-line input with a zod schema; each issue names the flag or argument it came
 * from (`names` maps the first path segment to it), and the command exits 2.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, names: Record<string, string> = {}): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    // A nested field may have an option of its own (`awareSince.at` is `--aware-since`).
    const option = names[issue.path.map(String).join('.')];
    if (option) return `${option}: ${issue.message}`;
    const [first, ...rest] = issue.path.map(String);
    const name = first === undefined ? '' : (names[first] ?? `--${first.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
    // One value of a list option is named by its text (`--class 'nope'`), not its position.
    const offending = issue.path.reduce<unknown>(
      (at, key) => (at !== null && typeof at === 'object' ? (at as Record<PropertyKey, unknown>)[key] : undefined),
      value,
    );
    const inList = typeof issue.path.at(-1) === 'number' && typeof offending === 'string';
    const detail = inList ? [...rest.slice(0, -1), `'${offending}'`].join('.') : rest.join('.');
    const where = [name, detail].filter(Boolean).join(' ');
    return where ? `${where}: ${issue.message}` : issue.message;
  });
  throw new CliError(`invalid input: ${problems.join('; ')}`, ExitCode.usage);
}

/** `key=value` pairs of a repeatable option, in order; the value may contain `=`. */
export function keyValues(list: string[] | undefined, flag: string): [string, string][] {
  return (list ?? []).map((item) => {
    const at = item.indexOf('=');
    if (at <= 0) throw new CliError(`${flag}: '${item}' must be key=value`, ExitCode.usage);
    return [item.slice(0, at).trim(), item.slice(at + 1)];
  });
}

/** Values of a variadic or repeated option, each also split at commas. */
export function listValues(list: string[] | undefined): string[] {
  return (list ?? [])
    .flatMap((item) => item.split(','))
    .map((item) => item.trim())
    .filter(Boolean);
}

export const Uuid = (what: string) => z.uuid(`must be ${what} id (UUID)`);

/** A UUID argument (`<id>`), or exit 2 naming it. */
export function idArgument(value: string, what: string, name = '<id>'): string {
  return parseInput(z.object({ id: Uuid(what) }), { id: value }, { id: name }).id;
}
