import { UnrecoverableError, type Job, type Worker } from 'bullmq';
import { createLogger, SecretBox, type AppConfig } from '@app/common';
import { CredentialRepository, DeviceRepository, IdempotencyRepository, NotificationRepository, createDb, migrateToLatest } from '@app/db';
import { Maintenance } from './maintenance';
import { PROVIDERS, closeProviders, createProviders, type ProviderMap, createProviderContext, RedisRateLimiter } from '@app/providers';
import { DELIVERY_QUEUES, JobName, QueueFactory, QueueName, ALL_QUEUES, type DeliverBatchJobData, type FanoutJobData } from '@app/queue';
import { DeliveryProcessor } from './delivery.processor';
import { FanoutProcessor } from './fanout.processor';
import { Redis } from 'ioredis';
import { ObserverList, type PipelineObserver } from './pipeline-observer';
import { createRegistry, loadOpsConfig, PipelineMetrics, registerQueueDepth, checkDatabase, checkQueueBackend } from '@app/observability';
import type { Registry } from 'prom-client';
import { MetricsObserver } from './ops/metrics.observer';
import { startOpsServer, type OpsServerOptions, type RunningOpsServer } from './ops/ops-server';
import { startEventPipeline } from './events/events.setup';

export interface RunningWorker {
  queues: QueueFactory;
  maintenance: Maintenance;
  /** This worker's Prometheus registry (also served on the ops port). */
  metrics: Registry;
  /** The ops HTTP server (/metrics, /health/*); url is null when disabled or its port was taken. */
  ops: RunningOpsServer;
  providers: ProviderMap;
  close(): Promise<void>;
}

type Handler = (job: Job) => Promise<unknown>;

/**
 * Starts one worker process's consumers: the fan-out queue and one delivery queue per
 * provider, one processor per queue that branches on job.name. Every queue must have
 * exactly one handler for each job name it carries, or start-up fails.
 * Any number of worker processes may run against the same backend: BullMQ's job locks
 * guarantee no job is processed by two of them at once.
 */
export interface StartWorkerOptions {
  /** The ops port; defaults to WORKER_OPS_PORT / WORKER_OPS_HOST. false: none. */
  ops?: OpsServerOptions | false;
}

export async function startWorker(config: AppConfig, options: StartWorkerOptions = {}): Promise<RunningWorker> {
  const logger = createLogger('worker');
  // delivery and direct jobs share the pool; a short wait for a connection is cheaper than more of them
  const { db } = createDb({ url: config.databaseUrl, schema: config.databaseSchema, max: config.deliveryConcurrency + 8 });
  if (config.migrateOnStart) await migrateToLatest(db, config.databaseSchema);
  const queues = new QueueFactory({ kind: config.queueBackend, redisUrl: config.redisUrl, databaseUrl: config.databaseUrl, prefix: config.queuePrefix });
  // FCM's per-project send rate is shared by every worker process through Redis when
  // there is one; on the PostgreSQL queue backend each process paces itself.
  const limiterRedis = config.redisUrl ? new Redis(config.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: false }) : null;
  limiterRedis?.on('error', () => undefined);
  const rateLimiter = limiterRedis ? new RedisRateLimiter(limiterRedis, { ratePerMinute: config.fcm.ratePerMinute, prefix: config.queuePrefix }) : undefined;
  const providers = createProviders(createProviderContext(config, logger), { fcm: { rateLimiter } });
  const repos = {
    devices: new DeviceRepository(db),
    credentials: new CredentialRepository(db, new SecretBox(config.masterKey)),
    notifications: new NotificationRepository(db),
  };
  const observerList: PipelineObserver[] = [];
  const observers = new ObserverList(observerList, (err) => logger.error({ msg: 'observer failed', error: err.message }));
  const metrics = createRegistry();
  observerList.push(new MetricsObserver(new PipelineMetrics(metrics)));
  registerQueueDepth(metrics, queues, ALL_QUEUES);
  const events = startEventPipeline({ config, logger, db, queues });
  observerList.push(events.observer);
  const delivery = new DeliveryProcessor({ config, logger, queues, providers, observers, ...repos });
  const fanoutDeps = { config, logger, queues, observers, ...repos };
  const fanout = new FanoutProcessor(fanoutDeps);
  const direct = new FanoutProcessor(fanoutDeps, (data, o) => delivery.deliver(data, { ...o, complete: false }));

  const routing: Partial<Record<QueueName, Record<string, Handler>>> = {
    [QueueName.Fanout]: { [JobName.FanoutNotification]: (j) => fanout.process(j as Job<FanoutJobData>) },
    [QueueName.Direct]: { [JobName.FanoutNotification]: (j) => direct.process(j as Job<FanoutJobData>) },
  };
  for (const p of PROVIDERS) {
    routing[DELIVERY_QUEUES[p]] = { [JobName.DeliverBatch]: (j) => delivery.process(j as Job<DeliverBatchJobData>) };
  }
  routing[QueueName.Webhooks] = events.handlers;
  for (const q of ALL_QUEUES) {
    if (Object.keys(routing[q] ?? {}).length === 0) throw new Error(`queue ${q} has no handler`);
  }

  const CONCURRENCY: Partial<Record<QueueName, number>> = {
    [QueueName.Fanout]: config.fanoutConcurrency,
    [QueueName.Direct]: config.directConcurrency,
    [QueueName.Webhooks]: config.webhooks.concurrency,
  };
  const workers: Worker[] = ALL_QUEUES.map((name) => {
    const handlers = routing[name] as Record<string, Handler>;
    const w = queues.worker(
      name,
      async (job: Job) => {
        const handler = handlers[job.name];
        if (!handler) throw new UnrecoverableError(`no handler for job ${job.name} on queue ${name}`);
        return handler(job);
      },
      {
        concurrency: CONCURRENCY[name] ?? config.deliveryConcurrency,
        lockDuration: 60_000,
        maxStalledCount: 3,
      },
    );
    w.on('failed', (job, err) => logger.error({ msg: 'job failed', queue: name, jobId: job?.id, attemptsMade: job?.attemptsMade, error: err.message }));
    w.on('error', (err) => logger.error({ msg: 'worker error', queue: name, error: err.message }));
    return w as Worker;
  });
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  const maintenance = new Maintenance({
    logger, queues, notifications: repos.notifications, idempotency: new IdempotencyRepository(db), idempotencyTtlHours: config.idempotencyTtlHours,
  });
  maintenance.start();
  const opsConfig = loadOpsConfig();
  const opsOptions = options.ops ?? (opsConfig.workerOpsPort === null ? false : { port: opsConfig.workerOpsPort, host: opsConfig.workerOpsHost });
  const ops: RunningOpsServer = opsOptions
    ? await startOpsServer(opsOptions, { registry: metrics, logger, readiness: { database: checkDatabase(db), queue: checkQueueBackend(queues) } })
    : { url: null, close: async () => undefined };
  logger.log({ msg: 'worker ready', backend: queues.kind, queues: ALL_QUEUES, ops: ops.url });

  return {
    queues,
    providers,
    maintenance,
    metrics,
    ops,
    async close() {
      await ops.close();
      maintenance.stop();
      // Worker.close() waits for active jobs to finish; unstarted jobs stay queued.
      await queues.close();
      // events the last jobs produced are flushed after the workers stopped; the flush may
      // open a queue handle to enqueue webhook deliveries, closed by the second close()
      await events.close();
      await queues.close();
      await closeProviders(providers);
      limiterRedis?.disconnect();
      await db.destroy();
    },
  };
}
