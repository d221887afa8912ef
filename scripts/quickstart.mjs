#!/usr/bin/env node
/* global process, console, fetch, setTimeout, clearTimeout, URL */
// `npm run quickstart`: the whole gateway on one machine with nothing but Node and npm.
// Five phases, one line each: install (npm ci when node_modules is missing or stale),
// build, database (embedded PostgreSQL unless DATABASE_URL is set), migrate, start
// (sandbox + worker + api, then a demo app whose credentials point at the sandbox). The
// ready banner, with the keys and a curl command, is the last thing printed; the children
// log at `warn` unless LOG_LEVEL says otherwise.
//
// Two processes: this one, as npm starts it, only supervises; the launcher it starts
// (`--launcher`) leads a process group of its own, and every process it starts (api,
// worker, sandbox, the embedded PostgreSQL) is in that group. SIGINT, SIGTERM or SIGHUP,
// sent to npm or to this process (or a closed terminal), stop them all in order within
// STOP_DEADLINE_MS; the group is killed whole after that, so no child outlives it.
//
// Defaults (each overridable from the environment):
//   DATABASE_URL   unset: embedded PostgreSQL in <data>/postgres on 127.0.0.1:EMBEDDED_PG_PORT (54329)
//   REDIS_URL      unset: BullMQ on its PostgreSQL backend, in the same database
//   ADMIN_API_KEY, MASTER_KEY   unset: generated once into <data>/quickstart.env (mode 600)
//   API_HOST/API_PORT 127.0.0.1:3000; sandbox control 4000, stand-ins 4001-4004 and 4011 (SANDBOX_*_PORT)
//   QUICKSTART_DATA_DIR  <data>: .data in the project folder
//   LOG_LEVEL      warn, for the children
// A DATABASE_URL or REDIS_URL that is set but does not answer is an error, never a fallback.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import net from 'node:net';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureInstalled, nodeVersionProblem } from './lib/install.mjs';
import { launchingAncestors, processInfo, ProcessGroup, prefixFor, signalGroup, watchProcesses } from './lib/processes.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const dataDir = resolve(process.env.QUICKSTART_DATA_DIR || join(root, '.data'));
const shown = (p) => (p.startsWith(root) ? relative(root, p) || '.' : p);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const say = (line) => console.log(`${prefixFor('quickstart', 5, 10)}${line}`);
const pgSay = (line) => console.log(`${prefixFor('postgres', 4, 10)}${line}`);
/** From the stop signal to the last process gone. */
const STOP_DEADLINE_MS = 5000;
const PHASES = ['install', 'build', 'database', 'migrate', 'start'];
const phase = (name, text) => say(`${PHASES.indexOf(name) + 1}/${PHASES.length} ${name}: ${text}`);

if (process.argv.includes('--launcher')) launcher();
else supervise();

// ---------------------------------------------------------------------------------------
// The supervisor: in npm's process group (a terminal's Ctrl-C reaches it), never in the
// launcher's (so the launcher decides the order things stop in).

function supervise() {
  const problem = nodeVersionProblem(root);
  if (problem) {
    console.error(`\nquickstart: ${problem}\n`);
    process.exit(1);
  }
  // detached: a new session and process group, led by the launcher; its children join it
  const launcherProc = spawn(process.execPath, [fileURLToPath(import.meta.url), '--launcher'], { cwd: root, detached: true, stdio: ['ignore', 'inherit', 'inherit'], env: process.env });
  let stopping = false;
  let deadline;
  const stop = (signal, why) => {
    if (stopping) return;
    stopping = true;
    try {
      process.kill(launcherProc.pid, signal);
    } catch {
      /* already gone */
    }
    // the launcher keeps to the deadline itself; this is for a launcher that cannot
    deadline = setTimeout(() => {
      say(`not stopped within ${STOP_DEADLINE_MS / 1000}s${why ? ` (${why})` : ''}: killing what is left`);
      signalGroup(launcherProc.pid, 'SIGKILL');
    }, STOP_DEADLINE_MS);
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => stop(sig));
  // npm passes SIGINT/SIGTERM to its shell, which dies of them; SIGHUP kills npm alone
  const ancestors = launchingAncestors();
  watchProcesses(ancestors, (gone) => {
    if (stopping) return;
    const what = gone === ancestors.at(-1) && process.env.npm_lifecycle_event ? `npm (pid ${gone.pid})`
      : process.env.npm_lifecycle_event ? `npm's script shell (pid ${gone.pid}), which dies of the SIGINT or SIGTERM npm passes it,`
        : `the process that started this one (pid ${gone.pid})`;
    say(`${what} went away: stopping`);
    stop('SIGTERM', 'npm went away');
  });
  launcherProc.on('exit', (code, signal) => {
    clearTimeout(deadline);
    // whatever is still in the launcher's group goes with it (nothing, after a clean stop)
    signalGroup(launcherProc.pid, 'SIGKILL');
    process.exit(code ?? (signal ? 1 : 0));
  });
}

