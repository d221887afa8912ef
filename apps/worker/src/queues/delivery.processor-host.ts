import { Inject, type LoggerService } from '@nestjs/common';
import { Processor } from '@nestjs/bullmq';
import type { Job } from 'bullmq';
import { CONFIG, LOGGER, type AppConfig } from '@app/common';
import { JobName, QueueName, type DeliverBatchJobData } from '@app/queue';
import { DeliveryProcessor } from '../delivery.processor';
import { QueueHost, WORKER_OPTIONS } from './queue-host';

/** A "deliver-<provider>" queue: one batch of one provider and credential per job. */
abstract class DeliveryQueueHost extends QueueHost {
  constructor(delivery: DeliveryProcessor, @Inject(CONFIG) config: AppConfig, @Inject(LOGGER) logger: LoggerService) {
    super(logger, config.deliveryConcurrency, { [JobName.DeliverBatch]: (job: Job) => delivery.process(job as Job<DeliverBatchJobData>) });
  }
}

@Processor(QueueName.DeliverApns, WORKER_OPTIONS)
export class DeliverApnsQueueHost extends DeliveryQueueHost {}

@Processor(QueueName.DeliverFcm, WORKER_OPTIONS)
export class DeliverFcmQueueHost extends DeliveryQueueHost {}

@Processor(QueueName.DeliverWns, WORKER_OPTIONS)
export class DeliverWnsQueueHost extends DeliveryQueueHost {}

@Processor(QueueName.DeliverWebpush, WORKER_OPTIONS)
export class DeliverWebpushQueueHost extends DeliveryQueueHost {}

/** One per provider; a provider without one fails the start-up routing check. */
export const DELIVERY_QUEUE_HOSTS = [DeliverApnsQueueHost, DeliverFcmQueueHost, DeliverWnsQueueHost, DeliverWebpushQueueHost];
