import { Body, Controller, Delete, Get, HttpCode, NotFoundException, Param, ParseUUIDPipe, Post, Query, BadRequestException, Inject } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiKeyAuth } from '../ops/openapi';
import { AppRepository, CredentialRepository } from '@app/db';
import { PROVIDERS_MAP, CredentialRejected, type ProviderMap, generateVapidCredential } from '@app/providers';
import { RequireScopes } from '../auth/api-key.guard';
import { CONFIG, type AppConfig } from '@app/common';
import { CreateAppDto, CreateKeyDto, UpsertCredentialDto } from './apps.dto';

const uuid = new ParseUUIDPipe({ version: '4', exceptionFactory: () => new NotFoundException('not found') });

/** Tenants, their API keys and their provider credentials. */
@ApiTags('apps')
@ApiKeyAuth()
@Controller('v1/apps')
export class AppsController {
  constructor(
    private readonly apps: AppRepository,
    private readonly credentials: CredentialRepository,
    @Inject(PROVIDERS_MAP) private readonly providers: ProviderMap,
    @Inject(CONFIG) private readonly config: AppConfig,
  ) {}

  /** Creates an app and its first admin key (shown once). Bootstrap admin key only. */
  @Post()
  @RequireScopes('bootstrap')
  @ApiOperation({ summary: 'Create an app and its first admin key (shown once)', description: 'Bootstrap admin key (ADMIN_API_KEY) only.' })
  @ApiResponse({ status: 201, description: 'The app, with `keys[0].key` its first admin key' })
  @ApiErrors(400, 401, 403, 413)
  async create(@Body() dto: CreateAppDto) {
    const app = await this.apps.createApp(dto.name);
    const key = await this.apps.createKey(app.id, 'initial admin key', ['admin']);
    return { ...app, keys: [key] };
  }

