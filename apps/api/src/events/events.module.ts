import { Module } from '@nestjs/common';
import { SecretBox, type AppConfig } from '@app/common';
import { EventRepository, WebhookRepository, type Db } from '@app/db';
import { CONFIG, DB } from '../core/tokens';
import { WebhooksController } from '../webhooks/webhooks.controller';
import { EventStreamHub } from './event-stream.hub';
import { EventsController } from './events.controller';

/** Webhook endpoints (admin) and the live event stream. Uses CoreModule's DB and CONFIG. */
@Module({
  controllers: [WebhooksController, EventsController],
  providers: [
    { provide: EventRepository, inject: [DB], useFactory: (db: Db) => new EventRepository(db) },
    { provide: WebhookRepository, inject: [DB, CONFIG], useFactory: (db: Db, config: AppConfig) => new WebhookRepository(db, new SecretBox(config.masterKey)) },
    EventStreamHub,
  ],
})
export class EventsModule {}