// ---------------------------------------------------------------------------------------
// The launcher: installs, builds, starts everything, and stops it.

function launcher() {
  const cleanups = []; // run in reverse order on the way out
  let shuttingDown = null;
  let startedEmbedded = false;

  async function shutdown(code, why) {
    if (shuttingDown) return shuttingDown;
    const deadline = Date.now() + STOP_DEADLINE_MS - 500;
    shuttingDown = (async () => {
      if (why) say(why);
      for (const fn of cleanups.reverse()) {
        try {
          await fn(deadline);
        } catch (err) {
          say(`while stopping: ${err.message}`);
        }
      }
      say(code === 0 ? 'stopped' : 'stopped after an error');
      process.exit(code);
    })();
    return shuttingDown;
  }

  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      if (shuttingDown) return say(`${sig}: already stopping, please wait`);
      void shutdown(0, `${sig}: stopping api, worker, sandbox${startedEmbedded ? ' and the embedded PostgreSQL' : ''}`);
    });
  }
  // the supervisor killed (SIGKILL): nobody would stop us otherwise
  const parent = processInfo(process.ppid);
  if (parent) watchProcesses([parent], () => void shutdown(1, 'the supervising process went away: stopping'));

  const fail = (message) => {
    console.error(`\nquickstart: ${message}\n`);
    return shutdown(1);
  };

  main({ cleanups, onEmbedded: () => (startedEmbedded = true), fail }).catch((err) => fail(err.message));
}

/** Runs a command to its end without blocking this process (a stop signal is handled meanwhile). */
function run(cmd, args, what, env = process.env) {
  return new Promise((done, failed) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env });
    child.once('error', (err) => failed(new Error(`${what} failed: ${err.message}`)));
    child.once('exit', (code, signal) => (code === 0 ? done() : failed(new Error(`${what} failed (${cmd} ${args.join(' ')} exited with ${code ?? signal})`))));
  });
}

/** ADMIN_API_KEY and MASTER_KEY: from the environment, else from <data>/quickstart.env, else generated there. */
function secrets() {
  const file = join(dataDir, 'quickstart.env');
  const stored = {};
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
      if (m) stored[m[1]] = m[2];
    }
  }
  const generated = {
    ADMIN_API_KEY: stored.ADMIN_API_KEY || `qs_bootstrap_${randomBytes(24).toString('base64url')}`,
    MASTER_KEY: stored.MASTER_KEY || randomBytes(32).toString('hex'),
  };
  if (generated.ADMIN_API_KEY !== stored.ADMIN_API_KEY || generated.MASTER_KEY !== stored.MASTER_KEY) {
    writeFileSync(
      file,
      '# Generated by `npm run quickstart`; reused on every start. MASTER_KEY encrypts the stored provider\n' +
        '# credentials: losing it makes them unreadable. Variables set in the environment take precedence.\n' +
        `ADMIN_API_KEY=${generated.ADMIN_API_KEY}\nMASTER_KEY=${generated.MASTER_KEY}\n`,
      { mode: 0o600 },
    );
    say(`generated ADMIN_API_KEY and MASTER_KEY into ${shown(file)}`);
  }
  chmodSync(file, 0o600);
  return { ADMIN_API_KEY: process.env.ADMIN_API_KEY || generated.ADMIN_API_KEY, MASTER_KEY: process.env.MASTER_KEY || generated.MASTER_KEY };
}

function tcpOpen(host, port, timeoutMs = 1500) {
  return new Promise((done) => {
    const s = net.connect({ host, port });
    s.setTimeout(timeoutMs);
    s.once('connect', () => (s.destroy(), done(true)));
    s.once('error', () => done(false));
    s.once('timeout', () => (s.destroy(), done(false)));
  });
}

function portFree(host, port) {
  return new Promise((done) => {
    const srv = net.createServer();
    srv.once('error', () => done(false));
    srv.listen(port, host, () => srv.close(() => done(true)));
  });
}

