import {
  Queue,
  Worker,
  createPostgresBackend,
  createRedisBackend,
  type Processor,
  type QueueOptions,
  type WorkerOptions,
} from 'bullmq';

import type { AppConfig, QueueBackendKind } from '@app/common';

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

export function queueBackendOptions(config: AppConfig, opts: { failFast: boolean }): QueueBackendOptions {
  return { kind: config.queueBackend, redisUrl: config.redisUrl, databaseUrl: config.databaseUrl, prefix: config.queuePrefix, failFast: opts.failFast };
}

/**
 * Each BullMQ Queue and Worker on the PostgreSQL backend owns a pool (plus, for a
 * worker, one LISTEN connection). With eight queues, producers in the api and the
 * worker and a worker per queue, pools of 10 could ask one process pair for well over
 * PostgreSQL's default 100 connections ("too many clients" under load); producers need
 * little (one addBulk at a time), a worker a few for claims, completions and locks.
 */
const PG_POOL = { producer: 2, worker: 4 } as const;

/**
 * The backend rides on the connection options this file builds, as a symbol-keyed tag:
 * @nestjs/bullmq hands a worker nothing of its queue but `connection`, `prefix` and
 * `telemetry` (BullExplorer.handleProcessor), so the connection is the one field that
 * reaches both classes below. Neither bullmq backend reads symbol keys.
 */
const BACKEND = Symbol('queue backend');
type Tagged = { [BACKEND]?: QueueBackendKind };

// Typed as BullMQ's default (Redis) classes, which is what the rest of the code base sees.
const FACTORIES: Record<QueueBackendKind, typeof createRedisBackend> = {
  redis: createRedisBackend,
  postgres: createPostgresBackend as unknown as typeof createRedisBackend,
};

function backendOf(connection: unknown): QueueBackendKind {
  const kind = (connection as Tagged | undefined)?.[BACKEND];
  if (!kind) throw new Error('queue connection options were not built by QueueFactory: their backend is unknown');
  return kind;
}

function redisConnection(o: QueueBackendOptions) {
  const u = new URL(o.redisUrl as string);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    username: u.username || undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    tls: u.protocol === 'rediss:' ? {} : undefined,
    maxRetriesPerRequest: null,
    ...(o.failFast ? { enableOfflineQueue: false } : {}),
  };
}

/**
 * The options every Queue of this backend is built with (a worker adapts them, see
 * BackendWorker). BullModule.forRootAsync shares them with registerQueue and with the
 * explorer that builds the @Processor workers; QueueFactory builds its own queues from them.
 */
export function queueOptions(o: QueueBackendOptions): QueueOptions {
  const defaultJobOptions: QueueOptions['defaultJobOptions'] = {
    removeOnComplete: { age: 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
  if (o.kind === 'redis') {
    if (!o.redisUrl) throw new Error('redis queue backend needs REDIS_URL');
    const redis = { ...redisConnection(o), [BACKEND]: 'redis' };
    return { connection: redis as QueueOptions['connection'], prefix: o.prefix, defaultJobOptions };
  }
  const pg = { connectionString: o.databaseUrl, schema: `${o.prefix}_queue`.toLowerCase(), migrate: true, max: PG_POOL.producer, [BACKEND]: 'postgres' };
  return { connection: pg as unknown as QueueOptions['connection'], defaultJobOptions };
}

/**
 * A BullMQ Queue on the backend its connection options name. @nestjs/bullmq builds
 * queues from one class per process (BullModule.queueClass, a static), and several
 * stacks on different backends share a test process: so that class must not fix the
 * backend the way withBackend(createPostgresBackend).Queue does.
 */
export class BackendQueue extends Queue {
  readonly backendKind: QueueBackendKind;

  constructor(name: string, opts: QueueOptions) {
    super(name, opts, FACTORIES[backendOf(opts.connection)]);
    this.backendKind = backendOf(opts.connection);
    this.on('error', () => {
      /* surfaced by the next add(); a transient reconnect must not crash the process */
    });
  }
}

/**
 * A BullMQ Worker on its queue's backend (BullModule.workerClass, for the same reason).
 * It gets its queue's connection; a worker's differs: a pool of 4 on PostgreSQL, and on
 * Redis it waits for a reconnect instead of failing fast.
 */
export class BackendWorker<T = unknown> extends Worker<T> {
  readonly backendKind: QueueBackendKind;

  constructor(name: string, processor: Processor<T> | null | undefined, opts: WorkerOptions) {
    const kind = backendOf(opts.connection);
    const { enableOfflineQueue: _failFast, ...connection } = opts.connection as unknown as Record<string | symbol, unknown>;
    const workerConnection = kind === 'postgres' ? { ...connection, max: PG_POOL.worker } : connection;
    super(name, processor, { ...opts, connection: workerConnection as WorkerOptions['connection'] }, FACTORIES[kind]);
    this.backendKind = kind;
  }
}

/**
 * The one place that knows which BullMQ backend is underneath. Everything else gets its
 * queues from here or by @InjectQueue (the same instances) and sees only BullMQ's classes.
 *
 * - Redis (REDIS_URL set): BullMQ's Redis backend, keys prefixed with QUEUE_PREFIX.
 * - PostgreSQL (REDIS_URL unset): bullmq 6's PostgreSQL backend on DATABASE_URL, in
 *   the schema "<QUEUE_PREFIX>_queue", migrated on connect.
 *
 * The backend is chosen per instance (BackendQueue, BackendWorker), never through
 * bullmq's process-wide setDefaultBackendFactory: the tests run both in one process.
 */
export class QueueFactory {
  readonly kind: QueueBackendKind;
  private readonly queues = new Map<string, Queue>();
  private readonly workers: Worker[] = [];
  private readonly options: QueueOptions;

  /** `adopted`: queues built elsewhere from queueOptions() (BullModule.registerQueue). */
  constructor(opts: QueueBackendOptions, adopted: Queue[] = []) {
    this.kind = opts.kind;
    this.options = queueOptions(opts);
    for (const q of adopted) {
      if (!(q instanceof BackendQueue) || q.backendKind !== this.kind) {
        throw new Error(`queue ${q.name} is not a ${this.kind} BackendQueue: was BullModule.queueClass replaced?`);
      }
      this.queues.set(q.name, q);
    }
  }

  /** A producer handle for a queue, created once per name and reused. */
  queue<T = unknown>(name: string): Queue<T> {
    let q = this.queues.get(name);
    if (!q) {
      q = new BackendQueue(name, this.options);
      this.queues.set(name, q);
    }
    return q as Queue<T>;
  }

  /** A worker outside Nest (the queue benchmark); the worker app's come from @Processor hosts. */
  worker<T>(name: string, processor: Processor<T>, opts: Omit<WorkerOptions, 'connection' | 'prefix'>): Worker<T> {
    const w = new BackendWorker<T>(name, processor, { ...opts, connection: this.options.connection, prefix: this.options.prefix });
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
