import { readFileSync } from 'node:fs';
import { Module, type BeforeApplicationShutdown, type LoggerService, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { CONFIG, LOGGER, type AppConfig } from '@app/common';
import { EventRepository, WebhookRepository } from '@app/db';
import { QueueFactory } from '@app/queue';
import { WebhooksQueueHost } from '../queues/webhooks.processor-host';
import { WebhookProcessor } from '../webhooks/webhook.processor';
import { WebhookSender } from '../webhooks/webhook.sender';
import { EventRetention } from './event-retention';
import { DEFAULT_WRITER_OPTIONS, EventWriter } from './event-writer';
import { EventsObserver } from './events.observer';

/**
 * The worker's event side: the events writer and observer, webhook delivery (the
 * "webhooks" queue) and retention. Buffered events are flushed after the workers have
 * stopped (before application shutdown), while the queues are still open: the flush
 * may enqueue webhook deliveries.
 */
@Module({
  providers: [
    {
      provide: EventWriter,
      inject: [EventRepository, WebhookRepository, QueueFactory, LOGGER, CONFIG],
      useFactory: (events: EventRepository, webhooks: WebhookRepository, queues: QueueFactory, logger: LoggerService, config: AppConfig) =>
        new EventWriter({ events, webhooks, queues, logger }, { ...DEFAULT_WRITER_OPTIONS, webhookAttempts: config.webhooks.attempts, webhookBackoffMs: config.webhooks.backoffMs }),
    },
    { provide: EventsObserver, inject: [EventWriter], useFactory: (writer: EventWriter) => new EventsObserver(writer) },
    {
      provide: WebhookSender,
      inject: [CONFIG],
      useFactory: (config: AppConfig) =>
        new WebhookSender({
          sandboxEnabled: config.sandboxEnabled,
          extraCa: config.extraCaFile ? readFileSync(config.extraCaFile, 'utf8') : null,
          timeoutMs: config.webhooks.timeoutMs,
        }),
    },
    {
      provide: WebhookProcessor,
      inject: [LOGGER, WebhookRepository, WebhookSender, EventWriter, CONFIG],
      useFactory: (logger: LoggerService, webhooks: WebhookRepository, sender: WebhookSender, writer: EventWriter, config: AppConfig) =>
        new WebhookProcessor({ logger, webhooks, sender, writer, maxFailures: config.webhooks.maxFailures }),
    },
    {
      provide: EventRetention,
      inject: [EventRepository, LOGGER, CONFIG],
      useFactory: (events: EventRepository, logger: LoggerService, config: AppConfig) => new EventRetention({ events, logger, retentionHours: config.events.retentionHours }),
    },
    WebhooksQueueHost,
  ],
  exports: [EventsObserver],
})
export class EventsModule implements OnApplicationBootstrap, OnModuleDestroy, BeforeApplicationShutdown {
  constructor(
    private readonly writer: EventWriter,
    private readonly retention: EventRetention,
    private readonly sender: WebhookSender,
  ) {}

  onApplicationBootstrap(): void {
    this.writer.start();
    this.retention.start();
  }

  onModuleDestroy(): void {
    this.retention.stop();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.writer.close();
    this.sender.close();
  }
}