  @Get()
  @RequireScopes('bootstrap')
  @ApiOperation({ summary: 'List apps', description: 'Bootstrap admin key only. Keyset-paginated by id.' })
  @ApiQuery({ name: 'after', required: false, description: 'The nextCursor of the previous page' })
  @ApiQuery({ name: 'limit', required: false, description: 'Page size (1-500, default 100)' })
  @ApiResponse({ status: 200, description: '`{data: [{id, name, createdAt}], nextCursor}`' })
  @ApiErrors(401, 403)
  async list(@Query('after') after?: string, @Query('limit') limit = '100') {
    const n = Math.min(Math.max(Number(limit) || 100, 1), 500);
    const rows = await this.apps.listApps(n, after && /^[0-9a-f-]{36}$/.test(after) ? after : undefined);
    return { data: rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at })), nextCursor: rows.length === n ? rows[rows.length - 1].id : null };
  }

  @Get(':appId')
  @RequireScopes('admin')
  @ApiOperation({ summary: 'Get an app' })
  @ApiResponse({ status: 200, description: '`{id, name, createdAt}`' })
  @ApiErrors(401, 403, 404)
  async get(@Param('appId', uuid) appId: string) {
    const app = await this.apps.getApp(appId);
    if (!app) throw new NotFoundException('app not found');
    return { id: app.id, name: app.name, createdAt: app.created_at };
  }

  @Delete(':appId')
  @RequireScopes('bootstrap')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete an app and everything it owns', description: 'Bootstrap admin key only.' })
  @ApiResponse({ status: 204, description: 'Deleted' })
  @ApiErrors(401, 403, 404)
  async remove(@Param('appId', uuid) appId: string) {
    if (!(await this.apps.deleteApp(appId))) throw new NotFoundException('app not found');
  }

  @Post(':appId/keys')
  @RequireScopes('admin')
  @ApiOperation({ summary: 'Create an API key (shown once; stored hashed)' })
  @ApiResponse({ status: 201, description: '`{id, name, scopes, key, createdAt}`: `key` is shown only here' })
  @ApiErrors(400, 401, 403, 404)
  async createKey(@Param('appId', uuid) appId: string, @Body() dto: CreateKeyDto) {
    if (!(await this.apps.getApp(appId))) throw new NotFoundException('app not found');
    return this.apps.createKey(appId, dto.name, dto.scopes);
  }

  @Get(':appId/keys')
  @RequireScopes('admin')
  @ApiOperation({ summary: 'List the app\'s API keys (never the secrets)' })
  @ApiResponse({ status: 200, description: '`{data: [{id, name, scopes, createdAt, revokedAt}]}`' })
  @ApiErrors(401, 403, 404)
  async keys(@Param('appId', uuid) appId: string) {
    const rows = await this.apps.listKeys(appId);
    return { data: rows.map((r) => ({ id: r.id, name: r.name, scopes: r.scopes, createdAt: r.created_at, revokedAt: r.revoked_at })) };
  }

  @Delete(':appId/keys/:keyId')
  @RequireScopes('admin')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke an API key', description: 'Cached key lookups expire within 10 s.' })
  @ApiResponse({ status: 204, description: 'Revoked' })
  @ApiErrors(401, 403, 404)
  async revokeKey(@Param('appId', uuid) appId: string, @Param('keyId', uuid) keyId: string) {
    if (!(await this.apps.revokeKey(appId, keyId))) throw new NotFoundException('key not found');
  }

  /** Adds or replaces (same provider and name) a credential. The secret is never returned. */
  @Post(':appId/credentials')
  @RequireScopes('admin')
  @ApiOperation({ summary: 'Add or replace (same provider and name) a provider credential', description: 'The secret is encrypted at rest and never returned.' })
  @ApiResponse({ status: 201, description: 'The credential summary (no secret)' })
  @ApiErrors(400, 401, 403, 404, 413)
  async upsertCredential(@Param('appId', uuid) appId: string, @Body() dto: UpsertCredentialDto) {
    if (!(await this.apps.getApp(appId))) throw new NotFoundException('app not found');
    let normalized;
    try {
      normalized = this.providers[dto.provider].normalizeCredential(dto.config);
    } catch (err) {
      if (err instanceof CredentialRejected) {
        throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: `config: ${err.message}`, details: [{ field: 'config', rule: 'credential', message: err.message }] });
      }
      throw err;
    }
    const environment = dto.environment ?? normalized.environment ?? null;
    return this.credentials.upsert(appId, { provider: dto.provider, name: dto.name, environment, secret: normalized.secret, summary: normalized.summary });
  }

  @Get(':appId/credentials')
  @RequireScopes('admin')
  @ApiOperation({ summary: 'List credentials (summaries and alarms, never secrets)' })
  @ApiResponse({ status: 200, description: '`{data: [credential summary]}`' })
  @ApiErrors(401, 403, 404)
  async listCredentials(@Param('appId', uuid) appId: string) {
    return { data: await this.credentials.list(appId) };
  }

  @Delete(':appId/credentials/:credentialId')
  @RequireScopes('admin')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a credential' })
  @ApiResponse({ status: 204, description: 'Deleted' })
  @ApiErrors(401, 403, 404)
  async deleteCredential(@Param('appId', uuid) appId: string, @Param('credentialId', uuid) id: string) {
    if (!(await this.credentials.delete(appId, id))) throw new NotFoundException('credential not found');
  }

  /**
   * The app's VAPID public key (the browser's applicationServerKey). Readable with the
   * register key. When the app has no Web Push credential yet, a key pair is generated.
   */
  @Get(':appId/webpush/public-key')
  @RequireScopes('register')
  @ApiOperation({ summary: 'The app\'s VAPID public key (applicationServerKey)', description: 'Readable with the register key; a key pair is generated when the app has none.' })
  @ApiResponse({ status: 200, description: '`{publicKey, subject, credentialId}`' })
  @ApiErrors(401, 403, 404)
  async webpushPublicKey(@Param('appId', uuid) appId: string) {
    if (!(await this.apps.getApp(appId))) throw new NotFoundException('app not found');
    let cred = (await this.credentials.list(appId)).find((c) => c.provider === 'webpush');
    if (!cred) {
      const generated = generateVapidCredential(this.config.webpush.defaultSubject);
      cred = await this.credentials.createIfAbsent(appId, { provider: 'webpush', name: 'default', environment: null, ...generated });
    }
    return { publicKey: cred.summary.publicKey, subject: cred.summary.subject, credentialId: cred.id };
  }
}
