import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { matrixClientFromConfig } from '../../services/channel/matrix.js';
import { loadConfig } from '../../services/config.js';

describe('Matrix configuration', () => {
  it('is off unless the homeserver is set, and takes a token from a file or the environment', () => {
    expect(loadConfig({}).matrix).toBeUndefined();
    expect(loadConfig({ CORREX_MATRIX_HOMESERVER: 'https://matrix.example.com/', CORREX_MATRIX_ACCESS_TOKEN_FILE: '/run/secrets/matrix' }).matrix).toEqual({
      homeserver: 'https://matrix.example.com',
      accessTokenFile: '/run/secrets/matrix',
    });
    expect(loadConfig({ CORREX_MATRIX_HOMESERVER: 'http://127.0.0.1:8008', CORREX_MATRIX_ACCESS_TOKEN: 'syt_x' }).matrix).toEqual({
      homeserver: 'http://127.0.0.1:8008',
      accessToken: 'syt_x',
    });
  });

  it('names what is missing or wrong', () => {
    expect(() => loadConfig({ CORREX_MATRIX_HOMESERVER: 'https://matrix.example.com' })).toThrow(/CORREX_MATRIX_HOMESERVER: is set, but neither/);
    expect(() => loadConfig({ CORREX_MATRIX_ACCESS_TOKEN: 'syt_x' })).toThrow(/a Matrix access token is set but not the homeserver/);
    expect(() => loadConfig({ CORREX_MATRIX_HOMESERVER: 'matrix.example.com', CORREX_MATRIX_ACCESS_TOKEN: 'syt_x' })).toThrow(
      /CORREX_MATRIX_HOMESERVER.*http\(s\) URL/,
    );
  });

  it('reads the token file at start, and says which file when it cannot', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'correx-matrix-config-'));
    try {
      await writeFile(path.join(dir, 'token'), 'syt_secret\n');
      expect(matrixClientFromConfig({ homeserver: 'https://m.example', accessTokenFile: path.join(dir, 'token') }).homeserver).toBe('https://m.example');
      expect(() => matrixClientFromConfig({ homeserver: 'https://m.example', accessTokenFile: path.join(dir, 'missing') })).toThrow(
        /CORREX_MATRIX_ACCESS_TOKEN_FILE: cannot read .*missing \(ENOENT\)/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
