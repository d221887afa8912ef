#!/usr/bin/env node
/* global process, console, URL */
// The test command (npm test): checks the Node version, installs from the lockfile when
// node_modules is missing or stale, builds, finds PostgreSQL, Redis and a browser, runs every
// *.spec.js (unit + integration) and test/*.e2e-spec.js with Node's test runner, removes
// whatever the run left in PostgreSQL and Redis, and prints "N passed, N failed" last.
//
// Which services the run uses (each choice is printed, with its reason):
//   PostgreSQL  TEST_DATABASE_URL, else DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres.
//               When that default answers nothing, an embedded PostgreSQL is started for the
//               run (.data/postgres-test, port EMBEDDED_PG_TEST_PORT or 54330) and stopped at the end.
//   Redis       TEST_REDIS_URL, else REDIS_URL, else redis://127.0.0.1:6379. When that default
//               answers nothing, or the variable is set to "", the queue tests run on BullMQ's
//               PostgreSQL backend only; otherwise they run on both backends.
//   Browser     for the browser example's test: scripts/lib/browser.mjs (CHROMIUM_PATH, the
//               system's Chromium or Chrome, else the one the @sparticuz/chromium package ships).
// A URL given explicitly (anything but the default) that answers nothing is an error.
//
// Every schema and queue prefix of the run starts with t<TEST_RUN_ID>_: at the end the
// runner counts what is left under it (a suite that did not clean up after itself fails
// the run) and removes it.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { ensureInstalled, nodeVersionProblem } from './lib/install.mjs';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const filter = args.find((a) => !a.startsWith('--'));
const DEFAULT_PG = 'postgres://postgres@127.0.0.1:5432/postgres';
const DEFAULT_REDIS = 'redis://127.0.0.1:6379';
const say = (line) => console.log(`# ${line}`);
const redact = (url) => url.replace(/\/\/([^:@/]+):[^@/]+@/, '//$1:***@');

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

function finish(passed, failed, skipped = 0) {
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
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

// Node, then the dependencies: on a fresh clone nothing is installed yet.
const nodeProblem = nodeVersionProblem(root);
if (nodeProblem) await abort(nodeProblem);
try {
  const r = ensureInstalled({ root, log: (line) => say(`Install: ${line}`) });
  if (!r.installed) say(`Install: ${r.reason}`);
} catch (err) {
  await abort(err.message);
}

if (!args.includes('--no-build')) {
  // tsc, then tsc-alias to turn the @app/<lib> aliases into relative paths in dist/
  const b = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) finish(0, 1);
}

// PostgreSQL
const pgFrom = process.env.TEST_DATABASE_URL ? 'TEST_DATABASE_URL' : process.env.DATABASE_URL ? 'DATABASE_URL' : null;
const pgUrl = process.env.TEST_DATABASE_URL || process.env.DATABASE_URL || DEFAULT_PG;
if (await reachable(pgUrl, 5432)) {
  process.env.TEST_DATABASE_URL = pgUrl;
  say(`PostgreSQL: ${redact(pgUrl)} (${pgFrom ? `set in ${pgFrom}` : 'the default URL, and it answers; set TEST_DATABASE_URL to use another'})`);
} else if (pgUrl !== DEFAULT_PG) {
  await abort(`PostgreSQL is not reachable at ${redact(pgUrl)} (set in ${pgFrom}): start it, or unset the variable to let the tests use an embedded PostgreSQL.`);
} else {
  const port = Number(process.env.EMBEDDED_PG_TEST_PORT || 54330);
  const dataDir = join(root, '.data', 'postgres-test');
  say(`PostgreSQL: nothing answers at the default ${DEFAULT_PG}, so an embedded PostgreSQL for this run (${dataDir}, port ${port})`);
  try {
    const { startEmbeddedPostgres } = await import('./lib/embedded-postgres.mjs');
    const pg = await startEmbeddedPostgres({
      dataDir, port, fast: true,
      log: (line) => { if (!/\bLOG:/.test(line)) console.log(`# postgres: ${line}`); },
    });
    cleanups.push(async () => {
      await pg.stop();
      say('PostgreSQL: embedded server stopped');
    });
    process.env.TEST_DATABASE_URL = pg.url;
  } catch (err) {
    await abort(`Could not start the embedded PostgreSQL: ${err.message}`);
  }
}

