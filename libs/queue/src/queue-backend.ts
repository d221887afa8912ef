import {
  Queue,
  Worker,
  withBackend,
  createPostgresBackend,
  type Processor,
  type QueueOptions,
  type WorkerOptions,
} from 'bullmq';

import type { QueueBackendKind } from '@app/common';

export interface QueueBackendOptions {
  kind: QueueBackendKind;
  redisUrl: string | null;
  databaseUrl: string;
  /** Redis key prefix, or (on PostgreSQL) the schema the queue tables live in. */
  prefix: string;
  /**
   * Producers fail at once while Redis is away instead of waiting for it (the API: a
   * send is answered 503 and leaves nothing behind). Workers leave it off: a job that
   * enqueues follow-up work waits out a short Redis restart rather than failing halfway.
   */
  failFast?: boolean;
}

/**
 * The one place that knows which BullMQ backend is underneath. Everything else asks
 * this factory for queues and workers and sees only BullMQ's own classes.
 *
 * - Redis (REDIS_URL set): BullMQ's default backend, keys prefixed with QUEUE_PREFIX.
 * - PostgreSQL (REDIS_URL unset): bullmq 6's PostgreSQL backend on DATABASE_URL, in
 *   the schema "<QUEUE_PREFIX>_queue", migrated on connect.
 */
export class QueueFactory {
  readonly kind: QueueBackendKind;
  private readonly queues = new Map<string, Queue>();
  private readonly workers: Worker[] = [];
  private readonly pg = withBackend(createPostgresBackend);

  constructor(private readonly opts: QueueBackendOptions) {
    this.kind = opts.kind;
    if (opts.kind === 'redis' && !opts.redisUrl) throw new Error('redis queue backend needs REDIS_URL');
  }

  private redisConnection() {
    const u = new URL(this.opts.redisUrl as string);
    return {
      host: u.hostname,
      port: Number(u.port || 6379),
      username: u.username || undefined,
      password: u.password ? decodeURIComponent(u.password) : undefined,
      db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
      tls: u.protocol === 'rediss:' ? {} : undefined,
      maxRetriesPerRequest: null,
    };
  }

  /**
   * Each BullMQ Queue and Worker on the PostgreSQL backend owns a pool (plus, for a
   * worker, one LISTEN connection). With eight queues, producers in the api and the
   * worker and a worker per queue, pools of 10 could ask one process pair for well over
   * PostgreSQL's default 100 connections ("too many clients" under load); producers need
   * little (one addBulk at a time), a worker a few for claims, completions and locks.
   */
  private pgConnection(migrate: boolean, max: number) {
    return { connectionString: this.opts.databaseUrl, schema: `${this.opts.prefix}_queue`.toLowerCase(), migrate, max };
  }

  /** A producer handle for a queue, created once per name and reused. */
  queue<T = unknown>(name: string): Queue<T> {
    let q = this.queues.get(name);
    if (!q) {
      const defaults: QueueOptions['defaultJobOptions'] = {
        removeOnComplete: { age: 3600, count: 10_000 },
        removeOnFail: { age: 7 * 24 * 3600 },
      };
      if (this.kind === 'redis') {
        const connection = { ...this.redisConnection(), ...(this.opts.failFast ? { enableOfflineQueue: false } : {}) };
        q = new Queue(name, { connection, prefix: this.opts.prefix, defaultJobOptions: defaults });
      } else {
        q = new this.pg.Queue(name, { connection: this.pgConnection(true, 2), defaultJobOptions: defaults }) as unknown as Queue;
      }
      q.on('error', () => {
        /* surfaced by the next add(); a transient reconnect must not crash the process */
      });
      this.queues.set(name, q);
    }
    return q as Queue<T>;
  }

  worker<T>(name: string, processor: Processor<T>, opts: Omit<WorkerOptions, 'connection' | 'prefix'>): Worker<T> {
    let w: Worker<T>;
    if (this.kind === 'redis') {
      w = new Worker<T>(name, processor, { ...opts, connection: this.redisConnection(), prefix: this.opts.prefix });
    } else {
      w = new this.pg.Worker<T>(name, processor, { ...opts, connection: this.pgConnection(true, 4) }) as unknown as Worker<T>;
    }
    this.workers.push(w as Worker);
    return w;
  }

  /** Answers when the backend is reachable (readiness). */
  async ping(): Promise<void> {
    const q = this.queue('fanout');
    await q.getJobCounts('waiting');
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.workers.length = 0;
    this.queues.clear();
  }
}
