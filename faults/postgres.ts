import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Debian's server binaries (`/usr/lib/postgresql/<version>/bin`), newest first; CORREX_FAULTS_PG_BIN wins. */
function serverBinaries(): string {
  const override = process.env.CORREX_FAULTS_PG_BIN;
  if (override) return override;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb'))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (!versions[0]) {
    throw new Error(
      "no PostgreSQL server binaries in /usr/lib/postgresql/<version>/bin: run `bash scripts/setup.sh --postgres` (installs Debian's postgresql) or set CORREX_FAULTS_PG_BIN",
    );
  }
  return path.join(root, versions[0], 'bin');
}

/**
 * A PostgreSQL cluster of our own in a temporary folder, on its own port, so it can be stopped and
 * started at will without touching the machine's PostgreSQL. As root, the server runs as the
 * `postgres` OS user (PostgreSQL refuses to run as root).
 */
export class PrivatePostgres {
  private running = false;

  private constructor(
    private readonly bin: string,
    readonly dataDir: string,
    readonly port: number,
    private readonly asUser: string | undefined,
  ) {}

  /** `initdb` a fresh cluster (superuser `correx`, trust on loopback only). Not started yet. */
  static async create(port: number): Promise<PrivatePostgres> {
    const bin = serverBinaries();
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'correx-faults-pg-'));
    let asUser: string | undefined;
    if (process.getuid?.() === 0) {
      asUser = 'postgres';
      const uid = Number((await run('id', ['-u', asUser])).stdout.trim());
      const gid = Number((await run('id', ['-g', asUser])).stdout.trim());
      await chown(dataDir, uid, gid);
    }
    const pg = new PrivatePostgres(bin, dataDir, port, asUser);
    try {
      await pg.exec('initdb', ['-D', dataDir, '-U', 'correx', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    } catch (error) {
      await rm(dataDir, { recursive: true, force: true });
      throw error;
    }
    return pg;
  }

  get url(): string {
    return `postgres://correx@127.0.0.1:${this.port}/postgres`;
  }

  private async exec(tool: string, args: string[]): Promise<string> {
    const binary = path.join(this.bin, tool);
    const [command, argv] = this.asUser ? ['runuser', ['-u', this.asUser, '--', binary, ...args]] : [binary, args];
    try {
      const { stdout } = await run(command, argv, { cwd: os.tmpdir(), timeout: 120_000 });
      return stdout;
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      throw new Error(`${tool} failed: ${(e.stderr ?? '').trim() || e.message}`);
    }
  }

  async start(): Promise<void> {
    const options = [
      `-p ${this.port}`,
      '-c listen_addresses=127.0.0.1',
      `-c unix_socket_directories=${this.dataDir}`,
      '-c max_connections=100',
      // A scratch database for one run: durability across a machine crash does not matter here
      // (a fast stop still checkpoints, so nothing is lost when the fault schedule stops it).
      '-c fsync=off',
    ].join(' ');
    try {
      await this.exec('pg_ctl', ['-D', this.dataDir, '-l', path.join(this.dataDir, 'server.log'), '-o', options, '-w', '-t', '60', 'start']);
    } catch (error) {
      const log = await readFile(path.join(this.dataDir, 'server.log'), 'utf8').catch(() => '');
      throw new Error(`${(error as Error).message}\n${log.split('\n').slice(-15).join('\n')}`);
    }
    this.running = true;
  }

  /** `pg_ctl stop -m fast`: open connections are cut, as in a crash of the database host. */
  async stop(): Promise<void> {
    await this.exec('pg_ctl', ['-D', this.dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']);
    this.running = false;
  }

  /** Stops the server if it runs and deletes its folder; safe to call more than once. */
  async destroy(): Promise<void> {
    if (this.running || existsSync(path.join(this.dataDir, 'postmaster.pid'))) {
      await this.exec('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', '-t', '30', 'stop']).catch(() => {});
      this.running = false;
    }
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
