import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { CONFIG, type AppConfig } from '@app/common';
import { DiscoveryService } from '@nestjs/core';
import { ALL_QUEUES, BackendWorker, QUEUE_JOBS, QueueFactory, infraBackoffMs, type QueueName } from '@app/queue';
import { QueueHost } from './queue-host';

/**
 * Refuses to start unless every queue has exactly one processor and that processor
 * handles exactly the job names the queue carries (QUEUE_JOBS), on the configured
 * backend. `hosts` are the worker's QueueHost providers, each with the worker
 * @nestjs/bullmq built for its @Processor queue.
 */
export function checkRouting(hosts: readonly QueueHost[], backend: QueueFactory['kind']): void {
  const byQueue = new Map<string, QueueHost[]>();
  for (const h of hosts) byQueue.set(h.worker.name, [...(byQueue.get(h.worker.name) ?? []), h]);
  for (const name of byQueue.keys()) {
    if (!(ALL_QUEUES as string[]).includes(name)) throw new Error(`processor ${byQueue.get(name)![0].constructor.name} is for unknown queue ${name}`);
  }
  for (const q of ALL_QUEUES) {
    const on = byQueue.get(q) ?? [];
    if (on.length === 0) throw new Error(`queue ${q} has no handler`);
    if (on.length > 1) throw new Error(`queue ${q} has ${on.length} processors: ${on.map((h) => h.constructor.name).join(', ')}`);
    const [host] = on;
    const handled = Object.keys(host.handlers).sort();
    const carried = [...QUEUE_JOBS[q as QueueName]].sort();
    if (handled.join() !== carried.join()) {
      throw new Error(`queue ${q}: ${host.constructor.name} handles [${handled.join(', ')}] but the queue carries [${carried.join(', ')}]`);
    }
    if (!(host.worker instanceof BackendWorker) || host.worker.backendKind !== backend) {
      throw new Error(`queue ${q}: its worker is not a ${backend} BackendWorker (was BullModule.workerClass replaced?)`);
    }
  }
}

/**
 * The worker's consumers as a whole: checks the routing, then starts every worker with
 * its concurrency and waits until each is connected; on shutdown it closes them all at
 * once (active jobs finish, waiting ones stay queued) before anything their jobs use is
 * closed: that happens in the later shutdown phases.
 */
@Injectable()
export class QueueConsumers implements OnApplicationBootstrap, OnModuleDestroy {
  private hosts: QueueHost[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly queues: QueueFactory,
    @Inject(CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const hosts = this.discovery.getProviders().map((w) => w.instance as unknown).filter((i): i is QueueHost => i instanceof QueueHost);
    checkRouting(hosts, this.queues.kind);
    this.hosts = hosts;
    for (const h of hosts) {
      h.worker.concurrency = h.concurrency;
      // The durability settings come from the configuration, which @Processor's static
      // options cannot read; BullMQ reads them from opts when run() starts the worker.
      // A killed worker's jobs move within lockMs + stalledIntervalMs (docs/reliability.md);
      // jobs that fail for an infrastructure reason back off with infraBackoffMs.
      Object.assign(h.worker.opts, {
        lockDuration: this.config.recovery.lockMs,
        stalledInterval: this.config.recovery.stalledIntervalMs,
        maxStalledCount: 5,
        settings: { ...h.worker.opts.settings, backoffStrategy: (attemptsMade: number) => infraBackoffMs(attemptsMade) },
      });
      h.worker.run().catch((err: Error) => h.worker.emit('error', err));
    }
    await Promise.all(hosts.map((h) => h.worker.waitUntilReady()));
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.hosts.map((h) => h.worker.close()));
  }
}
