import { Module, type LoggerService } from '@nestjs/common';
import { CONFIG, LOGGER, type AppConfig } from '@app/common';
import { CredentialRepository, DeviceRepository, NotificationRepository } from '@app/db';
import { PROVIDERS_MAP, type ProviderMap } from '@app/providers';
import { QueueFactory } from '@app/queue';
import { DeliveryProcessor, type DeliveryDeps } from './delivery.processor';
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
      inject: [CONFIG, LOGGER, QueueFactory, PROVIDERS_MAP, DeviceRepository, CredentialRepository, NotificationRepository, ObserverList],
      useFactory: (
        config: AppConfig, logger: LoggerService, queues: QueueFactory, providers: ProviderMap,
        devices: DeviceRepository, credentials: CredentialRepository, notifications: NotificationRepository, observers: ObserverList,
      ): DeliveryDeps => ({ config, logger, queues, providers, devices, credentials, notifications, observers }),
    },
    DeliveryProcessor,
    ...DELIVERY_QUEUE_HOSTS,
  ],
  exports: [DeliveryProcessor],
})
export class DeliveryModule {}
