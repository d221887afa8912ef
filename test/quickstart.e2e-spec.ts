import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './support/web-browser';

const ROOT = repoRoot(__dirname);
const RULE = '─'.repeat(78);
const STOP_WITHIN_MS = 5000;

/** Free TCP ports on 127.0.0.1 (the quickstart's defaults may be taken by a developer's own). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<net.Server>((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => resolve(s));
  })));
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

const listening = (port: number) => new Promise<boolean>((resolve) => {
  const s = net.connect({ host: '127.0.0.1', port });
  s.once('connect', () => (s.destroy(), resolve(true)));
  s.once('error', () => resolve(false));
});

interface Proc { pid: number; ppid: number; pgid: number; command: string }
function processes(): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ pid: Number(name), ppid: Number(f[1]), pgid: Number(f[2]), command: readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ').trim() });
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** npm and everything below it, plus every member of the launcher's process group. */
function treeOf(rootPid: number): Proc[] {
  const all = processes();
  const found = new Map<number, Proc>();
  const add = (pid: number) => {
    for (const p of all) if ((p.pid === pid || p.ppid === pid) && !found.has(p.pid)) {
      found.set(p.pid, p);
      if (p.pid !== pid) add(p.pid);
    }
  };
  add(rootPid);
  const groups = new Set([...found.values()].filter((p) => p.command.includes('--launcher')).map((p) => p.pgid));
  for (const p of all) if (groups.has(p.pgid)) found.set(p.pid, p);
  return [...found.values()];
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('npm run quickstart: one line per phase, the banner last, stopped whole by a signal to npm or to itself', { timeout: 420_000 }, () => {
  let dataDir: string;
  let env: Record<string, string | undefined>;
  let ports: number[];
  const started: ChildProcess[] = [];

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'pgw-quickstart-'));
    ports = await freePorts(9);
    const [api, control, apns, apnsSandbox, fcm, wns, webpush, ops, pg] = ports;
    env = { ...process.env };
    // what a user's shell would have: no test settings, no services, no log level
    for (const k of Object.keys(env)) if (/^(TEST_|DATABASE_|REDIS_|LOG_|QUEUE_|NODE_ENV$|CHROMIUM_PATH$)/.test(k)) delete env[k];
    Object.assign(env, {
      QUICKSTART_DATA_DIR: dataDir, API_PORT: String(api), SANDBOX_CONTROL_PORT: String(control), SANDBOX_APNS_PORT: String(apns),
      SANDBOX_APNS_SANDBOX_PORT: String(apnsSandbox), SANDBOX_FCM_PORT: String(fcm), SANDBOX_WNS_PORT: String(wns),
      SANDBOX_WEBPUSH_PORT: String(webpush), WORKER_OPS_PORT: String(ops), WORKER_OPS_HOST: '127.0.0.1', EMBEDDED_PG_PORT: String(pg),
      NO_COLOR: '1',
    });
  });

  /** A failed test must not leave a gateway running (the next start would find its ports taken): the whole tree, hard. */
  const killAll = () => {
    for (const c of started.splice(0)) {
      for (const p of c.pid ? treeOf(c.pid) : []) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  };
  afterEach(killAll);
  after(() => {
    killAll();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** `npm run quickstart` until its banner is printed; its output so far, and its processes. */
  async function start() {
    const npm = spawn('npm', ['run', 'quickstart'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    started.push(npm);
    let output = '';
    npm.stdout!.on('data', (d) => (output += d));
    npm.stderr!.on('data', (d) => (output += d));
    const deadline = Date.now() + 180_000;
    // the banner: a rule, "…: ready in Ns", …, a closing rule
    while (!/\n─{78}\n Push gateway quickstart: ready in \d+s\n[\s\S]*\n─{78}\n/.test(output)) {
      if (Date.now() > deadline || npm.exitCode !== null) throw new Error(`no ready banner (exit ${npm.exitCode}); output:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const tree = treeOf(npm.pid!);
    const supervisor = tree.find((p) => /^node scripts\/quickstart\.mjs$/.test(p.command));
    assert.ok(supervisor, `the quickstart's own process among ${JSON.stringify(tree)}`);
    for (const name of ['--launcher', 'dist/apps/api', 'dist/apps/worker', 'dist/apps/sandbox', 'bin/postgres']) {
      assert.ok(tree.some((p) => p.command.includes(name)), `${name} runs`);
    }
    for (const port of ports) assert.equal(await listening(port), true, `port ${port} is open`);
    return { npm, output: () => output, tree, supervisor };
  }

  /** Sends `signal` to `pid`, then waits until none of `tree` runs and no port answers. */
  async function stopWith(tree: Proc[], pid: number, signal: NodeJS.Signals) {
    const t0 = Date.now();
    process.kill(pid, signal);
    let running = tree;
    let open = ports;
    while (Date.now() - t0 < 15_000) {
      running = tree.filter((p) => alive(p.pid));
      open = (await Promise.all(ports.map(async (p) => ((await listening(p)) ? p : null)))).filter((p): p is number => p !== null);
      if (running.length === 0 && open.length === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return { ms: Date.now() - t0, running, open };
  }

  it('prints one line per phase, logs nothing at info, and its ready banner is the last thing printed', async (t) => {
    const run = await start();
    await new Promise((r) => setTimeout(r, 2000)); // anything the children would print after it
    const output = run.output();
    const phases = ['install', 'build', 'database', 'migrate', 'start'].map((p, i) => output.indexOf(`[quickstart] ${i + 1}/5 ${p}: `));
    assert.ok(phases.every((at) => at >= 0), `every phase announced:\n${output}`);
    assert.deepEqual([...phases].sort((a, b) => a - b), phases, 'in order');
    assert.ok(!/"level":"(info|debug|trace)"/.test(output), `the children log at warn:\n${output}`);
    assert.ok(output.trimEnd().endsWith(RULE), `nothing after the banner:\n${output.slice(output.lastIndexOf('ready in') - 40)}`);
    const stopped = await stopWith(run.tree, run.npm.pid!, 'SIGTERM');
    assert.deepEqual(stopped.running.map((p) => p.command), [], 'no process left');
    assert.deepEqual(stopped.open, [], 'no port left open');
    t.diagnostic(`everything stopped, every port closed, ${stopped.ms} ms after the signal`);
    assert.ok(stopped.ms <= STOP_WITHIN_MS, `stopped in ${stopped.ms} ms`);
    assert.ok(!existsSync(join(dataDir, 'quickstart.pids')), 'nothing left for the next start to reap');
  });

  it('kill -HUP <npm pid>: npm dies alone, the quickstart notices and stops everything', async (t) => {
    const run = await start();
    const stopped = await stopWith(run.tree, run.npm.pid!, 'SIGHUP');
    assert.deepEqual(stopped.running.map((p) => p.command), [], 'no process left');
    assert.deepEqual(stopped.open, [], 'no port left open');
    t.diagnostic(`everything stopped, every port closed, ${stopped.ms} ms after the signal`);
    assert.ok(stopped.ms <= STOP_WITHIN_MS, `stopped in ${stopped.ms} ms`);
  });

  it('kill -INT <its own pid> (a process manager, a script): stops everything', async (t) => {
    const run = await start();
    const stopped = await stopWith(run.tree, run.supervisor!.pid, 'SIGINT');
    assert.deepEqual(stopped.running.map((p) => p.command), [], 'no process left');
    assert.deepEqual(stopped.open, [], 'no port left open');
    t.diagnostic(`everything stopped, every port closed, ${stopped.ms} ms after the signal`);
    assert.ok(stopped.ms <= STOP_WITHIN_MS, `stopped in ${stopped.ms} ms`);
    assert.match(run.output(), /SIGINT: stopping api, worker, sandbox and the embedded PostgreSQL/);
  });
});
