import { Module, type LoggerService } from '@nestjs/common';
import { LOGGER } from '@app/common';
import { EventsModule } from './events/events.module';
import { EventsObserver } from './events/events.observer';
import { MetricsModule } from './ops/metrics.module';
import { MetricsObserver } from './ops/metrics.observer';
import { ObserverList } from './pipeline-observer';

/** What the delivery pipeline tells after its writes: Prometheus counters, then app events. */
@Module({
  imports: [MetricsModule, EventsModule],
  providers: [
    {
      provide: ObserverList,
      inject: [MetricsObserver, EventsObserver, LOGGER],
      useFactory: (metrics: MetricsObserver, events: EventsObserver, logger: LoggerService) =>
        new ObserverList([metrics, events], (err) => logger.error({ msg: 'observer failed', error: err.message })),
    },
  ],
  exports: [ObserverList],
})
export class PipelineObserverModule {}