// Redis
const redisFrom = process.env.TEST_REDIS_URL !== undefined ? 'TEST_REDIS_URL' : process.env.REDIS_URL !== undefined ? 'REDIS_URL' : null;
const redisUrl = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? DEFAULT_REDIS;
let useRedis = false;
if (redisUrl === '') {
  say(`Redis: none (${redisFrom} is set to ""); queue backends: PostgreSQL only`);
} else if (await reachable(redisUrl, 6379)) {
  useRedis = true;
  say(`Redis: ${redact(redisUrl)} (${redisFrom ? `set in ${redisFrom}` : 'the default URL, and it answers; set TEST_REDIS_URL to use another, or "" for none'}); queue backends: Redis and PostgreSQL (every queue test runs on both)`);
} else if (redisUrl !== DEFAULT_REDIS) {
  await abort(`Redis is not reachable at ${redact(redisUrl)} (set in ${redisFrom}): start it, or set the variable to "" to run the queue tests on the PostgreSQL backend only.`);
} else {
  say(`Redis: none (nothing answers at the default ${DEFAULT_REDIS}); queue backends: PostgreSQL only`);
}
process.env.TEST_REDIS_URL = useRedis ? redisUrl : '';

let files = walk(join(root, 'dist')).filter((f) => !f.includes('/node_modules/')).sort();
if (filter) files = files.filter((f) => f.includes(filter));

// The browser example's test: say which Chromium it will find (unpacking the npm-shipped
// one here, once, rather than inside the test's time budget).
if (files.some((f) => f.endsWith('web-example.e2e-spec.js'))) {
  try {
    const { findChromium } = await import('./lib/browser.mjs');
    const browser = await findChromium({ root, log: (line) => say(`Browser: ${line}`) });
    say(`Browser: ${browser.path} (${browser.why})`);
  } catch (err) {
    // the browser test itself fails with this message; the other tests still run
    say(`Browser: none (${err.message})`);
  }
}

const runId = randomBytes(4).toString('hex');
say(`Test data: schemas and Redis keys of this run start with t${runId}_ (removed at the end)`);

// One file at a time: an end-to-end file starts whole stacks (api, worker, sandbox), and
// two of them at once on the PostgreSQL queue backend came within a few connections of
// PostgreSQL's default max_connections (100): "too many clients" failures in CI.
const child = spawn(process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
  cwd: root,
  env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: process.env.LOG_LEVEL ?? 'error', TEST_RUN_ID: runId },
  stdio: ['ignore', 'pipe', 'inherit'],
});
// A Ctrl-C reaches the test runner too; wait for it, then stop what this script started.
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
let out = '';
child.stdout.on('data', (d) => { process.stdout.write(d); out += d.toString(); });
child.on('close', async (code) => {
  // What the suites left behind: each removes its own, so anything here is a failure.
  let leftovers = 0;
  try {
    const { removeLeftovers } = await import('./lib/test-leftovers.mjs');
    const left = await removeLeftovers({ runId, databaseUrl: process.env.TEST_DATABASE_URL, redisUrl: process.env.TEST_REDIS_URL });
    leftovers = left.schemas.length + left.redisKeys;
    if (leftovers === 0) say(`Test data: nothing left behind (no schema, no Redis key under t${runId}_)`);
    else {
      console.error(`# Test data: the run left ${left.schemas.length} schema(s) [${left.schemas.join(', ')}] and ${left.redisKeys} Redis key(s) [${left.sampleKeys.join(', ')}${left.redisKeys > left.sampleKeys.length ? ', …' : ''}] behind: a suite did not clean up after itself (now removed)`);
    }
  } catch (err) {
    leftovers = 1;
    console.error(`# Test data: could not check what the run left behind: ${err.message}`);
  }
  await cleanup();
  const num = (label) => Number((out.match(new RegExp(`^ℹ ${label} (\\d+)`, 'm')) ?? [0, 0])[1]);
  const passed = num('pass');
  const failed = num('fail') + num('cancelled') + (leftovers ? 1 : 0);
  const total = num('tests');
  const ok = code === 0 && failed === 0 && total > 0;
  finish(passed, ok ? failed : Math.max(failed, 1), num('skipped'));
});
