import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { DatabaseHealthIndicator, QueueHealthIndicator } from './ops/health.indicators';

/** Probes for orchestrators and load balancers. No authentication. */
@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: DatabaseHealthIndicator,
    private readonly queue: QueueHealthIndicator,
  ) {}

  /** The process answers HTTP (restart it when this fails). Checks nothing else on purpose. */
  @Get('live')
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: the process answers' })
  live() {
    return this.health.check([]);
  }

  /** Ready only when PostgreSQL and the queue backend answer (take it out of rotation otherwise). */
  @Get('ready')
  @HealthCheck()
  @ApiOperation({ summary: 'Readiness: PostgreSQL and the queue backend answer' })
  @ApiResponse({ status: 503, description: 'PostgreSQL or the queue backend does not answer within 2 s' })
  ready() {
    return this.health.check([() => this.database.isHealthy(), () => this.queue.isHealthy()]);
  }
}
