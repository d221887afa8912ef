import { Inject, Injectable, type LoggerService } from '@nestjs/common';
import type { IdempotencyRepository, NotificationRepository } from '@app/db';
import { JobName, NOTIFICATION_QUEUES, QueueName, notificationJobOptions, type FanoutJobData, type QueueFactory } from '@app/queue';
import { MAINTENANCE_DEPS } from './worker.tokens';

/**
 * Periodic housekeeping in every worker process (each step is idempotent, so several
 * workers doing it at once is harmless): re-enqueue notifications whose fan-out job was
 * never added (API crash between commit and enqueue) and purge expired Idempotency-Keys.
 */
@Injectable()
export class Maintenance {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(MAINTENANCE_DEPS)
    private readonly d: {
      logger: LoggerService;
      queues: QueueFactory;
      notifications: NotificationRepository;
      idempotency: IdempotencyRepository;
      idempotencyTtlHours: number;
    },
  ) {}

  start(everyMs = 60_000): void {
    this.timer = setInterval(() => void this.runOnce().catch((err: Error) => this.d.logger.warn({ msg: 'maintenance failed', error: err.message })), everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async runOnce(): Promise<{ requeued: number; purgedKeys: number }> {
    const queue = this.d.queues.queue<FanoutJobData>(QueueName.Fanout);
    let requeued = 0;
    for (const n of await this.d.notifications.overdueQueued(500)) {
      if (await this.hasJob(n.id)) continue;
      // the fan-out queue takes any audience
      await queue.add(JobName.FanoutNotification, { notificationId: n.id, appId: n.app_id }, notificationJobOptions(n.id));
      requeued++;
    }
    const purgedKeys = await this.d.idempotency.purge(this.d.idempotencyTtlHours * 2);
    if (requeued) this.d.logger.warn({ msg: 're-enqueued overdue notifications', count: requeued });
    return { requeued, purgedKeys };
  }

  /** A job on either notification queue will start it. */
  private async hasJob(id: string): Promise<boolean> {
    for (const q of NOTIFICATION_QUEUES) if (await this.d.queues.queue(q).getJob(id)) return true;
    return false;
  }
}
