import { Module, type LoggerService, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { CONFIG, LOGGER, type AppConfig } from '@app/common';
import { IdempotencyRepository, NotificationRepository } from '@app/db';
import { QueueFactory } from '@app/queue';
import { Maintenance } from './maintenance';
import { MAINTENANCE_DEPS } from './worker.tokens';

/** The periodic housekeeping: a timer from start-up until shutdown begins. */
@Module({
  providers: [
    {
      provide: MAINTENANCE_DEPS,
      inject: [LOGGER, QueueFactory, NotificationRepository, IdempotencyRepository, CONFIG],
      useFactory: (
        logger: LoggerService, queues: QueueFactory, notifications: NotificationRepository, idempotency: IdempotencyRepository, config: AppConfig,
      ): ConstructorParameters<typeof Maintenance>[0] => ({ logger, queues, notifications, idempotency, idempotencyTtlHours: config.idempotencyTtlHours }),
    },
    Maintenance,
  ],
  exports: [Maintenance],
})
export class MaintenanceModule implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(private readonly maintenance: Maintenance) {}

  onApplicationBootstrap(): void {
    this.maintenance.start();
  }

  onModuleDestroy(): void {
    this.maintenance.stop();
  }
}
