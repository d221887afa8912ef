import { Inject, Module, type LoggerService, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { CONFIG, LOGGER, type AppConfig } from '@app/common';
import { CircuitRepository, DeliveryBatchRepository, DeviceRepository, IdempotencyRepository, NotificationRepository } from '@app/db';
import { PipelineMetrics } from '@app/observability';
import { QueueFactory } from '@app/queue';
import { Maintenance } from './maintenance';
import { MetricsModule } from './ops/metrics.module';
import { PipelineObserverModule } from './pipeline-observer.module';
import { ObserverList } from './pipeline-observer';
import { checkRedisDurability } from './redis-durability';
import { MAINTENANCE_DEPS } from './worker.tokens';

/**
 * The recovery sweep and housekeeping (docs/reliability.md): a timer from start-up until
 * shutdown begins, every RECOVERY_SWEEP_SECONDS; at start-up, the Redis durability check.
 */
@Module({
  imports: [MetricsModule, PipelineObserverModule],
  providers: [
    {
      provide: MAINTENANCE_DEPS,
      inject: [LOGGER, QueueFactory, NotificationRepository, DeviceRepository, DeliveryBatchRepository, CircuitRepository, IdempotencyRepository, PipelineMetrics, ObserverList, CONFIG],
      useFactory: (
        logger: LoggerService, queues: QueueFactory, notifications: NotificationRepository, devices: DeviceRepository, batches: DeliveryBatchRepository,
        circuits: CircuitRepository, idempotency: IdempotencyRepository, metrics: PipelineMetrics, observers: ObserverList, config: AppConfig,
      ): ConstructorParameters<typeof Maintenance>[0] => ({
        logger, queues, notifications, devices, batches, circuits, idempotency, idempotencyTtlHours: config.idempotencyTtlHours,
        stallSeconds: config.recovery.stallSeconds, metrics,
        onCompleted: (appId, notification) => observers.emit('notificationCompleted', { appId, notification }),
      }),
    },
    Maintenance,
  ],
  exports: [Maintenance],
})
export class MaintenanceModule implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(
    private readonly maintenance: Maintenance,
    @Inject(CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: LoggerService,
  ) {}

  onApplicationBootstrap(): void {
    this.maintenance.start(this.config.recovery.sweepSeconds * 1000);
    if (this.config.redisUrl) void checkRedisDurability(this.config.redisUrl, this.logger);
  }

  async onModuleDestroy(): Promise<void> {
    await this.maintenance.stop();
  }
}
