import { BadRequestException, Body, Controller, Delete, Get, HttpCode, Inject, NotFoundException, Param, ParseUUIDPipe, Patch, Post, Query, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { ApiErrors, ApiKeyAuth } from '../ops/openapi';
import type { FastifyReply } from 'fastify';
import { CredentialRepository, DeviceRepository } from '@app/db';
import { PROVIDERS_MAP, TokenRejected, type ProviderMap } from '@app/providers';
import { CurrentApp, RequireScopes } from '../auth/api-key.guard';
import { ListDevicesQuery, PatchDeviceDto, RegisterDeviceDto } from './devices.dto';

const uuid = new ParseUUIDPipe({ version: '4', exceptionFactory: () => new NotFoundException('device not found') });

type DeviceRow = NonNullable<Awaited<ReturnType<DeviceRepository['get']>>>;

export function deviceView(d: DeviceRow) {
  return {
    id: d.id,
    provider: d.provider,
    token: d.token,
    ...(d.token_data ? { keys: d.token_data } : {}),
    environment: d.environment,
    credentialId: d.credential_id,
    userId: d.user_id,
    tags: d.tags,
    locale: d.locale,
    timezone: d.timezone,
    appVersion: d.app_version,
    status: d.status,
    invalidReason: d.invalid_reason,
    invalidatedAt: d.invalidated_at,
    createdAt: d.created_at,
    updatedAt: d.updated_at,
  };
}

function tokenProblem(field: string, err: unknown): never {
  if (err instanceof TokenRejected) {
    throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: `${field}: ${err.message}`, details: [{ field, rule: 'token', message: err.message }] });
  }
  throw err;
}

/** Device registry. The `register` key (embedded in apps) may only manage devices of its own app. */
@ApiTags('devices')
@ApiKeyAuth()
@Controller('v1/devices')
export class DevicesController {
  constructor(
    private readonly devices: DeviceRepository,
    private readonly credentials: CredentialRepository,
    @Inject(PROVIDERS_MAP) private readonly providers: ProviderMap,
  ) {}

  /** Registers or refreshes a device: idempotent per (app, provider, token). 201 when new, 200 when refreshed. */
  @Post()
  @RequireScopes('register')
  @ApiOperation({ summary: 'Register or refresh a device', description: 'Idempotent per (app, provider, token). Register key.' })
  @ApiResponse({ status: 201, description: 'Registered (new device)' })
  @ApiResponse({ status: 200, description: 'Refreshed (the device already existed)' })
  @ApiErrors(400, 401, 403, 413)
  async register(@CurrentApp() appId: string, @Body() dto: RegisterDeviceDto, @Res({ passthrough: true }) reply: FastifyReply) {
    const provider = this.providers[dto.provider];
    let normalized;
    try {
      normalized = provider.normalizeToken(dto.token);
    } catch (err) {
      tokenProblem('token', err);
    }
    let previous: string | null = null;
    if (dto.previousToken !== undefined) {
      try {
        previous = provider.normalizeToken(dto.previousToken).token;
      } catch (err) {
        tokenProblem('previousToken', err);
      }
    }
    if (dto.environment && dto.provider !== 'apns') {
      throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: 'environment: only APNs devices have an environment', details: [{ field: 'environment', rule: 'apnsOnly', message: 'only APNs devices have an environment' }] });
    }
    if (dto.credentialId) {
      const cred = await this.credentials.get(appId, dto.credentialId);
      if (!cred || cred.provider !== dto.provider) {
        throw new BadRequestException({ statusCode: 400, error: 'Bad Request', message: `credentialId: no ${dto.provider} credential with this id in this app`, details: [{ field: 'credentialId', rule: 'exists', message: 'unknown credential' }] });
      }
    }
    const { device, created } = await this.devices.register(
      appId,
      {
        provider: dto.provider, token: normalized.token, tokenData: normalized.tokenData ?? null,
        environment: dto.provider === 'apns' ? (dto.environment ?? 'production') : null,
        credentialId: dto.credentialId ?? null, userId: dto.userId ?? null, tags: dto.tags ?? [], locale: dto.locale ?? null,
        timezone: dto.timezone ?? null, appVersion: dto.appVersion ?? null,
      },
      previous,
    );
    reply.status(created ? 201 : 200);
    return deviceView(device);
  }

  @Get()
  @RequireScopes('send', 'admin')
  @ApiOperation({ summary: 'List devices', description: 'Keyset-paginated by id. Send or admin key.' })
  @ApiResponse({ status: 200, description: '`{data: [device], nextCursor}`' })
  @ApiErrors(400, 401, 403)
  async list(@CurrentApp() appId: string, @Query() q: ListDevicesQuery) {
    const limit = q.limit ?? 100;
    const rows = await this.devices.list(appId, { limit, after: q.cursor, userId: q.userId, tag: q.tag, provider: q.provider, status: q.status });
    return { data: rows.map(deviceView), nextCursor: rows.length === limit ? rows[rows.length - 1].id : null };
  }

  @Get(':id')
  @RequireScopes('register', 'send')
  @ApiOperation({ summary: 'Get a device' })
  @ApiResponse({ status: 200, description: 'The device' })
  @ApiErrors(401, 403, 404)
  async get(@CurrentApp() appId: string, @Param('id', uuid) id: string) {
    const d = await this.devices.get(appId, id);
    if (!d) throw new NotFoundException('device not found');
    return deviceView(d);
  }

  @Patch(':id')
  @RequireScopes('register')
  @ApiOperation({ summary: 'Update a device\'s attributes' })
  @ApiResponse({ status: 200, description: 'The device' })
  @ApiErrors(400, 401, 403, 404)
  async patch(@CurrentApp() appId: string, @Param('id', uuid) id: string, @Body() dto: PatchDeviceDto) {
    const d = await this.devices.patch(appId, id, dto);
    if (!d) throw new NotFoundException('device not found');
    return deviceView(d);
  }

  @Delete(':id')
  @RequireScopes('register')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a device' })
  @ApiResponse({ status: 204, description: 'Deleted' })
  @ApiErrors(401, 403, 404)
  async remove(@CurrentApp() appId: string, @Param('id', uuid) id: string) {
    if (!(await this.devices.delete(appId, id))) throw new NotFoundException('device not found');
  }
}