async function waitHttp(url, what, timeoutMs, isUp = (res) => res.ok) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (isUp(res)) return res;
      last = `${res.status} ${await res.text()}`;
    } catch (err) {
      last = err.cause?.code ?? err.message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not come up at ${url} within ${timeoutMs / 1000}s (last: ${last})`);
}

const redact = (url) => url.replace(/\/\/([^:@/]+):[^@/]+@/, '//$1:***@');

async function main({ cleanups, onEmbedded, fail }) {
  const t0 = Date.now();
  mkdirSync(dataDir, { recursive: true });

  // 1. install
  const installed = ensureInstalled({ root, log: (line) => phase('install', line) });
  if (!installed.installed) phase('install', installed.reason);

  // 2. build
  phase('build', 'npm run build (tsc into dist/; about 30 s the first time, a few seconds after that)');
  await run(npm, ['run', '--silent', 'build'], 'the build');
  const { sandboxEnv, sandboxUrls } = await import(join(root, 'dist', 'scripts', 'lib', 'sandbox-env.js'));
  const { provisionDemo } = await import('./lib/quickstart-demo.mjs');

  const keys = secrets();
  const apiHost = process.env.API_HOST || '127.0.0.1';
  const apiPort = Number(process.env.API_PORT || 3000);
  const sbPorts = {
    control: Number(process.env.SANDBOX_CONTROL_PORT || 4000),
    apns: Number(process.env.SANDBOX_APNS_PORT || 4001),
    apnsSandbox: Number(process.env.SANDBOX_APNS_SANDBOX_PORT || 4011),
    fcm: Number(process.env.SANDBOX_FCM_PORT || 4002),
    wns: Number(process.env.SANDBOX_WNS_PORT || 4003),
    webpush: Number(process.env.SANDBOX_WEBPUSH_PORT || 4004),
  };
  const envName = { apnsSandbox: 'APNS_SANDBOX' };

  const group = new ProcessGroup({ cwd: root, pidFile: join(dataDir, 'quickstart.pids') });
  await group.reapLeftovers(join(root, 'dist', 'apps'), say);
  for (const [name, port] of [['API_PORT', apiPort], ...Object.entries(sbPorts).map(([k, p]) => [`SANDBOX_${(envName[k] ?? k).toUpperCase()}_PORT`, p])]) {
    if (!(await portFree(name === 'API_PORT' ? apiHost : '127.0.0.1', port))) {
      throw new Error(`port ${port} (${name}) is in use: stop whatever holds it, or choose other ports (API_PORT, SANDBOX_*_PORT)`);
    }
  }

  // Redis when REDIS_URL is set, else BullMQ's PostgreSQL backend
  const redisUrl = process.env.REDIS_URL || '';
  if (redisUrl) {
    const u = new URL(redisUrl);
    if (!(await tcpOpen(u.hostname, Number(u.port || 6379)))) {
      throw new Error(`REDIS_URL is set but nothing answers at ${u.hostname}:${u.port || 6379}. Start that Redis, or unset REDIS_URL to run the queues on PostgreSQL.`);
    }
  }
  const queueNote = redisUrl ? `Redis at ${redact(redisUrl)}` : 'BullMQ on its PostgreSQL backend (REDIS_URL unset)';

  // 3. database: the given one, or the embedded one
  let databaseUrl = process.env.DATABASE_URL;
  let databaseNote;
  if (databaseUrl) {
    const u = new URL(databaseUrl);
    phase('database', `${redact(databaseUrl)} (DATABASE_URL)`);
    if (!(await tcpOpen(u.hostname, Number(u.port || 5432)))) {
      throw new Error(`DATABASE_URL is set but nothing answers at ${u.hostname}:${u.port || 5432}. Start that PostgreSQL, or unset DATABASE_URL to use the embedded one.`);
    }
    databaseNote = `${redact(databaseUrl)} (DATABASE_URL)`;
  } else {
    const { startEmbeddedPostgres } = await import('./lib/embedded-postgres.mjs');
    const port = Number(process.env.EMBEDDED_PG_PORT || 54329);
    const dir = join(dataDir, 'postgres');
    const first = !existsSync(join(dir, 'PG_VERSION'));
    phase('database', `embedded PostgreSQL 17 in ${shown(dir)} on 127.0.0.1:${port} (DATABASE_URL unset)${first ? '; creating it, about 15 s' : ''}`);
    const pg = await startEmbeddedPostgres({
      dataDir: dir,
      port,
      ownProcessGroup: false, // in the launcher's group, which no terminal signals
      // The server's routine lines are noise here; warnings and errors are not.
      log: (line) => {
        if (/\b(WARNING|ERROR|FATAL|PANIC)\b/.test(line)) pgSay(line);
      },
    });
    onEmbedded();
    cleanups.push(async (deadline) => {
      say('stopping the embedded PostgreSQL');
      await pg.stop(Math.max(100, deadline - Date.now()));
    });
    databaseUrl = pg.url;
    databaseNote = `embedded PostgreSQL 17 on 127.0.0.1:${port}, data in ${shown(dir)} (password in ${shown(dir)}.password)`;
  }

  const baseEnv = {
    ...process.env,
    ...keys,
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    // the banner should not scroll away under request lines: LOG_LEVEL=log shows them
    LOG_LEVEL: process.env.LOG_LEVEL || 'warn',
  };

  // 4. migrate
  phase('migrate', 'bringing the schema up to date');
  await run(process.execPath, [join(root, 'dist/apps/api/src/migrate.js')], 'the migrations (output above)', baseEnv);

  // 5. start: the sandbox first (it writes the CA the provider clients must trust), then worker and api
  phase('start', `sandbox, worker and api (logging at ${baseEnv.LOG_LEVEL}), then the demo app`);
  cleanups.push((deadline) => group.stopAll(['api', 'worker', 'sandbox'], deadline - 300, say));
  group.onUnexpectedExit = (name, code, signal) => void fail(`${name} exited unexpectedly (${signal ?? `code ${code}`}); stopping the rest`);
  const sandboxDir = join(dataDir, 'sandbox');
  group.start('sandbox', [join(root, 'dist/apps/sandbox/src/main.js')], {
    ...baseEnv,
    SANDBOX_DATA_DIR: sandboxDir,
    ...Object.fromEntries(Object.entries(sbPorts).map(([k, p]) => [`SANDBOX_${(envName[k] ?? k).toUpperCase()}_PORT`, String(p)])),
  });
  const controlUrl = `http://127.0.0.1:${sbPorts.control}`;
  await waitHttp(`${controlUrl}/stats`, 'the sandbox', 30_000);
  // The APNs stand-in serves its two environments on two ports; it says which.
  const apnsUrls = await fetch(`${controlUrl}/apns`).then((r) => (r.ok ? r.json() : {})).catch(() => ({}));
  const providerEnv = sandboxEnv({ caFile: join(sandboxDir, 'ca.pem'), urls: sandboxUrls(sbPorts), apnsSandboxUrl: apnsUrls.sandbox });

  const appEnv = { ...baseEnv, ...providerEnv, API_HOST: apiHost, API_PORT: String(apiPort) };
  group.start('worker', [join(root, 'dist/apps/worker/src/main.js')], appEnv);
  group.start('api', [join(root, 'dist/apps/api/src/main.js')], appEnv);
  const apiUrl = `http://${apiHost === '0.0.0.0' || apiHost === '::' ? '127.0.0.1' : apiHost}:${apiPort}`;
  await waitHttp(`${apiUrl}/health/ready`, 'the API', 60_000);

  const demo = await provisionDemo({ apiUrl, controlUrl, bootstrapKey: keys.ADMIN_API_KEY, stateFile: join(dataDir, 'quickstart.json'), log: say });
  printReady({ apiUrl, controlUrl, databaseNote, queueNote, demo, seconds: Math.round((Date.now() - t0) / 1000), logLevel: baseEnv.LOG_LEVEL });
}

