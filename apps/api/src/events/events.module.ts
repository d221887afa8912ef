import { Module } from '@nestjs/common';
import { WebhooksController } from '../webhooks/webhooks.controller';
import { EventStreamHub } from './event-stream.hub';
import { EventsController } from './events.controller';

/** Webhook endpoints (admin) and the live event stream. The repositories come from DatabaseModule. */
@Module({
  controllers: [WebhooksController, EventsController],
  providers: [EventStreamHub],
})
export class EventsModule {}
