import { BadRequestException, Body, Controller, Delete, Get, HttpCode, Inject, NotFoundException, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { CONFIG, UrlRejected, type AppConfig } from '@app/common';
import { AppRepository, WebhookRepository } from '@app/db';
import { RequireScopes } from '../auth/api-key.guard';
import { checkWebhookUrl } from './webhook-url';
import { CreateWebhookDto } from './webhooks.dto';

const uuid = new ParseUUIDPipe({ version: '4', exceptionFactory: () => new NotFoundException('not found') });

const rejected = (field: string, rule: string, message: string) =>
  new BadRequestException({ statusCode: 400, error: 'Bad Request', message: `${field}: ${message}`, details: [{ field, rule, message }] });

/**
 * Webhook endpoints of an app (docs/webhooks-events.md). The signing secret is
 * returned once, by create; the worker signs every delivery with it.
 */
@Controller('v1/apps/:appId/webhooks')
export class WebhooksController {
  constructor(
    private readonly apps: AppRepository,
    private readonly webhooks: WebhookRepository,
    @Inject(CONFIG) private readonly config: AppConfig,
  ) {}

  @Post()
  @RequireScopes('admin')
  async create(@Param('appId', uuid) appId: string, @Body() dto: CreateWebhookDto) {
    if (!(await this.apps.getApp(appId))) throw new NotFoundException('app not found');
    let url: URL;
    try {
      url = checkWebhookUrl(dto.url, { allowlist: this.config.urlAllowlist.webhook, sandboxEnabled: this.config.sandboxEnabled });
    } catch (err) {
      if (err instanceof UrlRejected) throw rejected('url', 'url', err.message);
      throw err;
    }
    if ((await this.webhooks.count(appId)) >= this.config.webhooks.maxPerApp) {
      throw rejected('url', 'limit', `an app has at most ${this.config.webhooks.maxPerApp} webhooks`);
    }
    const { webhook, secret } = await this.webhooks.create(appId, { url: url.toString(), events: dto.events, description: dto.description ?? null });
    return { ...webhook, secret };
  }

  @Get()
  @RequireScopes('admin')
  async list(@Param('appId', uuid) appId: string) {
    return { data: await this.webhooks.list(appId) };
  }

  @Get(':id')
  @RequireScopes('admin')
  async get(@Param('appId', uuid) appId: string, @Param('id', uuid) id: string) {
    const w = await this.webhooks.get(appId, id);
    if (!w) throw new NotFoundException('webhook not found');
    return w;
  }

  @Delete(':id')
  @RequireScopes('admin')
  @HttpCode(204)
  async remove(@Param('appId', uuid) appId: string, @Param('id', uuid) id: string) {
    if (!(await this.webhooks.delete(appId, id))) throw new NotFoundException('webhook not found');
  }

  /** Re-enables an endpoint that was disabled after repeated failures; its failure count restarts at 0. */
  @Post(':id/enable')
  @RequireScopes('admin')
  @HttpCode(200)
  async enable(@Param('appId', uuid) appId: string, @Param('id', uuid) id: string) {
    const w = await this.webhooks.enable(appId, id);
    if (!w) throw new NotFoundException('webhook not found');
    return w;
  }
}
