import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../services/config.js';
import { OperatorError } from '../../services/errors.js';

describe('configuration from the environment', () => {
  it('has working defaults for local mode', () => {
    const config = loadConfig({});
    expect(config.databaseUrl).toBeUndefined();
    expect(config.temporal).toMatchObject({ address: undefined, namespace: 'default', taskQueue: 'correx', devPort: 7233, uiPort: 8233 });
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8080, rateLimit: { perMinute: 1200, ingestPerMinute: 60_000 } });
    expect(config.signingKeyFile).toBeUndefined();
    expect(config.dataDir).toBe('.correx');
  });

  it('reads who to trust behind a load balancer: true, a hop count, or addresses', () => {
    expect(loadConfig({ CORREX_TRUST_PROXY: 'true' }).http.trustProxy).toBe(true);
    expect(loadConfig({ CORREX_TRUST_PROXY: '2' }).http.trustProxy).toBe(2);
    expect(loadConfig({ CORREX_TRUST_PROXY: '10.0.0.0/8, 192.168.1.5' }).http.trustProxy).toEqual(['10.0.0.0/8', '192.168.1.5']);
    expect(loadConfig({}).http.trustProxy).toBeUndefined();
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', TEMPORAL_ADDRESS: ' ' }).databaseUrl).toBeUndefined();
  });

  it('reports every bad variable at once, one line each, naming the variable', () => {
    let caught: unknown;
    try {
      loadConfig({ DATABASE_URL: 'mysql://x', TEMPORAL_ADDRESS: 'no-port', CORREX_HTTP_PORT: '99999', LOG_LEVEL: 'loud' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(OperatorError);
    const details = (caught as OperatorError).details;
    expect(details).toHaveLength(4);
    expect(details).toContain('DATABASE_URL: must be a postgres:// or postgresql:// URL, e.g. postgres://user:password@localhost:5432/correx');
    expect(details).toContain('TEMPORAL_ADDRESS: must be host:port, e.g. localhost:7233');
    expect(details).toContain('CORREX_HTTP_PORT: must be a port number (1-65535)');
    expect(details.find((d) => d.startsWith('LOG_LEVEL: '))).toBeDefined();
    expect((caught as Error).message).not.toContain('\n');
  });
});
