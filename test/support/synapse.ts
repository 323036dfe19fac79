import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { freePorts } from './cli.js';
import { projectRoot } from './environment.js';
import { startProcess } from './process.js';

/**
 * A real Matrix homeserver for tests: Synapse (scripts/setup.sh --postgres installs the pinned release
 * into .tools/synapse and writes its python to .tools/synapse.env) on a free port, with SQLite in a
 * folder of its own, registration closed except through the shared-secret admin API, no federation
 * listener, and rate limits raised so a test is never throttled. Killed on stop() and when the test
 * process exits.
 */

export interface SynapseUser {
  userId: string;
  accessToken: string;
}

export interface Synapse {
  /** The client-server API's base URL, `http://127.0.0.1:<port>`. */
  url: string;
  serverName: string;
  /** How long it took from spawn to `/_matrix/client/versions` answering. */
  startedInMs: number;
  /** Registers `localpart` (through `/_synapse/admin/v1/register`) and returns its access token. */
  register(localpart: string, options?: { admin?: boolean; displayName?: string }): Promise<SynapseUser>;
  log(): string;
  stop(): Promise<void>;
}

/** SYNAPSE_PYTHON: from the environment, else from what scripts/setup.sh wrote. */
export function synapsePython(): string {
  if (process.env.SYNAPSE_PYTHON) return process.env.SYNAPSE_PYTHON;
  try {
    const text = readFileSync(path.join(projectRoot, '.tools', 'synapse.env'), 'utf8');
    const line = text.split('\n').find((l) => l.startsWith('SYNAPSE_PYTHON='));
    if (line) return line.slice('SYNAPSE_PYTHON='.length).trim();
  } catch {
    // explained below
  }
  throw new Error('Synapse not found: run scripts/setup.sh --postgres (it writes .tools/synapse.env)');
}

/** An unpadded base64 ed25519 seed, the format of Synapse's signing key file (so no `--generate-keys` run is needed). */
function signingKey(): string {
  return `ed25519 a_test ${randomBytes(32).toString('base64').replace(/=+$/, '')}\n`;
}

const lots = { per_second: 10_000, burst_count: 10_000 };

export async function startSynapse(options: { timeoutMs?: number } = {}): Promise<Synapse> {
  const python = synapsePython();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'correx-synapse-'));
  const [port] = await freePorts(1);
  const serverName = 'localhost';
  const sharedSecret = randomBytes(24).toString('hex');
  const config = {
    server_name: serverName,
    pid_file: path.join(dir, 'homeserver.pid'),
    public_baseurl: `http://127.0.0.1:${port}/`,
    listeners: [{ port, bind_addresses: ['127.0.0.1'], type: 'http', tls: false, x_forwarded: false, resources: [{ names: ['client'], compress: false }] }],
    database: { name: 'sqlite3', args: { database: path.join(dir, 'homeserver.db') } },
    media_store_path: path.join(dir, 'media'),
    signing_key_path: path.join(dir, 'signing.key'),
    log_config: path.join(dir, 'log.yaml'),
    report_stats: false,
    enable_metrics: false,
    enable_registration: false,
    registration_shared_secret: sharedSecret,
    macaroon_secret_key: randomBytes(24).toString('hex'),
    form_secret: randomBytes(24).toString('hex'),
    suppress_key_server_warning: true,
    trusted_key_servers: [],
    use_presence: false,
    url_preview_enabled: false,
    federation_domain_whitelist: [],
    // An identical /sync is otherwise answered from a cache for 2 minutes: a test polling for an invite would never see it.
    caches: { sync_response_cache_duration: 0 },
    rc_message: lots,
    rc_registration: lots,
    rc_login: { address: lots, account: lots, failed_attempts: lots },
    rc_joins: { local: lots, remote: lots },
    rc_joins_per_room: lots,
    rc_invites: { per_room: lots, per_user: lots, per_issuer: lots },
    rc_admin_redaction: lots,
    rc_room_creation: lots,
    rc_3pid_validation: lots,
    rc_presence: { per_user: lots },
    rc_delayed_event_mgmt: lots,
  };
  // Warnings and errors only, to stderr: a failed start shows them.
  const logConfig = {
    version: 1,
    formatters: { plain: { format: '%(asctime)s %(levelname)s %(name)s %(message)s' } },
    handlers: { console: { class: 'logging.StreamHandler', formatter: 'plain' } },
    root: { level: 'WARNING', handlers: ['console'] },
    disable_existing_loggers: false,
  };
  await writeFile(path.join(dir, 'homeserver.yaml'), stringify(config));
  await writeFile(path.join(dir, 'log.yaml'), stringify(logConfig));
  await writeFile(path.join(dir, 'signing.key'), signingKey());

  const began = Date.now();
  const url = `http://127.0.0.1:${port}`;
  const homeserver = await startProcess(
    'Synapse',
    python,
    ['-m', 'synapse.app.homeserver', '--config-path', path.join(dir, 'homeserver.yaml')],
    { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    dir,
    () =>
      fetch(`${url}/_matrix/client/versions`, { signal: AbortSignal.timeout(1_000) })
        .then((r) => r.ok)
        .catch(() => false),
    options.timeoutMs ?? 60_000,
  );
  const startedInMs = Date.now() - began;

  const register = async (localpart: string, opts: { admin?: boolean; displayName?: string } = {}): Promise<SynapseUser> => {
    const nonce = ((await (await fetch(`${url}/_synapse/admin/v1/register`)).json()) as { nonce: string }).nonce;
    const password = randomBytes(12).toString('hex');
    const admin = opts.admin ?? false;
    // HMAC-SHA1 over nonce, user, password and admin/notadmin, NUL-separated (Synapse's register_api).
    const mac = createHmac('sha1', sharedSecret)
      .update([nonce, localpart, password, admin ? 'admin' : 'notadmin'].join('\x00'))
      .digest('hex');
    const response = await fetch(`${url}/_synapse/admin/v1/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ nonce, username: localpart, password, admin, mac, displayname: opts.displayName ?? localpart }),
    });
    const body = (await response.json()) as { user_id?: string; access_token?: string; error?: string };
    if (!response.ok || !body.access_token || !body.user_id)
      throw new Error(`registering ${localpart} failed: HTTP ${response.status} ${JSON.stringify(body)}`);
    return { userId: body.user_id, accessToken: body.access_token };
  };

  return { url, serverName, startedInMs, register, log: homeserver.log, stop: homeserver.stop };
}
