import { Inject, Injectable, type LoggerService } from '@nestjs/common';
import { batchJobId, type CircuitRepository, type DeliveryBatchRepository, type DeviceRepository, type IdempotencyRepository, type NotificationRepository, type NotificationView } from '@app/db';
import type { PipelineMetrics } from '@app/observability';
import { PROVIDERS } from '@app/providers';
import { DELIVERY_QUEUES, JobName, NOTIFICATION_QUEUES, QueueName, infraRetryOptions, notificationJobOptions, type DeliverBatchJobData, type FanoutJobData, type QueueFactory } from '@app/queue';
import { rebuildBatches } from './fanout.processor';
import { MAINTENANCE_DEPS } from './worker.tokens';

/** Job states in which the queue will still run a job; anything else (failed, completed, gone) is lost work. */
const LIVE = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'paused']);

export interface SweepResult {
  /** Notification jobs re-added (lost, failed, or never added after the API's commit). */
  requeued: number;
  /** Delivery batches re-driven from the ledger. */
  redrivenBatches: number;
  /** Notifications completed by the sweep (their last batch finished but completion was not written). */
  completed: number;
  /** Unfinished notifications with no progress for the stall bound, before this sweep acted. */
  stalled: number;
  purgedKeys: number;
}

/**
 * The recovery sweep, in every worker process (docs/reliability.md). PostgreSQL is the
 * ledger and the queue only schedules, so work whose job was lost (Redis restarted without
 * persistence), failed (an outage outlasted its attempts) or never added (a crash between
 * a commit and its enqueue) is found from the ledger and re-driven:
 *
 * - a notification still `queued` or `sending` with no progress for RECOVERY_STALL_SECONDS
 *   and no live job gets its job again (the fan-out resumes from its cursor; a re-run
 *   skips devices that have an outcome);
 * - a ledger batch due for that long without a live job is taken over (next generation,
 *   a conditional update: one worker wins) and gets a new job;
 * - a notification whose batches are all done but which was never completed is completed.
 *
 * Every step is idempotent or conditional, so any number of workers sweep at once.
 * It also purges expired Idempotency-Keys.
 */
@Injectable()
export class Maintenance {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;

  constructor(
    @Inject(MAINTENANCE_DEPS)
    private readonly d: {
      logger: LoggerService;
      queues: QueueFactory;
      notifications: NotificationRepository;
      devices: DeviceRepository;
      batches: DeliveryBatchRepository;
      circuits: CircuitRepository;
      idempotency: IdempotencyRepository;
      idempotencyTtlHours: number;
      stallSeconds: number;
      metrics?: PipelineMetrics;
      onCompleted?: (appId: string, view: NotificationView) => void;
    },
  ) {}

  start(everyMs = 60_000): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.runOnce()
        .catch((err: Error) => this.d.logger.warn({ msg: 'recovery sweep failed', error: err.message }))
        .finally(() => (this.running = null));
    }, everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  async runOnce(): Promise<SweepResult> {
    const stallMs = this.d.stallSeconds * 1000;
    const result: SweepResult = { requeued: 0, redrivenBatches: 0, completed: 0, stalled: 0, purgedKeys: 0 };
    const stalled = await this.d.notifications.stalled(stallMs, 500);
    result.stalled = stalled.length;
    this.d.metrics?.stalled.set(stalled.length);
    for (const n of stalled) {
      if (n.status === 'queued' || !n.fanout_done) {
        if (await this.requeueNotification(n.id, n.app_id)) result.requeued++;
      } else if ((await this.d.batches.countFor(n.id)) === 0) {
        const view = await this.d.notifications.completeIfDone(n.app_id, n.id);
        if (view) {
          result.completed++;
          this.d.onCompleted?.(n.app_id, view);
        }
      }
    }
    result.redrivenBatches = await this.redriveBatches(stallMs);
    result.purgedKeys = await this.d.idempotency.purge(this.d.idempotencyTtlHours * 2);
    await this.circuitGauge();
    if (result.requeued || result.redrivenBatches || result.completed) {
      this.d.logger.warn({ msg: 'recovery sweep re-drove stalled work', ...result });
    }
    return result;
  }

  /** Re-adds a notification's job unless one is live; a dead one (failed, completed) is removed first. */
  private async requeueNotification(id: string, appId: string): Promise<boolean> {
    for (const q of NOTIFICATION_QUEUES) {
      const state = await this.d.queues.queue(q).getJobState(id);
      if (LIVE.has(state)) return false;
    }
    for (const q of NOTIFICATION_QUEUES) {
      const job = await this.d.queues.queue(q).getJob(id);
      if (job) await job.remove();
    }
    // the fan-out queue takes any audience
    await this.d.queues.queue<FanoutJobData>(QueueName.Fanout).add(JobName.FanoutNotification, { notificationId: id, appId }, notificationJobOptions(id));
    this.d.metrics?.redriven.inc({ kind: 'notification' });
    return true;
  }

  private async redriveBatches(stallMs: number): Promise<number> {
    let redriven = 0;
    for (const row of await this.d.batches.overdue(stallMs, 200)) {
      const queue = this.d.queues.queue<DeliverBatchJobData>(DELIVERY_QUEUES[row.provider as keyof typeof DELIVERY_QUEUES]);
      if (LIVE.has(await queue.getJobState(batchJobId(row.id, row.generation)))) continue;
      const generation = await this.d.batches.takeOver(row.id, row.generation);
      if (generation === null) continue; // another worker took it
      const { batches } = await rebuildBatches(this.d, [{ ...row, generation }]);
      for (const data of batches) {
        await queue.add(JobName.DeliverBatch, data, { jobId: batchJobId(row.id, generation), ...infraRetryOptions() });
      }
      if (batches.length === 0) await this.d.batches.remove(row.id, generation);
      this.d.metrics?.redriven.inc({ kind: 'batch' });
      redriven++;
    }
    return redriven;
  }

  private async circuitGauge(): Promise<void> {
    if (!this.d.metrics) return;
    const open = await this.d.circuits.openCircuits();
    for (const p of PROVIDERS) this.d.metrics.circuitsOpen.set({ provider: p }, open.filter((c) => c.provider === p).length);
  }
}
