import { Inject, type LoggerService } from '@nestjs/common';
import { Processor } from '@nestjs/bullmq';
import type { Job } from 'bullmq';
import { CONFIG, LOGGER, type AppConfig } from '@app/common';
import { JobName, QueueName, type FanoutJobData } from '@app/queue';
import { FanoutProcessor } from '../fanout.processor';
import { QueueHost, WORKER_OPTIONS } from './queue-host';

/** The "fanout" queue: a notification's audience, expanded into delivery batch jobs. */
@Processor(QueueName.Fanout, WORKER_OPTIONS)
export class FanoutQueueHost extends QueueHost {
  constructor(fanout: FanoutProcessor, @Inject(CONFIG) config: AppConfig, @Inject(LOGGER) logger: LoggerService) {
    super(logger, config.fanoutConcurrency, { [JobName.FanoutNotification]: (job: Job) => fanout.process(job as Job<FanoutJobData>) });
  }
}
