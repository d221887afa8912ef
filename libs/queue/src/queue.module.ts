import { Global, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { BullModule, getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { CONFIG, type AppConfig } from '@app/common';
import { BackendQueue, BackendWorker, QueueFactory, queueBackendOptions, queueOptions } from './queue-backend';
import { ALL_QUEUES } from './queue-names';

export interface QueueModuleOptions {
  /** The API's producers refuse at once while Redis is away (see QueueBackendOptions.failFast). */
  failFast: boolean;
}

/**
 * BullMQ for the API and the worker through @nestjs/bullmq: BullModule.forRootAsync with
 * the backend's connection, registerQueue for every queue (so `@InjectQueue(name)` works
 * anywhere), and QueueFactory over those same instances for the code that takes queues by
 * name. @Processor hosts in the importing app get their workers from BullModule too.
 *
 * @nestjs/bullmq takes the Queue and Worker classes it builds from two process-wide
 * statics. They are set to BackendQueue and BackendWorker, which read the backend from
 * the connection options of each queue (ARCHITECTURE.md, "Queue backend"), so stacks on
 * Redis and on PostgreSQL can share a process; QueueFactory checks every queue it adopts.
 */
@Global()
@Module({})
export class QueueModule implements OnApplicationShutdown {
  constructor(private readonly queues: QueueFactory) {}

  static forRoot(opts: QueueModuleOptions): DynamicModule {
    // registerQueue() captures queueClass when it is called; the explorer reads workerClass at init
    BullModule.queueClass = BackendQueue;
    BullModule.workerClass = BackendWorker;
    const registered = BullModule.registerQueue(...ALL_QUEUES.map((name) => ({ name })));
    return {
      module: QueueModule,
      imports: [
        BullModule.forRootAsync({ inject: [CONFIG], useFactory: (config: AppConfig) => queueOptions(queueBackendOptions(config, opts)) }),
        registered,
      ],
      providers: [
        {
          provide: QueueFactory,
          inject: [CONFIG, ...ALL_QUEUES.map((name) => getQueueToken(name))],
          useFactory: (config: AppConfig, ...queues: Queue[]) => new QueueFactory(queueBackendOptions(config, opts), queues),
        },
      ],
      exports: [registered, QueueFactory],
    };
  }

  /** Workers are closed before this (their hosts, on module destroy); producers last. */
  async onApplicationShutdown(): Promise<void> {
    await this.queues.close();
  }
}
