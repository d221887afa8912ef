import { Module, type DynamicModule, type LoggerService } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { ConfigModule, type AppConfig } from '@app/common';
import { DatabaseModule } from '@app/db';
import { ProvidersModule } from '@app/providers';
import { QueueModule } from '@app/queue';
import { DeliveryModule } from './delivery.module';
import { EventsModule } from './events/events.module';
import { DirectModule, FanoutModule } from './fanout.module';
import { MaintenanceModule } from './maintenance.module';
import { OpsModule } from './ops/ops.module';
import type { OpsServerOptions } from './ops/ops-server';
import { QueueConsumers } from './queues/queue-consumers';

/**
 * One worker process: the shared modules (configuration, PostgreSQL and the
 * repositories, the queues, the provider registry) and one module per concern, each
 * holding the @Processor of its queues. QueueConsumers checks the routing and starts the
 * workers. Shutdown runs in Nest's three phases: on module destroy the ops port, the
 * timers and the workers stop (active jobs finish); before application shutdown the
 * events those last jobs produced are flushed; on application shutdown the queues, the
 * providers and the database pool close.
 */
@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig, opts: { logger: LoggerService; ops: OpsServerOptions | false }): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        ConfigModule.forRoot(config, opts.logger),
        // delivery and direct jobs share the pool; a short wait for a connection is cheaper than more of them
        DatabaseModule.forRoot({ poolMax: (c) => c.deliveryConcurrency + 8 }),
        // producers on first use, as before (see QueueModuleOptions.registerQueues)
        QueueModule.forRoot({ failFast: false, registerQueues: false }),
        ProvidersModule.forRoot({ sharedRateLimits: true }),
        DiscoveryModule,
        OpsModule.forRoot(opts.ops),
        EventsModule,
        DeliveryModule,
        FanoutModule,
        DirectModule,
        MaintenanceModule,
      ],
      providers: [QueueConsumers],
    };
  }
}
