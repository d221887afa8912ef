import { createHash, timingSafeEqual } from 'node:crypto';
import { Controller, Get, Headers, Inject, Res, UnauthorizedException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Registry } from 'prom-client';
import { API_METRICS, OPS_CONFIG } from './ops.tokens';
import type { OpsConfig } from '@app/observability';

const sha = (s: string) => createHash('sha256').update(s).digest();

/**
 * Prometheus text. Open unless METRICS_TOKEN is set, then `Authorization: Bearer <token>`
 * (a separate secret from the API keys: a scraper should not hold a key that can send).
 */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  private readonly tokenHash: Buffer | null;

  constructor(
    @Inject(API_METRICS) private readonly registry: Registry,
    @Inject(OPS_CONFIG) ops: OpsConfig,
  ) {
    this.tokenHash = ops.metricsToken ? sha(ops.metricsToken) : null;
  }

  @Get()
  async metrics(@Headers('authorization') auth: string | undefined, @Res() reply: FastifyReply): Promise<void> {
    if (this.tokenHash) {
      const m = auth && /^Bearer\s+(\S+)$/i.exec(auth);
      if (!m || !timingSafeEqual(sha(m[1]), this.tokenHash)) throw new UnauthorizedException('missing or wrong Authorization: Bearer <METRICS_TOKEN>');
    }
    const text = await this.registry.metrics();
    void reply.header('content-type', this.registry.contentType).header('cache-control', 'no-store').send(text);
  }
}
