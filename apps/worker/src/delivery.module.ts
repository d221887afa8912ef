import { Module, type LoggerService } from '@nestjs/common';
import { CONFIG, LOGGER, type AppConfig } from '@app/common';
import { CircuitRepository, CredentialRepository, DeliveryBatchRepository, DeviceRepository, NotificationRepository } from '@app/db';
import { PROVIDERS_MAP, type ProviderMap } from '@app/providers';
import { QueueFactory } from '@app/queue';
import { DeliveryProcessor, type DeliveryDeps } from './delivery.processor';
import { CircuitBreaker } from './circuit-breaker';
import { PipelineObserverModule } from './pipeline-observer.module';
import { ObserverList } from './pipeline-observer';
import { DELIVERY_QUEUE_HOSTS } from './queues/delivery.processor-host';
import { DELIVERY_DEPS } from './worker.tokens';

/** Delivery: DeliveryProcessor and the processors of the deliver-<provider> queues. */
@Module({
  imports: [PipelineObserverModule],
  providers: [
    {
      provide: DELIVERY_DEPS,
      inject: [CONFIG, LOGGER, QueueFactory, PROVIDERS_MAP, DeviceRepository, CredentialRepository, NotificationRepository, DeliveryBatchRepository, CircuitBreaker, ObserverList],
      useFactory: (
        config: AppConfig, logger: LoggerService, queues: QueueFactory, providers: ProviderMap, devices: DeviceRepository,
        credentials: CredentialRepository, notifications: NotificationRepository, batches: DeliveryBatchRepository, breaker: CircuitBreaker, observers: ObserverList,
      ): DeliveryDeps => ({ config, logger, queues, providers, devices, credentials, notifications, batches, breaker, observers }),
    },
    {
      provide: CircuitBreaker,
      inject: [CircuitRepository, CONFIG, ObserverList, LOGGER],
      useFactory: (repo: CircuitRepository, config: AppConfig, observers: ObserverList, logger: LoggerService) => new CircuitBreaker(repo, config.circuit, observers, logger),
    },
    DeliveryProcessor,
    ...DELIVERY_QUEUE_HOSTS,
  ],
  exports: [DeliveryProcessor],
})
export class DeliveryModule {}
