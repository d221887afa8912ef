import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { Client } from 'pg';
import { sandboxEnv } from '../scripts/lib/sandbox-env';
import { log, sleep } from './util';

/** Repository root: the nearest folder above this compiled file that holds package.json. */
export const ROOT = ((): string => {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();
/** Where the compiled apps are: next to this compiled file. */
const DIST = resolve(__dirname, '..');

export const BENCH_ADMIN_KEY = 'bench-admin-key-0123456789abcdef';
// random per benchmark process (production refuses a patterned key); every stack it starts shares it
const MASTER_KEY = randomBytes(32).toString('hex');

export interface StackOptions {
  databaseUrl: string;
  redisUrl: string | null;
  /** Sandbox keeps totals only (million-device runs). */
  countOnly: boolean;
  /** Start the worker with --cpu-prof into this directory. */
  cpuProfDir?: string;
  /** Start the api with --cpu-prof into this directory. */
  apiCpuProfDir?: string;
  logDir: string;
  workerEnv?: Record<string, string>;
  /** Worker processes to start (default 1). */
  workers?: number;
  /** How long a process may take to stop on SIGTERM before it is killed (default 15 s). */
  stopTimeoutMs?: number;
  /** Drop the schemas and Redis keys on close (default true; false when the stores are thrown away anyway). */
  dropOnClose?: boolean;
}

export interface Proc {
  name: string;
  child: ChildProcess;
  pid: number;
}

export interface BenchStack {
  schema: string;
  queuePrefix: string;
  apiUrl: string;
  controlUrl: string;
  sandboxUrls: Record<string, string>;
  caFile: string;
  /** Environment the api and worker run with (also used to build in-process clients). */
  env: Record<string, string>;
  /** `worker` is the first of `workers`, the ones running now. */
  procs: { sandbox: Proc; api: Proc; worker: Proc; workers: Proc[] };
  /** Stops and restarts the first worker (e.g. to collect a CPU profile). */
  restartWorker(extra?: { cpuProfDir?: string }): Promise<void>;
  /** Starts one more worker process. */
  addWorker(): Promise<Proc>;
  /** Sends `signal` to a worker (SIGKILL: a crash) and waits for it to exit; it leaves `workers`. */
  killWorker(p: Proc, signal?: NodeJS.Signals): Promise<void>;
  /** Stops and restarts the api (e.g. to collect a CPU profile; the profile is written on exit). */
  restartApi(extra?: { cpuProfDir?: string }): Promise<void>;
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => res(port));
    });
  });
}

function start(name: string, script: string, env: Record<string, string>, logDir: string, nodeArgs: string[] = []): Proc {
  const out = openSync(join(logDir, `${name}.log`), 'a');
  const child = spawn(process.execPath, [...nodeArgs, join(DIST, script)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', out, out],
  });
  if (!child.pid) throw new Error(`could not start ${name}`);
  return { name, child, pid: child.pid };
}

async function stop(p: Proc, timeoutMs = 15_000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.child.once('exit', () => r()));
  p.child.kill('SIGTERM');
  const t = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(t);
}

async function waitHttp(url: string, what: string, proc: Proc, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`${what} exited with code ${proc.child.exitCode} (see its log)`);
    try {
      const r = await fetch(url);
      if (r.status < 500) return;
    } catch {
      // not up yet
    }
    await sleep(200);
  }
  throw new Error(`${what} did not answer ${url} within ${timeoutMs} ms`);
}

/**
 * Spawns the compiled sandbox, api and worker as child processes (so their RSS can be
 * read from /proc), on a schema and queue prefix of their own, pointed at the sandbox
 * exactly as the test harness does (scripts/lib/sandbox-env.ts).
 */
