/**
 * Queue backend throughput: the same QueueFactory code path the gateway uses, on Redis
 * and on BullMQ's PostgreSQL backend. Run after a build:
 *
 *   node dist/bench/queue-backends.js [--runs 3] [--single 2000] [--bulk 10000] [--concurrency 50] [--backends redis,postgres]
 *
 * Workloads (median of --runs each, a fresh queue prefix per run):
 *  - single: `add()` one no-op job at a time (awaited) while one worker at concurrency 1
 *    takes them; jobs/s from the first add to the last completion (request-sized work).
 *  - bulk: `addBulk()` 10,000 no-op jobs in chunks of 1,000 (what fan-out does with
 *    delivery batches, at a larger count), then a worker at --concurrency (50) drains them;
 *    add and process rates reported separately.
 * Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) and REDIS_URL
 * (default redis://127.0.0.1:6379).
 */
import { execSync } from 'node:child_process';
import { cpus } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { QueueFactory } from '@app/queue';
import type { QueueBackendKind } from '@app/common';

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : def;
};
const RUNS = Number(arg('runs', '3'));
const SINGLE = Number(arg('single', '2000'));
const BULK = Number(arg('bulk', '10000'));
const CHUNK = 1000;
const CONCURRENCY = Number(arg('concurrency', '50'));
const BACKENDS = arg('backends', 'redis,postgres').split(',') as QueueBackendKind[];
const DATABASE_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

interface Run {
  singlePerSec: number;
  bulkAddPerSec: number;
  bulkProcessPerSec: number;
}

function factory(kind: QueueBackendKind, prefix: string): QueueFactory {
  return new QueueFactory({ kind, redisUrl: REDIS_URL, databaseUrl: DATABASE_URL, prefix });
}

/** Resolves when `n` jobs have completed on the factory's worker. */
function completions(qf: QueueFactory, name: string, n: number, concurrency: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let done = 0;
    const w = qf.worker(name, async () => undefined, { concurrency });
    w.on('completed', () => {
      if (++done === n) resolve(performance.now());
    });
    w.on('failed', (_job, err) => reject(err));
    w.on('error', reject);
  });
}

async function dropQueueData(kind: QueueBackendKind, qf: QueueFactory, name: string, prefix: string): Promise<void> {
  if (kind === 'redis') {
    await qf.queue(name).obliterate({ force: true });
    await qf.close();
    return;
  }
  await qf.close();
  const c = new Client({ connectionString: DATABASE_URL });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS "${`${prefix}_queue`.toLowerCase()}" CASCADE`);
  await c.end();
}

async function single(kind: QueueBackendKind): Promise<number> {
  const prefix = `bench_${randomBytes(4).toString('hex')}`;
  const qf = factory(kind, prefix);
  const q = qf.queue('single');
  await q.waitUntilReady();
  const finished = completions(qf, 'single', SINGLE, 1);
  const t0 = performance.now();
  for (let i = 0; i < SINGLE; i++) await q.add('noop', { i });
  const t1 = await finished;
  await dropQueueData(kind, qf, 'single', prefix);
  return SINGLE / ((t1 - t0) / 1000);
}

async function bulk(kind: QueueBackendKind): Promise<{ add: number; process: number }> {
  const prefix = `bench_${randomBytes(4).toString('hex')}`;
  const qf = factory(kind, prefix);
  const q = qf.queue('bulk');
  await q.waitUntilReady();
  const t0 = performance.now();
  for (let i = 0; i < BULK; i += CHUNK) {
    await q.addBulk(Array.from({ length: Math.min(CHUNK, BULK - i) }, (_, k) => ({ name: 'noop', data: { i: i + k } })));
  }
  const t1 = performance.now();
  const t2 = await completions(qf, 'bulk', BULK, CONCURRENCY);
  await dropQueueData(kind, qf, 'bulk', prefix);
  return { add: BULK / ((t1 - t0) / 1000), process: BULK / ((t2 - t1) / 1000) };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const cpu = cpus()[0]?.model ?? 'unknown';
  let pgVersion = '';
  try {
    const c = new Client({ connectionString: DATABASE_URL });
    await c.connect();
    pgVersion = (await c.query('show server_version')).rows[0].server_version as string;
    await c.end();
  } catch {
    /* reported as unknown */
  }
  let redisVersion = '';
  try {
    redisVersion = execSync('redis-server --version', { encoding: 'utf8' }).match(/v=(\S+)/)?.[1] ?? '';
  } catch {
    /* reported as unknown */
  }
  console.log(`# ${cpus().length} CPUs (${cpu}), Node ${process.version}, PostgreSQL ${pgVersion || 'unknown'}, Redis ${redisVersion || 'unknown'}`);
  console.log(`# ${RUNS} runs per backend; single: ${SINGLE} jobs, add() awaited one by one, concurrency 1; bulk: ${BULK} jobs, addBulk x${CHUNK}, concurrency ${CONCURRENCY}`);
  const results: Record<string, Run> = {};
  for (const kind of BACKENDS) {
    const runs: Run[] = [];
    for (let r = 0; r < RUNS; r++) {
      const s = await single(kind);
      const b = await bulk(kind);
      runs.push({ singlePerSec: s, bulkAddPerSec: b.add, bulkProcessPerSec: b.process });
      console.log(`${kind} run ${r + 1}: single ${s.toFixed(0)} jobs/s; bulk add ${b.add.toFixed(0)} jobs/s, process ${b.process.toFixed(0)} jobs/s`);
    }
    results[kind] = {
      singlePerSec: median(runs.map((x) => x.singlePerSec)),
      bulkAddPerSec: median(runs.map((x) => x.bulkAddPerSec)),
      bulkProcessPerSec: median(runs.map((x) => x.bulkProcessPerSec)),
    };
  }
  console.log(`\n| backend | single add+process (jobs/s) | bulk add (jobs/s) | bulk process, concurrency ${CONCURRENCY} (jobs/s) |`);
  console.log('|---|---:|---:|---:|');
  for (const [kind, r] of Object.entries(results)) {
    console.log(`| ${kind} | ${r.singlePerSec.toFixed(0)} | ${r.bulkAddPerSec.toFixed(0)} | ${r.bulkProcessPerSec.toFixed(0)} |`);
  }
  if (results.redis && results.postgres) {
    const ratio = (k: keyof Run) => (results.redis[k] / results.postgres[k]).toFixed(1);
    console.log(`\nRedis / PostgreSQL: single ${ratio('singlePerSec')}x, bulk add ${ratio('bulkAddPerSec')}x, bulk process ${ratio('bulkProcessPerSec')}x`);
  }
  console.log(JSON.stringify({ machine: { cpus: cpus().length, cpu, node: process.version, pgVersion, redisVersion }, results }));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
