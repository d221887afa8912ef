import { BadRequestException, Controller, Get, Headers, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { EventRepository, isEventType } from '@app/db';
import { CurrentApp, RequireScopes } from '../auth/api-key.guard';
import { EventStreamHub } from './event-stream.hub';

const bad = (field: string, message: string) =>
  new BadRequestException({ statusCode: 400, error: 'Bad Request', message: `${field}: ${message}`, details: [{ field, rule: field, message }] });

/** Live events of the caller's app as Server-Sent Events (docs/webhooks-events.md). */
@Controller('v1/events')
export class EventsController {
  constructor(
    private readonly hub: EventStreamHub,
    private readonly events: EventRepository,
  ) {}

  /**
   * `Last-Event-ID` (header, or `?lastEventId=` for clients that cannot set headers)
   * resumes after that event, within the retention window; without it the stream starts
   * with the next event. `?types=a,b` keeps only those types.
   */
  @Get()
  @RequireScopes('send', 'admin')
  async stream(
    @CurrentApp() appId: string,
    @Res() reply: FastifyReply,
    @Headers('last-event-id') lastEventHeader?: string,
    @Query('lastEventId') lastEventQuery?: string,
    @Query('types') typesParam?: string | string[],
  ): Promise<void> {
    let types: string[] | null = null;
    if (typesParam !== undefined) {
      // ?types=a,b and ?types=a&types=b
      types = [...new Set([typesParam].flat().join(',').split(',').map((t) => t.trim()).filter(Boolean))];
      const unknown = types.filter((t) => !isEventType(t));
      if (types.length === 0 || unknown.length) throw bad('types', `unknown event type ${unknown.join(', ') || '(empty)'}`);
    }
    const rawLast: unknown = lastEventHeader ?? lastEventQuery;
    const last = typeof rawLast === 'string' ? rawLast.trim() : undefined;
    if (rawLast !== undefined && (last === undefined || (last !== '' && !/^\d{1,18}$/.test(last)))) throw bad('lastEventId', 'must be the id of an event');
    const cursor = last ? last : await this.events.latestId(appId);

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx: do not buffer the stream
      'x-accel-buffering': 'no',
    });
    // reconnection delay for EventSource clients, then the catch-up and live events
    res.write('retry: 2000\n\n');
    await this.hub.open(appId, cursor, types, res);
  }
}
