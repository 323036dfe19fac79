import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, runCorrex, startCorrex } from '../support/cli.js';
import { createPostgresTestDatabase, type TestDatabase } from '../support/database.js';
import { migrations } from '../../migrations/index.js';
import { openSharedDatabase } from '../../services/db/configured.js';
import { OperatorError } from '../../services/errors.js';
import { startTcpProxy } from '../support/tcp-proxy.js';

const migrationNames = Object.keys(migrations).sort();

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  expect(lines, `expected one line on stderr, got:\n${stderr}`).toHaveLength(1);
  expect(stderr).not.toMatch(/\n\s+at /);
  return lines[0]!;
}

describe('correx fails with one clear line', () => {
  let dataDir: string;
  let database: TestDatabase;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'correx-cli-'));
    database = await createPostgresTestDatabase({ migrate: false });
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
    await database?.destroy();
  });

  it('when DATABASE_URL points at nothing', async () => {
    const [port] = await freePorts(1);
    const result = await runCorrex(['migrate', 'status'], { DATABASE_URL: `postgres://correx:secret@127.0.0.1:${port}/correx` });
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toBe(`correx: cannot connect to PostgreSQL at postgres://correx@127.0.0.1:${port}/correx: connection refused`);
  });

  it('when DATABASE_URL has the wrong password, without printing it', async () => {
    const url = new URL(database.location);
    url.password = 'definitely-wrong';
    const result = await runCorrex(['dev'], { DATABASE_URL: url.toString(), CORREX_DATA_DIR: dataDir });
    expect(result.code).toBe(1);
    const line = oneLine(result.stderr);
    expect(line).toMatch(/^correx: cannot connect to PostgreSQL at postgres:\/\/correx@127\.0\.0\.1:\d+\/correx_test_\w+: password authentication failed/);
    expect(line).not.toContain('definitely-wrong');
  });

  it('when DATABASE_URL is not a PostgreSQL URL, with every bad variable listed', async () => {
    const result = await runCorrex(['dev'], { DATABASE_URL: 'mysql://localhost/x', CORREX_HTTP_PORT: 'eighty' });
    expect(result.code).toBe(1);
    const line = oneLine(result.stderr);
    expect(line).toMatch(/^correx: invalid configuration: /);
    expect(line).toContain('DATABASE_URL: must be a postgres:// or postgresql:// URL');
    expect(line).toContain('CORREX_HTTP_PORT: ');
  });

  it('when the Temporal address does not answer', async () => {
    const [port] = await freePorts(1);
    const result = await runCorrex(['dev'], { TEMPORAL_ADDRESS: `127.0.0.1:${port}`, DATABASE_URL: database.location, CORREX_DATA_DIR: dataDir });
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toMatch(new RegExp(`^correx: cannot reach Temporal at 127\\.0\\.0\\.1:${port}: .+`));
  });

  it('when the Temporal TLS settings are incomplete or name a missing file, before connecting', async () => {
    const half = await runCorrex(['worker'], { TEMPORAL_TLS_CERT_FILE: '/etc/hostname', DATABASE_URL: database.location });
    expect(half.code).toBe(1);
    expect(oneLine(half.stderr)).toBe(
      'correx: invalid configuration: TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE: give both (mTLS client certificate and its key) or neither',
    );
    const missing = await runCorrex(['worker'], { TEMPORAL_TLS_CA_FILE: '/nonexistent/ca.pem', DATABASE_URL: database.location });
    expect(missing.code).toBe(1);
    expect(oneLine(missing.stderr)).toBe('correx: TEMPORAL_TLS_CA_FILE: cannot read /nonexistent/ca.pem: no such file');
  });

  it('keeps retrying, with a line each time, while the Temporal cluster does not answer', async () => {
    const [port, health] = await freePorts(2);
    const worker = startCorrex(['worker'], {
      TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
      DATABASE_URL: database.location,
      CORREX_WORKER_HEALTH_PORT: String(health),
    });
    try {
      await worker.waitFor(new RegExp(`correx worker: Temporal at 127\\.0\\.0\\.1:${port} does not answer \\(.+\\); retrying in 0\\.5 s`), 30_000);
    } finally {
      await worker.stop('SIGKILL');
    }
  });

  it('keeps retrying, with a line each time, while PostgreSQL does not answer, and goes on once it does', async () => {
    // The worker reaches the (migrated) database through a forwarder that is not listening yet.
    const migrated = await createPostgresTestDatabase();
    const target = new URL(migrated.location);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) }, { listening: false });
    const [temporalPort, health] = await freePorts(2);
    const worker = startCorrex(['worker'], {
      DATABASE_URL: proxy.url(migrated.location),
      TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
      CORREX_WORKER_HEALTH_PORT: String(health),
    });
    try {
      await worker.waitFor(
        new RegExp(`correx worker: PostgreSQL at 127\\.0\\.0\\.1:${proxy.port} does not answer \\(connection refused\\); retrying in 0\\.5 s`),
        30_000,
      );
      expect(worker.child.exitCode).toBeNull();
      await proxy.start();
      // Past the database: now it waits for Temporal, which is not there either.
      await worker.waitFor(new RegExp(`correx worker: Temporal at 127\\.0\\.0\\.1:${temporalPort} does not answer`), 30_000);
      expect(worker.output()).not.toMatch(/cannot connect to PostgreSQL/);
    } finally {
      await worker.stop('SIGKILL');
      await proxy.close();
      await migrated.destroy();
    }
  });

  it('correx api waits for PostgreSQL the same way', async () => {
    const keyFile = path.join(dataDir, 'signing-key.pem');
    await writeFile(keyFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const [dbPort, temporalPort, http] = await freePorts(3);
    const api = startCorrex(['api'], {
      DATABASE_URL: `postgres://correx:secret@127.0.0.1:${dbPort}/correx`,
      TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
      CORREX_HTTP_PORT: String(http),
      CORREX_SIGNING_KEY_FILE: keyFile,
    });
    try {
      await api.waitFor(
        new RegExp(`correx api: PostgreSQL at 127\\.0\\.0\\.1:${dbPort} does not answer \\(connection refused\\); retrying in 1\\.0 s`),
        30_000,
      );
    } finally {
      await api.stop('SIGKILL');
    }
  });

  it('gives up on PostgreSQL after the wait with one clear error, and never waits out a wrong password', async () => {
    const [port] = await freePorts(1);
    const lines: string[] = [];
    const started = Date.now();
    const error: unknown = await openSharedDatabase({ databaseUrl: `postgres://correx:secret@127.0.0.1:${port}/correx`, dataDir }, 'correx worker', {
      waitSeconds: 1,
      say: (line) => lines.push(line),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OperatorError);
    expect((error as Error).message).toBe(`cannot connect to PostgreSQL at postgres://correx@127.0.0.1:${port}/correx: connection refused`);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(lines).toEqual([
      `PostgreSQL at 127.0.0.1:${port} does not answer (connection refused); retrying in 0.3 s`,
      `PostgreSQL at 127.0.0.1:${port} does not answer (connection refused); retrying in 0.5 s`,
    ]);

    const url = new URL(database.location);
    url.password = 'definitely-wrong';
    lines.length = 0;
    await expect(
      openSharedDatabase({ databaseUrl: url.toString(), dataDir }, 'correx worker', { waitSeconds: 60, say: (line) => lines.push(line) }),
    ).rejects.toThrow(/password authentication failed/);
    expect(lines).toEqual([]);
  });

  it('on an unknown command, with a usage exit code', async () => {
    const result = await runCorrex(['frobnicate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown command 'frobnicate'/);
  });
});

describe('correx migrate', () => {
  it('goes up, down and up again on PostgreSQL and reports status', async () => {
    const database = await createPostgresTestDatabase({ migrate: false });
    try {
      const env = { DATABASE_URL: database.location };
      const up = await runCorrex(['migrate', 'up'], env);
      expect(up.code, up.stderr).toBe(0);
      expect(up.stdout).toMatch(new RegExp(`applied to postgres://correx@.*: ${migrationNames.join(', ')}$`, 'm'));
      const status = await runCorrex(['migrate', 'status', '--json'], env);
      expect(JSON.parse(status.stdout)).toEqual(migrationNames.map((name) => ({ name, appliedAt: expect.any(String) })));
      const down = await runCorrex(['migrate', 'down'], env);
      expect(down.stdout).toMatch(new RegExp(`reverted on .*: ${migrationNames.at(-1)}$`, 'm'));
      expect(JSON.parse((await runCorrex(['migrate', 'status', '--json'], env)).stdout)).toEqual(
        migrationNames.map((name, i) => ({ name, appliedAt: i === migrationNames.length - 1 ? null : expect.any(String) })),
      );
      expect((await runCorrex(['migrate', 'up'], env)).code).toBe(0);
    } finally {
      await database.destroy();
    }
  });

  it('uses the embedded database in CORREX_DATA_DIR without DATABASE_URL', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'correx-cli-'));
    try {
      const up = await runCorrex(['migrate', 'up'], { CORREX_DATA_DIR: dir });
      expect(up.code, up.stderr).toBe(0);
      expect(up.stdout).toContain(`applied to pglite:${path.join(dir, 'pgdata')}`);
      expect((await runCorrex(['migrate', 'up'], { CORREX_DATA_DIR: dir })).stdout).toContain('already up to date');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
