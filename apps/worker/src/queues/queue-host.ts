import type { LoggerService } from '@nestjs/common';
import { OnWorkerEvent, WorkerHost } from '@nestjs/bullmq';
import { UnrecoverableError, type Job } from 'bullmq';

export type JobHandler = (job: Job) => Promise<unknown>;

/**
 * Worker options every queue shares (@Processor's second argument). A job's lock lasts a
 * minute (a fan-out page or a slow provider batch fits in it, and it is renewed while
 * the job runs); a job that stalls a third time fails. autorun is off: QueueConsumers
 * starts each worker, with its concurrency from the configuration, once every queue's
 * routing has been checked.
 */
export const WORKER_OPTIONS = { autorun: false } as const;

/**
 * The @Processor of one queue. BullMQ calls process() for each job; it dispatches on
 * job.name to the queue's handlers (one processor per queue, BullMQ maintainers' advice).
 * Subclasses name the queue in @Processor and pass their concurrency and handlers.
 */
export abstract class QueueHost extends WorkerHost {
  constructor(
    protected readonly logger: LoggerService,
    /** Jobs of this queue one worker process runs at once. */
    readonly concurrency: number,
    /** Job name → handler; exactly the job names the queue carries (checked at start-up). */
    readonly handlers: Readonly<Record<string, JobHandler>>,
  ) {
    super();
  }

  async process(job: Job): Promise<unknown> {
    const handler = this.handlers[job.name];
    if (!handler) throw new UnrecoverableError(`no handler for job ${job.name} on queue ${this.worker.name}`);
    return handler(job);
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job | undefined, err: Error): void {
    this.logger.error({ msg: 'job failed', queue: this.worker.name, jobId: job?.id, attemptsMade: job?.attemptsMade, error: err.message });
  }

  @OnWorkerEvent('error')
  onError(err: Error): void {
    this.logger.error({ msg: 'worker error', queue: this.worker.name, error: err.message });
  }
}
