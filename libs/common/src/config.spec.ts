import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from './config';

const base = { DATABASE_URL: 'postgres://x@127.0.0.1/x', ADMIN_API_KEY: 'test-admin-key-0123456789abcdef', MASTER_KEY: 'a'.repeat(64) };

describe('config', () => {
  it('CORS_ORIGINS: unset is off, a list is normalised, anything else stops start-up', () => {
    assert.deepEqual(loadConfig(base).corsOrigins, []);
    assert.deepEqual(loadConfig({ ...base, CORS_ORIGINS: 'http://localhost:8080/, https://App.Example.com' }).corsOrigins, ['http://localhost:8080', 'https://app.example.com']);
    assert.deepEqual(loadConfig({ ...base, CORS_ORIGINS: '*' }).corsOrigins, ['*']);
    for (const bad of ['localhost:8080', 'https://app.example.com/path', 'ftp://files.example.com']) {
      assert.throws(() => loadConfig({ ...base, CORS_ORIGINS: bad }), (err: Error) => err instanceof ConfigError && err.message.includes('CORS_ORIGINS'));
    }
  });
});
