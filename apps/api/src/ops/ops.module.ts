import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { createRegistry, HttpMetrics, registerQueueDepth, type OpsConfig } from '@app/observability';
import { ALL_QUEUES, QueueFactory } from '@app/queue';
import { HealthController } from '../health.controller';
import { DatabaseHealthIndicator, QueueHealthIndicator } from './health.indicators';
import { MetricsController } from './metrics.controller';
import { API_METRICS, OPS_CONFIG } from './ops.tokens';
import { QueueDashboard } from './queue-dashboard';

/** One API instance's metrics: its own registry (never prom-client's global one). */
export interface ApiMetrics {
  registry: Registry;
  http: HttpMetrics;
}

export function createApiMetrics(): ApiMetrics {
  const registry = createRegistry();
  return { registry, http: new HttpMetrics(registry) };
}

/**
 * Counts every answered request by method, route template (`/v1/notifications/:id`,
 * never the raw URL) and status class. Installed on the Fastify instance before Nest
 * registers its routes, so it sees all of them, the dashboard's and the 404s too.
 */
export function installHttpMetrics(fastify: FastifyInstance, http: HttpMetrics): void {
  fastify.addHook('onResponse', async (req, reply) => {
    http.observe(req.method, req.routeOptions?.url, reply.statusCode, reply.elapsedTime / 1000);
  });
}

/** Health (terminus), /metrics and the queue dashboard. */
@Module({})
export class OpsModule {
  static forRoot(deps: { metrics: ApiMetrics; ops: OpsConfig }): DynamicModule {
    return {
      module: OpsModule,
      imports: [TerminusModule.forRoot({ errorLogStyle: 'json' })],
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: API_METRICS, useValue: deps.metrics.registry },
        { provide: OPS_CONFIG, useValue: deps.ops },
        {
          provide: 'QUEUE_DEPTH_GAUGE',
          useFactory: (queues: QueueFactory) => registerQueueDepth(deps.metrics.registry, queues, ALL_QUEUES),
          inject: [QueueFactory],
        },
        DatabaseHealthIndicator,
        QueueHealthIndicator,
        QueueDashboard,
      ],
    };
  }
}
