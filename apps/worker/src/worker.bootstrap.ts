import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { Registry } from 'prom-client';
import { createLogger, type AppConfig } from '@app/common';
import { loadOpsConfig } from '@app/observability';
import { PROVIDERS_MAP, type ProviderMap } from '@app/providers';
import { ALL_QUEUES, QueueFactory } from '@app/queue';
import { Maintenance } from './maintenance';
import { WorkerOpsServer } from './ops/ops.module';
import type { OpsServerOptions, RunningOpsServer } from './ops/ops-server';
import { WorkerModule } from './worker.module';
import { METRICS_REGISTRY } from './worker.tokens';

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

export interface StartWorkerOptions {
  /** The ops port; defaults to WORKER_OPS_PORT / WORKER_OPS_HOST. false: none. */
  ops?: OpsServerOptions | false;
}

/**
 * Starts one worker process's consumers as a Nest application context (no HTTP server
 * but the small ops port): the fan-out and direct queues, one delivery queue per
 * provider and the webhooks queue, one @Processor per queue that branches on job.name.
 * Every queue must have exactly one handler for each job name it carries, or start-up
 * fails. Any number of worker processes may run against the same backend: BullMQ's job
 * locks guarantee no job is processed by two of them at once.
 */
export async function startWorker(config: AppConfig, options: StartWorkerOptions = {}): Promise<RunningWorker> {
  const logger = createLogger('worker');
  const opsConfig = loadOpsConfig();
  const ops = options.ops ?? (opsConfig.workerOpsPort === null ? false : { port: opsConfig.workerOpsPort, host: opsConfig.workerOpsHost });
  // no `logger` option: it would replace Nest's process-wide logger (main.ts sets it for the worker process)
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, { logger, ops }), { abortOnError: false });
  const queues = app.get(QueueFactory);
  const opsServer = app.get(WorkerOpsServer);
  logger.log({ msg: 'worker ready', backend: queues.kind, queues: ALL_QUEUES, ops: opsServer.url });
  return {
    queues,
    providers: app.get<ProviderMap>(PROVIDERS_MAP),
    maintenance: app.get(Maintenance),
    metrics: app.get<Registry>(METRICS_REGISTRY),
    ops: opsServer,
    close: () => app.close(),
  };
}
