import { readFileSync } from 'node:fs';
import type { Job } from 'bullmq';
import type { LoggerService } from '@nestjs/common';
import { SecretBox, type AppConfig } from '@app/common';
import { EventRepository, WebhookRepository, type Db } from '@app/db';
import { JobName, type QueueFactory, type WebhookJobData } from '@app/queue';
import { WebhookProcessor } from '../webhooks/webhook.processor';
import { WebhookSender } from '../webhooks/webhook.sender';
import { EventRetention } from './event-retention';
import { DEFAULT_WRITER_OPTIONS, EventWriter } from './event-writer';
import { EventsObserver } from './events.observer';

export interface EventPipeline {
  /** Register with the pipeline's observers. */
  observer: EventsObserver;
  /** Handlers of the webhooks queue, by job name. */
  handlers: Record<string, (job: Job) => Promise<unknown>>;
  /** Flushes buffered events (call before the queues close). */
  close(): Promise<void>;
}

/** The worker's event side: the events writer and observer, webhook delivery, retention. */
export function startEventPipeline(d: { config: AppConfig; logger: LoggerService; db: Db; queues: QueueFactory }): EventPipeline {
  const { config } = d;
  const events = new EventRepository(d.db);
  const webhooks = new WebhookRepository(d.db, new SecretBox(config.masterKey));
  const writer = new EventWriter(
    { events, webhooks, queues: d.queues, logger: d.logger },
    { ...DEFAULT_WRITER_OPTIONS, webhookAttempts: config.webhooks.attempts, webhookBackoffMs: config.webhooks.backoffMs },
  );
  writer.start();
  const sender = new WebhookSender({
    sandboxEnabled: config.sandboxEnabled,
    extraCa: config.extraCaFile ? readFileSync(config.extraCaFile, 'utf8') : null,
    timeoutMs: config.webhooks.timeoutMs,
  });
  const processor = new WebhookProcessor({ logger: d.logger, webhooks, sender, writer, maxFailures: config.webhooks.maxFailures });
  const retention = new EventRetention({ events, logger: d.logger, retentionHours: config.events.retentionHours });
  retention.start();
  return {
    observer: new EventsObserver(writer),
    handlers: { [JobName.WebhookDeliver]: (job) => processor.process(job as Job<WebhookJobData>) },
    async close() {
      retention.stop();
      await writer.close();
      sender.close();
    },
  };
}
