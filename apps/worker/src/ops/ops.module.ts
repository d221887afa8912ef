import { Inject, Injectable, Module, type DynamicModule, type LoggerService, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Registry } from 'prom-client';
import { LOGGER } from '@app/common';
import { DB, type Db } from '@app/db';
import { checkDatabase, checkQueueBackend } from '@app/observability';
import { QueueFactory } from '@app/queue';
import { METRICS_REGISTRY, OPS_OPTIONS } from '../worker.tokens';
import { MetricsModule } from './metrics.module';
import { startOpsServer, type OpsServerOptions, type RunningOpsServer } from './ops-server';

/** The worker's ops port (/metrics, /health/*): listening once the worker has started, closed first on shutdown. */
@Injectable()
export class WorkerOpsServer implements RunningOpsServer, OnApplicationBootstrap, OnModuleDestroy {
  private running: RunningOpsServer = { url: null, close: async () => undefined };

  constructor(
    @Inject(OPS_OPTIONS) private readonly options: OpsServerOptions | false,
    @Inject(METRICS_REGISTRY) private readonly registry: Registry,
    @Inject(LOGGER) private readonly logger: LoggerService,
    @Inject(DB) private readonly db: Db,
    private readonly queues: QueueFactory,
  ) {}

  /** Null when disabled or when its port was taken. */
  get url(): string | null {
    return this.running.url;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.options) return;
    this.running = await startOpsServer(this.options, {
      registry: this.registry,
      logger: this.logger,
      readiness: { database: checkDatabase(this.db), queue: checkQueueBackend(this.queues) },
    });
  }

  close(): Promise<void> {
    return this.running.close();
  }

  async onModuleDestroy(): Promise<void> {
    await this.close();
  }
}

@Module({})
export class OpsModule {
  /** `ops`: where the port listens (WORKER_OPS_PORT / WORKER_OPS_HOST, or the caller's), false for none. */
  static forRoot(ops: OpsServerOptions | false): DynamicModule {
    return {
      module: OpsModule,
      imports: [MetricsModule],
      providers: [{ provide: OPS_OPTIONS, useValue: ops }, WorkerOpsServer],
      exports: [WorkerOpsServer],
    };
  }
}
