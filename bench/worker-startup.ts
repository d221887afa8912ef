/**
 * Worker start-up: from spawning `node <root>/dist/apps/worker/src/main.js` to its
 * `worker ready` log line, for one or more builds, runs interleaved (the machine's load
 * drifts; alternating the order each round keeps it from favouring one build). Run after
 * a build of every root:
 *
 *   node dist/bench/worker-startup.js [--runs 11] [--backend redis|postgres] before=/path/to/other/checkout after=.
 *
 * Each build gets its own schema and queue prefix (`startup_<label>_<backend>`), migrated
 * by a warm-up run that is not counted. Prints the median wall time and the median CPU
 * time (user + system, all threads) the process had used when it logged `worker ready`.
 * Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) and REDIS_URL
 * (default redis://127.0.0.1:6379); the ops port listens on a free loopback port.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { loadAvg, median } from './util';

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
};
const RUNS = Number(arg('runs', '11'));
const BACKEND = arg('backend', 'redis');
const BUILDS = process.argv.slice(2).filter((a) => /^\w+=/.test(a)).map((a) => [a.slice(0, a.indexOf('=')), resolve(a.slice(a.indexOf('=') + 1))] as const);

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => res(port));
    });
  });
}

/** CPU time a process has used so far (utime + stime from /proc, in ms; Linux only). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function once(label: string, root: string): Promise<{ ms: number; cpu: number }> {
  const id = `startup_${label}_${BACKEND}`;
  const env = {
    ...process.env,
    NODE_ENV: 'production',
    LOG_LEVEL: 'log',
    DATABASE_URL: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    DATABASE_SCHEMA: id,
    REDIS_URL: BACKEND === 'redis' ? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' : '',
    QUEUE_PREFIX: id,
    ADMIN_API_KEY: 'startup-bench-admin-key-0123456789',
    MASTER_KEY: 'c'.repeat(64),
    MIGRATE_ON_START: 'true',
    WORKER_OPS_PORT: String(await freePort()),
    WORKER_OPS_HOST: '127.0.0.1',
  };
  const started = performance.now();
  const child = spawn(process.execPath, [join(root, 'dist/apps/worker/src/main.js')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const result = await new Promise<{ ms: number; cpu: number }>((res, rej) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"worker ready"')) res({ ms: performance.now() - started, cpu: cpuMs(child.pid as number) });
    });
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => rej(new Error(`${label}: the worker exited (${code}) before it was ready:\n${out.slice(-2000)}`)));
  });
  child.removeAllListeners('exit');
  await new Promise((res) => {
    child.once('exit', res);
    child.kill('SIGTERM');
  });
  return result;
}

async function main(): Promise<void> {
  if (BUILDS.length === 0) throw new Error('name at least one build: label=/path/to/checkout');
  console.log(`# worker start-up, ${BACKEND} backend, ${RUNS} runs per build, load ${loadAvg()}`);
  for (const [label, root] of BUILDS) await once(label, root); // warm-up: migrations, queue schema, page cache
  const results = new Map(BUILDS.map(([label]) => [label, { ms: [] as number[], cpu: [] as number[] }]));
  for (let i = 0; i < RUNS; i++) {
    for (const [label, root] of i % 2 ? [...BUILDS].reverse() : BUILDS) {
      const r = await once(label, root);
      results.get(label)!.ms.push(r.ms);
      results.get(label)!.cpu.push(r.cpu);
    }
  }
  for (const [label, r] of results) {
    console.log(`${label}: median ${median(r.ms).toFixed(0)} ms to "worker ready" (CPU ${median(r.cpu).toFixed(0)} ms); runs ${r.ms.map((x) => x.toFixed(0)).join(' ')}`);
  }
  console.log(`# load at the end ${loadAvg()}`);
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
