import type { LoggerService } from '@nestjs/common';
import { newId } from '@app/common';
import type { EventRepository, EventView, NewEvent, WebhookRepository } from '@app/db';
import { JobName, QueueName, type QueueFactory, type WebhookJobData } from '@app/queue';

export interface EventWriterOptions {
  /** How often buffered events are written (one INSERT for all of them). */
  flushMs: number;
  /** Events buffered while the database is unreachable; the oldest are dropped beyond it. */
  maxBuffered: number;
  /** Rows per INSERT. */
  maxBatch: number;
  webhookAttempts: number;
  webhookBackoffMs: number;
}

export const DEFAULT_WRITER_OPTIONS: Omit<EventWriterOptions, 'webhookAttempts' | 'webhookBackoffMs'> = { flushMs: 200, maxBuffered: 10_000, maxBatch: 500 };

interface PendingJob {
  name: typeof JobName.WebhookDeliver;
  data: WebhookJobData;
  opts: { jobId: string; attempts: number; backoff: { type: 'exponential'; delay: number; jitter: number } };
}

/**
 * Buffers app events in memory and writes them in batches: add() only pushes to an
 * array, so the pipeline never waits on the events table or the webhook queue. After
 * each INSERT the events are fanned out to the app's subscribed webhook endpoints as
 * one job per (event, endpoint) on the webhooks queue, with a deterministic job id
 * (an event is never enqueued twice for an endpoint).
 *
 * Bounded: at most maxBuffered events wait in memory (a database outage drops the
 * oldest, counted in the log); a failed enqueue is retried on the next flush.
 */
export class EventWriter {
  private buffer: NewEvent[] = [];
  private pendingJobs: PendingJob[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private dropped = 0;

  constructor(
    private readonly d: { events: EventRepository; webhooks: WebhookRepository; queues: QueueFactory; logger: LoggerService },
    private readonly opts: EventWriterOptions,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.opts.flushMs);
    this.timer.unref();
  }

  add(e: NewEvent): void {
    if (this.buffer.length >= this.opts.maxBuffered) {
      this.buffer.shift();
      this.dropped++;
    }
    this.buffer.push(e);
    if (this.buffer.length >= this.opts.maxBatch) void this.flush();
  }

  /** Writes everything buffered; concurrent callers share one run. Never throws. */
  flush(): Promise<void> {
    if (!this.running) {
      this.running = this.drain().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  /** Stops the timer and writes what is left (worker shutdown, before the queues close). */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
    if (this.buffer.length) await this.flush();
  }

  private async drain(): Promise<void> {
    if (this.dropped) {
      this.d.logger.error({ msg: 'events dropped: buffer full while the database was unreachable', count: this.dropped });
      this.dropped = 0;
    }
    while (this.buffer.length || this.pendingJobs.length) {
      const batch = this.buffer.splice(0, this.opts.maxBatch);
      try {
        const written = await this.d.events.append(batch);
        this.pendingJobs.push(...(await this.webhookJobs(written)));
      } catch (err) {
        // back to the front, still bounded by add()
        this.buffer.unshift(...batch.slice(0, Math.max(0, this.opts.maxBuffered - this.buffer.length)));
        this.d.logger.warn({ msg: 'writing events failed; retrying on the next flush', count: batch.length, error: (err as Error).message });
        return;
      }
      if (this.pendingJobs.length) {
        const jobs = this.pendingJobs.splice(0);
        try {
          await this.d.queues.queue<WebhookJobData>(QueueName.Webhooks).addBulk(jobs);
        } catch (err) {
          this.pendingJobs.unshift(...jobs.slice(0, this.opts.maxBuffered));
          this.d.logger.warn({ msg: 'enqueueing webhook deliveries failed; retrying on the next flush', count: jobs.length, error: (err as Error).message });
          return;
        }
      }
    }
  }

  private async webhookJobs(events: EventView[]): Promise<PendingJob[]> {
    const byApp = new Map<string, EventView[]>();
    for (const e of events) byApp.set(e.appId, [...(byApp.get(e.appId) ?? []), e]);
    const jobs: PendingJob[] = [];
    for (const [appId, list] of byApp) {
      const subs = await this.d.webhooks.subscribers(appId, [...new Set(list.map((e) => e.type))]);
      for (const e of list) {
        for (const s of subs) {
          if (!s.events.includes(e.type)) continue;
          jobs.push({
            name: JobName.WebhookDeliver,
            data: { appId, webhookId: s.id, deliveryId: newId(), event: { id: e.id, type: e.type, createdAt: e.createdAt.toISOString(), data: e.data } },
            opts: {
              jobId: `wh.${s.id}.${e.id}`,
              attempts: this.opts.webhookAttempts,
              backoff: { type: 'exponential', delay: this.opts.webhookBackoffMs, jitter: 0.2 },
            },
          });
        }
      }
    }
    return jobs;
  }
}
