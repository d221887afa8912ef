import { Module } from '@nestjs/common';
import type { Registry } from 'prom-client';
import { createRegistry, PipelineMetrics, registerQueueDepth } from '@app/observability';
import { ALL_QUEUES, QueueFactory } from '@app/queue';
import { METRICS_REGISTRY } from '../worker.tokens';
import { MetricsObserver } from './metrics.observer';

/** This worker's Prometheus registry: the delivery pipeline's counters (MetricsObserver) and the queue depth. */
@Module({
  providers: [
    {
      provide: METRICS_REGISTRY,
      inject: [QueueFactory],
      useFactory: (queues: QueueFactory): Registry => {
        const registry = createRegistry();
        registerQueueDepth(registry, queues, ALL_QUEUES);
        return registry;
      },
    },
    { provide: PipelineMetrics, inject: [METRICS_REGISTRY], useFactory: (registry: Registry) => new PipelineMetrics(registry) },
    { provide: MetricsObserver, inject: [PipelineMetrics], useFactory: (metrics: PipelineMetrics) => new MetricsObserver(metrics) },
  ],
  exports: [METRICS_REGISTRY, PipelineMetrics, MetricsObserver],
})
export class MetricsModule {}
