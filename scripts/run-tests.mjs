#!/usr/bin/env node
/* global process, console, URL */
// The test command (npm test): builds, finds PostgreSQL and Redis, runs every *.spec.js
// (unit + integration) and test/*.e2e-spec.js with Node's test runner, and prints
// "N passed, N failed" last.
//
// Which services the run uses:
//   PostgreSQL  TEST_DATABASE_URL, else DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres.
//               When that default answers nothing, an embedded PostgreSQL is started for the
//               run (.data/postgres-test, port EMBEDDED_PG_TEST_PORT or 54330) and stopped at the end.
//   Redis       TEST_REDIS_URL, else REDIS_URL, else redis://127.0.0.1:6379. When that default
//               answers nothing, or the variable is set to "", the queue tests run on BullMQ's
//               PostgreSQL backend only; otherwise they run on both backends.
// A URL given explicitly (anything but the default) that answers nothing is an error.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const filter = args.find((a) => !a.startsWith('--'));
const DEFAULT_PG = 'postgres://postgres@127.0.0.1:5432/postgres';
const DEFAULT_REDIS = 'redis://127.0.0.1:6379';

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(spec|e2e-spec)\.js$/.test(name)) out.push(p);
  }
  return out;
}

function reachable(url, defPort) {
  return new Promise((resolve) => {
    const u = new URL(url);
    const s = net.connect({ host: u.hostname, port: Number(u.port || defPort) });
    s.setTimeout(1500);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
    s.once('timeout', () => { s.destroy(); resolve(false); });
  });
}

function finish(passed, failed) {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

const cleanups = [];
async function cleanup() {
  for (const fn of cleanups.splice(0).reverse()) await fn().catch((err) => console.error(`# cleanup: ${err.message}`));
}

async function abort(message) {
  console.error(message);
  await cleanup();
  finish(0, 1);
}

if (!args.includes('--no-build')) {
  // tsc, then tsc-alias to turn the @app/<lib> aliases into relative paths in dist/
  const b = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) finish(0, 1);
}

// PostgreSQL
const pgUrl = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || DEFAULT_PG;
if (await reachable(pgUrl, 5432)) {
  process.env.TEST_DATABASE_URL = pgUrl;
} else if (pgUrl !== DEFAULT_PG) {
  await abort(`PostgreSQL is not reachable at ${pgUrl.replace(/\/\/([^:@/]+):[^@/]+@/, '//$1:***@')} (set in TEST_DATABASE_URL or DATABASE_URL): start it, or unset the variable to let the tests use an embedded PostgreSQL.`);
} else {
  const port = Number(process.env.EMBEDDED_PG_TEST_PORT || 54330);
  const dataDir = join(root, '.data', 'postgres-test');
  console.log(`# PostgreSQL: nothing answers at 127.0.0.1:5432, starting an embedded PostgreSQL for this run (${dataDir}, port ${port})`);
  try {
    const { startEmbeddedPostgres } = await import('./lib/embedded-postgres.mjs');
    const pg = await startEmbeddedPostgres({
      dataDir, port, fast: true,
      log: (line) => { if (!/\bLOG:/.test(line)) console.log(`# postgres: ${line}`); },
    });
    cleanups.push(async () => {
      await pg.stop();
      console.log('# PostgreSQL: embedded server stopped');
    });
    process.env.TEST_DATABASE_URL = pg.url;
  } catch (err) {
    await abort(`Could not start the embedded PostgreSQL: ${err.message}`);
  }
}

// Redis
const redisUrl = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? DEFAULT_REDIS;
let useRedis = false;
if (redisUrl === '') {
  console.log('# Queue backends: PostgreSQL only (TEST_REDIS_URL / REDIS_URL set to "")');
} else if (await reachable(redisUrl, 6379)) {
  useRedis = true;
  console.log('# Queue backends: Redis and PostgreSQL (every queue test runs on both)');
} else if (redisUrl !== DEFAULT_REDIS) {
  await abort(`Redis is not reachable at ${redisUrl} (set in TEST_REDIS_URL or REDIS_URL): start it, or set the variable to "" to run the queue tests on the PostgreSQL backend only.`);
} else {
  console.log(`# Queue backends: PostgreSQL only (Redis is not reachable at ${DEFAULT_REDIS})`);
}
process.env.TEST_REDIS_URL = useRedis ? redisUrl : '';

let files = walk(join(root, 'dist')).filter((f) => !f.includes('/node_modules/')).sort();
if (filter) files = files.filter((f) => f.includes(filter));
// One file at a time: an end-to-end file starts whole stacks (api, worker, sandbox), and
// two of them at once on the PostgreSQL queue backend came within a few connections of
// PostgreSQL's default max_connections (100): "too many clients" failures in CI.
const child = spawn(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
  cwd: root,
  env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: process.env.LOG_LEVEL ?? 'error' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
// A Ctrl-C reaches the test runner too; wait for it, then stop what this script started.
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
let out = '';
child.stdout.on('data', (d) => { process.stdout.write(d); out += d.toString(); });
child.on('close', async (code) => {
  await cleanup();
  const num = (label) => Number((out.match(new RegExp(`^ℹ ${label} (\\d+)`, 'm')) ?? [0, 0])[1]);
  const passed = num('pass');
  const failed = num('fail') + num('cancelled');
  const total = num('tests');
  const ok = code === 0 && failed === 0 && total > 0;
  finish(passed, ok ? failed : Math.max(failed, 1));
});
