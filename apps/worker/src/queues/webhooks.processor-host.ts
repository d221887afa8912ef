import { Inject, type LoggerService } from '@nestjs/common';
import { Processor } from '@nestjs/bullmq';
import type { Job } from 'bullmq';
import { CONFIG, LOGGER, type AppConfig } from '@app/common';
import { JobName, QueueName, type WebhookJobData } from '@app/queue';
import { WebhookProcessor } from '../webhooks/webhook.processor';
import { QueueHost, WORKER_OPTIONS } from './queue-host';

/** The "webhooks" queue: one event to one endpoint per job. */
@Processor(QueueName.Webhooks, WORKER_OPTIONS)
export class WebhooksQueueHost extends QueueHost {
  constructor(webhooks: WebhookProcessor, @Inject(CONFIG) config: AppConfig, @Inject(LOGGER) logger: LoggerService) {
    super(logger, config.webhooks.concurrency, { [JobName.WebhookDeliver]: (job: Job) => webhooks.process(job as Job<WebhookJobData>) });
  }
}