export async function startStack(opts: StackOptions): Promise<BenchStack> {
  mkdirSync(opts.logDir, { recursive: true });
  const id = `bench_${randomBytes(4).toString('hex')}`;
  const dataDir = join(ROOT, '.data', 'sandbox-bench');
  mkdirSync(dataDir, { recursive: true });
  const [control, apns, fcm, wns, webpush, apiPort, apnsSandbox] = await Promise.all(Array.from({ length: 7 }, freePort));
  const sandbox = start('sandbox', 'apps/sandbox/src/main.js', {
    SANDBOX_DATA_DIR: dataDir,
    SANDBOX_CONTROL_PORT: String(control),
    SANDBOX_APNS_PORT: String(apns),
    SANDBOX_APNS_SANDBOX_PORT: String(apnsSandbox),
    SANDBOX_FCM_PORT: String(fcm),
    SANDBOX_WNS_PORT: String(wns),
    SANDBOX_WEBPUSH_PORT: String(webpush),
    SANDBOX_COUNT_ONLY: String(opts.countOnly),
    LOG_LEVEL: 'warn',
  }, opts.logDir);
  const controlUrl = `http://127.0.0.1:${control}`;
  // a start that fails half-way leaves nothing running
  const startedProcs: Proc[] = [sandbox];
  try {
    return await startRest();
  } catch (e) {
    for (const p of startedProcs) p.child.kill('SIGKILL');
    throw e;
  }

  async function startRest(): Promise<BenchStack> {
    await waitHttp(`${controlUrl}/stats`, 'sandbox', sandbox);
    const sandboxUrls = {
      apns: `https://localhost:${apns}`, fcm: `https://localhost:${fcm}`, wns: `https://localhost:${wns}`, webpush: `https://localhost:${webpush}`,
    };
    const caFile = join(dataDir, 'ca.pem');
    const env: Record<string, string> = {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      DATABASE_URL: opts.databaseUrl,
      DATABASE_SCHEMA: id,
      REDIS_URL: opts.redisUrl ?? '',
      QUEUE_PREFIX: id,
      ADMIN_API_KEY: BENCH_ADMIN_KEY,
      MASTER_KEY,
      API_PORT: String(apiPort),
      API_HOST: '127.0.0.1',
      MIGRATE_ON_START: 'true',
      WORKER_OPS_PORT: '0',
      ...sandboxEnv({ caFile, urls: sandboxUrls, apnsSandboxUrl: `https://localhost:${apnsSandbox}` }),
      ...(opts.workerEnv ?? {}),
    };
    const profArgs = (dir?: string) => (dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`, '-r', join(__dirname, 'exit-on-sigterm.js')] : []);
    const workerArgs = profArgs;
    const stopMs = opts.stopTimeoutMs ?? 15_000;
    let api = start('api', 'apps/api/src/main.js', env, opts.logDir, profArgs(opts.apiCpuProfDir));
    startedProcs.push(api);
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    await waitHttp(`${apiUrl}/health/live`, 'api', api);
    let started = 0;
    /** A worker, given a moment to connect; each one's log is worker.log, worker-2.log, … */
    const spawnWorker = async (cpuProfDir?: string): Promise<Proc> => {
      started += 1;
      const name = started === 1 ? 'worker' : `worker-${started}`;
      const w = start(name, 'apps/worker/src/main.js', env, opts.logDir, workerArgs(cpuProfDir));
      startedProcs.push(w);
      await sleep(1500);
      if (w.child.exitCode !== null) throw new Error(`${name} exited with code ${w.child.exitCode} (see ${opts.logDir}/${name}.log)`);
      return w;
    };
    const workers: Proc[] = [await spawnWorker(opts.cpuProfDir)];
    for (let i = 1; i < (opts.workers ?? 1); i++) workers.push(await spawnWorker());
    log(`stack up: schema ${id}, api ${apiUrl}, sandbox ${controlUrl}, pids sandbox ${sandbox.pid} api ${api.pid} workers ${workers.map((w) => w.pid).join(' ')}`);

    const procs = { sandbox, api, worker: workers[0], workers };
    return {
      schema: id, queuePrefix: id, apiUrl, controlUrl, sandboxUrls, caFile, env, procs,
      async restartApi(extra = {}) {
        await stop(api);
        api = start('api', 'apps/api/src/main.js', env, opts.logDir, profArgs(extra.cpuProfDir));
        procs.api = api;
        await waitHttp(`${apiUrl}/health/live`, 'api', api);
      },
      async restartWorker(extra = {}) {
        await stop(procs.worker, stopMs);
        const w = start('worker', 'apps/worker/src/main.js', env, opts.logDir, workerArgs(extra.cpuProfDir));
        workers[0] = procs.worker = w;
        await sleep(1500);
      },
      async addWorker() {
        const w = await spawnWorker();
        workers.push(w);
        procs.worker = workers[0];
        return w;
      },
      async killWorker(p, signal = 'SIGKILL') {
        if (p.child.exitCode === null && p.child.signalCode === null) {
          const exited = new Promise<void>((r) => p.child.once('exit', () => r()));
          p.child.kill(signal);
          await exited;
        }
        const i = workers.indexOf(p);
        if (i >= 0) workers.splice(i, 1);
        procs.worker = workers[0] ?? p;
      },
      async close() {
        await Promise.all(workers.map((w) => stop(w, stopMs)));
        await stop(procs.api, stopMs);
        await stop(sandbox, stopMs);
        if (opts.dropOnClose === false) return;
        await dropSchemas(opts.databaseUrl, id);
        if (opts.redisUrl) await dropRedisPrefix(opts.redisUrl, id);
      },
    };
  }
}

async function dropSchemas(databaseUrl: string, id: string): Promise<void> {
  const pg = new Client({ connectionString: databaseUrl });
  try {
    await pg.connect();
    await pg.query(`DROP SCHEMA IF EXISTS "${id}" CASCADE`);
    await pg.query(`DROP SCHEMA IF EXISTS "${id}_queue" CASCADE`);
  } catch (e) {
    log(`could not drop schema ${id}: ${(e as Error).message}`);
  } finally {
    await pg.end().catch(() => undefined);
  }
}

async function dropRedisPrefix(redisUrl: string, prefix: string): Promise<void> {
  const { Redis } = await import('ioredis');
  const r = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await r.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}

/** JSON over HTTP (API and sandbox control). */
export async function http<T = Record<string, unknown>>(
  method: string, url: string, body?: unknown, headers: Record<string, string> = {},
): Promise<{ status: number; body: T }> {
  const res = await fetch(url, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
}

export interface SandboxStats {
  delivered: Record<string, number>;
  rejected: Record<string, number>;
  firstAt: number | null;
  lastAt: number | null;
}

export const sandboxStats = async (controlUrl: string): Promise<SandboxStats> => (await http<SandboxStats>('GET', `${controlUrl}/stats`)).body;
export const sandboxReset = async (controlUrl: string): Promise<void> => void (await http('POST', `${controlUrl}/reset`));
export const totalDelivered = (s: SandboxStats): number => Object.values(s.delivered).reduce((a, b) => a + b, 0);
export const totalRejected = (s: SandboxStats): number => Object.values(s.rejected).reduce((a, b) => a + b, 0);
