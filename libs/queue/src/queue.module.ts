import { Global, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { BullModule, getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { CONFIG, type AppConfig } from '@app/common';
import { BackendQueue, BackendWorker, QueueFactory, queueBackendOptions, queueOptions } from './queue-backend';
import { ALL_QUEUES } from './queue-names';

export interface QueueModuleOptions {
  /** The API's producers refuse at once while Redis is away (see QueueBackendOptions.failFast). */
  failFast: boolean;
  /**
   * true (the API): every queue is a provider, for `@InjectQueue`, built at start (the
   * queue dashboard lists them all anyway). false (the worker): its producers are built
   * by QueueFactory on first use, as they were before: on PostgreSQL each one is a pool
   * that runs bullmq's migration check when it connects, and building all seven at start
   * made the worker's start-up slower (ARCHITECTURE.md, "Processes"). Its @Processor
   * workers take forRootAsync's shared options instead of a registered queue's.
   */
  registerQueues: boolean;
}

/**
 * BullMQ for the API and the worker through @nestjs/bullmq: BullModule.forRootAsync with
 * the backend's connection, registerQueue for every queue (`@InjectQueue(name)`; see
 * registerQueues), and QueueFactory over those same instances for the code that takes
 * queues by name. @Processor hosts in the importing app get their workers from BullModule.
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
    const names = opts.registerQueues ? ALL_QUEUES : [];
    // with no queue too: registerQueue() is what imports BullModule's explorer, which builds the @Processor workers
    const registered = BullModule.registerQueue(...names.map((name) => ({ name })));
    return {
      module: QueueModule,
      imports: [
        BullModule.forRootAsync({ inject: [CONFIG], useFactory: (config: AppConfig) => queueOptions(queueBackendOptions(config, opts)) }),
        registered,
      ],
      providers: [
        {
          provide: QueueFactory,
          inject: [CONFIG, ...names.map((name) => getQueueToken(name))],
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
