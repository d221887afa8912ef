import { Inject, type LoggerService } from '@nestjs/common';
import { Processor } from '@nestjs/bullmq';
import type { Job } from 'bullmq';
import { CONFIG, LOGGER, type AppConfig } from '@app/common';
import { JobName, QueueName, type FanoutJobData } from '@app/queue';
import { FanoutProcessor } from '../fanout.processor';
import { QueueHost, WORKER_OPTIONS } from './queue-host';

/** The "direct" queue: a few explicit targets, resolved and sent in one job (DirectModule's FanoutProcessor). */
@Processor(QueueName.Direct, WORKER_OPTIONS)
export class DirectQueueHost extends QueueHost {
  constructor(direct: FanoutProcessor, @Inject(CONFIG) config: AppConfig, @Inject(LOGGER) logger: LoggerService) {
    super(logger, config.directConcurrency, { [JobName.FanoutNotification]: (job: Job) => direct.process(job as Job<FanoutJobData>) });
  }
}
