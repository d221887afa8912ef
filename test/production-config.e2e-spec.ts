import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '@app/common';
import { loadOpsConfig } from '@app/observability';
import { repoRoot } from './support/web-browser';

const ROOT = repoRoot(__dirname);

/** The uncommented NAME=value lines of .env.example. */
function exampleEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(join(ROOT, '.env.example'), 'utf8').split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
  return env;
}

describe('.env.example is true, and production refuses its placeholders', () => {
  it('every value it sets is the default the code has (what is off by default is commented out)', () => {
    const example = exampleEnv();
    const required = { DATABASE_URL: example.DATABASE_URL, ADMIN_API_KEY: example.ADMIN_API_KEY, MASTER_KEY: example.MASTER_KEY };
    assert.deepEqual(loadConfig(example), loadConfig(required));
    assert.deepEqual(loadOpsConfig(example), loadOpsConfig({}));
    assert.equal(example.REDIS_URL, undefined, 'Redis is not on by default');
    assert.equal(example.NODE_ENV, 'development');
  });

  for (const app of ['api', 'worker']) {
    it(`the ${app} will not start in production with the example's ADMIN_API_KEY, nor with its MASTER_KEY`, () => {
      const start = (extra: Record<string, string>) => spawnSync(process.execPath, [join(ROOT, 'dist', 'apps', app, 'src', 'main.js')], {
        cwd: ROOT, encoding: 'utf8', timeout: 30_000,
        // nothing listens at the example's DATABASE_URL port below: it must stop before connecting
        env: { PATH: process.env.PATH, ...exampleEnv(), DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none', NODE_ENV: 'production', ...extra },
      });
      const admin = start({});
      assert.equal(admin.status, 1, admin.stdout + admin.stderr);
      assert.match(admin.stdout + admin.stderr, /ADMIN_API_KEY is the placeholder of \.env\.example/);
      const master = start({ ADMIN_API_KEY: randomBytes(24).toString('base64url') });
      assert.equal(master.status, 1, master.stdout + master.stderr);
      assert.match(master.stdout + master.stderr, /MASTER_KEY is not random/);
    });
  }
});
