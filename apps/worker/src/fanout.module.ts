import { Module, type LoggerService } from '@nestjs/common';
import { CONFIG, LOGGER, type AppConfig } from '@app/common';
import { CredentialRepository, DeliveryBatchRepository, DeviceRepository, NotificationRepository } from '@app/db';
import { QueueFactory } from '@app/queue';
import { DeliveryModule } from './delivery.module';
import { DeliveryProcessor } from './delivery.processor';
import { FanoutProcessor, type FanoutDeps, type InlineDelivery } from './fanout.processor';
import { PipelineObserverModule } from './pipeline-observer.module';
import { ObserverList } from './pipeline-observer';
import { DirectQueueHost } from './queues/direct.processor-host';
import { FanoutQueueHost } from './queues/fanout.processor-host';
import { FANOUT_DEPS, INLINE_DELIVERY } from './worker.tokens';

const fanoutDeps = {
  provide: FANOUT_DEPS,
  inject: [CONFIG, LOGGER, QueueFactory, DeviceRepository, CredentialRepository, NotificationRepository, DeliveryBatchRepository, ObserverList],
  useFactory: (
    config: AppConfig, logger: LoggerService, queues: QueueFactory, devices: DeviceRepository,
    credentials: CredentialRepository, notifications: NotificationRepository, batches: DeliveryBatchRepository, observers: ObserverList,
  ): FanoutDeps => ({ config, logger, queues, devices, credentials, notifications, batches, observers }),
};

/** The "fanout" queue: FanoutProcessor expanding audiences into delivery batch jobs. */
@Module({
  imports: [PipelineObserverModule],
  providers: [fanoutDeps, FanoutProcessor, FanoutQueueHost],
})
export class FanoutModule {}

/**
 * The "direct" queue: its own FanoutProcessor, which sends each batch inside the job
 * (DeliveryProcessor.deliver) instead of queueing it; the notification is completed by
 * the fan-out step once its page is recorded.
 */
@Module({
  imports: [PipelineObserverModule, DeliveryModule],
  providers: [
    fanoutDeps,
    {
      provide: INLINE_DELIVERY,
      inject: [DeliveryProcessor],
      useFactory: (delivery: DeliveryProcessor): InlineDelivery => (data, o) => delivery.deliver(data, { ...o, complete: false }),
    },
    FanoutProcessor,
    DirectQueueHost,
  ],
})
export class DirectModule {}
