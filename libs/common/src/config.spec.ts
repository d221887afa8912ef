import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ConfigError, EXAMPLE_ADMIN_API_KEY, EXAMPLE_MASTER_KEY, loadConfig, lowEntropyKey } from './config';

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

describe('config: production refuses placeholder and low-entropy secrets', () => {
  const prod = { ...base, NODE_ENV: 'production', ADMIN_API_KEY: 'Zq3v9Kp2Lm7Xw4Rt8Yb1Nc6Hd5Jf0Gs', MASTER_KEY: randomBytes(32).toString('hex') };
  const refused = (env: Record<string, string>, name: string) =>
    assert.throws(() => loadConfig(env), (err: Error) => err instanceof ConfigError && err.message.startsWith(name) && err.message.includes('NODE_ENV=production'));

  it('accepts random secrets in production, hex or base64', () => {
    assert.equal(loadConfig(prod).nodeEnv, 'production');
    assert.equal(loadConfig({ ...prod, MASTER_KEY: randomBytes(32).toString('base64') }).masterKey.length, 32);
  });

  it("refuses .env.example's ADMIN_API_KEY, any change-me key, and a few characters repeated", () => {
    refused({ ...prod, ADMIN_API_KEY: EXAMPLE_ADMIN_API_KEY }, 'ADMIN_API_KEY');
    refused({ ...prod, ADMIN_API_KEY: 'please-CHANGEME-before-going-live' }, 'ADMIN_API_KEY');
    refused({ ...prod, ADMIN_API_KEY: 'abcabcabcabcabcabcabcabcabc' }, 'ADMIN_API_KEY');
  });

  it("refuses .env.example's all-zero MASTER_KEY and keys that are not random", () => {
    refused({ ...prod, MASTER_KEY: EXAMPLE_MASTER_KEY }, 'MASTER_KEY');
    refused({ ...prod, MASTER_KEY: 'a'.repeat(64) }, 'MASTER_KEY');
    refused({ ...prod, MASTER_KEY: 'deadbeef'.repeat(8) }, 'MASTER_KEY');
    refused({ ...prod, MASTER_KEY: Buffer.from('correct horse battery staple!!!!').toString('base64') }, 'MASTER_KEY');
    refused({ ...prod, MASTER_KEY: Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('hex') }, 'MASTER_KEY'); // 00 01 02 … 1f
    refused({ ...prod, MASTER_KEY: Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 7) % 256)).toString('hex') }, 'MASTER_KEY'); // one step
  });

  it('takes them outside production (trying the gateway with the example file works)', () => {
    for (const nodeEnv of [undefined, 'development', 'test']) {
      const env = { ...base, ADMIN_API_KEY: EXAMPLE_ADMIN_API_KEY, MASTER_KEY: EXAMPLE_MASTER_KEY, ...(nodeEnv ? { NODE_ENV: nodeEnv } : {}) };
      assert.equal(loadConfig(env).bootstrapAdminKey, EXAMPLE_ADMIN_API_KEY);
    }
  });

  it('a random key is never taken for a low-entropy one (10,000 draws)', () => {
    for (let i = 0; i < 10_000; i++) assert.equal(lowEntropyKey(randomBytes(32)), false);
  });
});