function printReady({ apiUrl, controlUrl, databaseNote, queueNote, demo, seconds, logLevel }) {
  const counts = {};
  for (const d of demo.devices) counts[d.provider] = (counts[d.provider] ?? 0) + 1;
  const devices = Object.entries(counts).map(([p, n]) => `${p} ×${n}`).join(', ') || 'none';
  const body = JSON.stringify({ targets: { tags: ['quickstart'] }, title: 'Hello', body: 'Sent through the push gateway quickstart' });
  const line = '─'.repeat(78);
  const state = shown(join(dataDir, 'quickstart.json'));
  // The last thing printed: the children log at warn, so nothing scrolls it away.
  console.log(`
${line}
 Push gateway quickstart: ready in ${seconds}s
   API          ${apiUrl}
   Database     ${databaseNote}
   Queues       ${queueNote}
   Sandbox      ${controlUrl}/  (stand-ins for APNs, FCM, WNS and Web Push)

 Demo app ${demo.appId}${demo.reused ? ` (reused from ${state})` : ''}
   admin key     ${demo.keys.admin}
   send key      ${demo.keys.send}
   register key  ${demo.keys.register}
   devices       ${devices}, tagged "quickstart", users demo-user-1 and demo-user-2${demo.skipped.length ? `\n   skipped       ${[...new Set(demo.skipped)].join(', ')} (see the notes above)` : ''}
   bootstrap key (creates apps): ADMIN_API_KEY in ${shown(join(dataDir, 'quickstart.env'))}

 Send a notification to every demo device:

   curl -sS -X POST ${apiUrl}/v1/notifications \\
     -H 'Authorization: Bearer ${demo.keys.send}' \\
     -H 'Content-Type: application/json' \\
     -d '${body}'

 Watch it arrive: open ${controlUrl}/ in a browser, or
   curl -sS '${controlUrl}/receipts?limit=20'
 Follow it: curl -sS -H 'Authorization: Bearer ${demo.keys.send}' ${apiUrl}/v1/notifications/<id from the answer>

 Logs: api, worker and sandbox print warnings and errors only (LOG_LEVEL=${logLevel});
 LOG_LEVEL=log npm run quickstart shows every request. Ctrl-C stops everything.
${line}`);
}
