import { BadRequestException, Body, Controller, Delete, Get, Headers, NotFoundException, Param, ParseUUIDPipe, Post, Query, Res } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiKeyAuth } from '../ops/openapi';
import type { FastifyReply } from 'fastify';
import { NotificationRepository } from '@app/db';
import { CurrentApp, RequireScopes } from '../auth/api-key.guard';
import { BatchSendDto, DeliveriesQuery, SendNotificationDto } from './notifications.dto';
import { NotificationsService } from './notifications.service';

const uuid = new ParseUUIDPipe({ version: '4', exceptionFactory: () => new NotFoundException('notification not found') });

function idempotencyKey(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,255}$/.test(raw)) {
    throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: 'Idempotency-Key: 1 to 255 visible ASCII characters', details: [{ field: 'Idempotency-Key', rule: 'format', message: '1 to 255 visible ASCII characters' }] });
  }
  return raw;
}

/** The unified send endpoint. Answers 202 with the id; delivery happens in the workers. */
@ApiTags('notifications')
@ApiKeyAuth()
@Controller('v1/notifications')
export class NotificationsController {
  constructor(
    private readonly service: NotificationsService,
    private readonly notifications: NotificationRepository,
  ) {}

  @Post()
  @RequireScopes('send')
  @ApiOperation({ summary: 'Send a notification', description: 'Answers 202 with the id; delivery happens in the workers. Send key.' })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Replays the first answer for 24 h (1 to 255 visible ASCII characters)' })
  @ApiResponse({ status: 202, description: '`{id, status: "queued", sendAt, acceptedAt}`' })
  @ApiErrors(400, 401, 403, 409, 413, 422)
  async send(@CurrentApp() appId: string, @Body() dto: SendNotificationDto, @Headers('idempotency-key') key: string | undefined, @Res({ passthrough: true }) reply: FastifyReply) {
    const r = await this.service.send(appId, dto, idempotencyKey(key));
    reply.status(r.status);
    return r.body;
  }

  @Post('batch')
  @RequireScopes('send')
  @ApiOperation({ summary: 'Send up to 500 notifications', description: 'Each item is validated on its own; the answer has one result per item (202 or 400).' })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'Replays the first answer for 24 h' })
  @ApiResponse({ status: 200, description: '`{results: [{index, statusCode, id?, ...error?}]}`' })
  @ApiErrors(400, 401, 403, 409, 413, 422)
  async batch(@CurrentApp() appId: string, @Body() dto: BatchSendDto, @Headers('idempotency-key') key: string | undefined, @Res({ passthrough: true }) reply: FastifyReply) {
    const r = await this.service.sendBatch(appId, dto.notifications, idempotencyKey(key));
    reply.status(r.status);
    return r.body;
  }

  @Get(':id')
  @RequireScopes('send')
  @ApiOperation({ summary: 'Get a notification: status and counts' })
  @ApiResponse({ status: 200, description: '`{id, status, counts: {targeted, delivered, failed, invalidTokens, expired, pendingRetry}, ...}`' })
  @ApiErrors(401, 403, 404)
  async get(@CurrentApp() appId: string, @Param('id', uuid) id: string) {
    return this.service.get(appId, id);
  }

  @Delete(':id')
  @RequireScopes('send')
  @ApiOperation({ summary: 'Cancel a scheduled or still queued notification' })
  @ApiResponse({ status: 200, description: 'The cancelled notification' })
  @ApiErrors(401, 403, 404, 409)
  async cancel(@CurrentApp() appId: string, @Param('id', uuid) id: string) {
    return this.service.cancel(appId, id);
  }

  /** Per-device outcomes, keyset-paginated by device id (fast at a million rows). */
  @Get(':id/deliveries')
  @RequireScopes('send')
  @ApiOperation({ summary: 'Per-device outcomes', description: 'Keyset-paginated by device id.' })
  @ApiResponse({ status: 200, description: '`{data: [{deviceId, provider, outcome, reason, providerMessageId, attempts, createdAt, updatedAt}], nextCursor}`' })
  @ApiErrors(400, 401, 403, 404)
  async deliveries(@CurrentApp() appId: string, @Param('id', uuid) id: string, @Query() q: DeliveriesQuery) {
    await this.service.get(appId, id);
    const limit = q.limit ?? 100;
    const rows = await this.notifications.deliveries(appId, id, { limit, after: q.cursor, status: q.outcome });
    return {
      data: rows.map((r) => ({
        deviceId: r.device_id, provider: r.provider, outcome: r.status, reason: r.reason, providerMessageId: r.provider_message_id,
        attempts: r.attempts, createdAt: r.created_at, updatedAt: r.updated_at,
      })),
      nextCursor: rows.length === limit ? rows[rows.length - 1].device_id : null,
    };
  }
}
