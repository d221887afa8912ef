import type { LoggerService } from '@nestjs/common';
import type { EventRepository } from '@app/db';

/** How often each worker purges expired events. */
export const PURGE_EVERY_MS = 10 * 60_000;

/**
 * Deletes events older than EVENT_RETENTION_HOURS. Runs in every worker process on a
 * timer (first run a minute after start); the delete is idempotent, so several workers
 * purging at once only repeat an index scan.
 */
export class EventRetention {
  private timer: NodeJS.Timeout | null = null;
  private first: NodeJS.Timeout | null = null;

  constructor(private readonly d: { events: EventRepository; logger: LoggerService; retentionHours: number }) {}

  start(everyMs = PURGE_EVERY_MS): void {
    const run = () => void this.runOnce().catch((err: Error) => this.d.logger.warn({ msg: 'event purge failed', error: err.message }));
    this.first = setTimeout(run, Math.min(everyMs, 60_000));
    this.first.unref();
    this.timer = setInterval(run, everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.first) clearTimeout(this.first);
    if (this.timer) clearInterval(this.timer);
    this.first = this.timer = null;
  }

  async runOnce(now = Date.now()): Promise<number> {
    const purged = await this.d.events.purgeOlderThan(new Date(now - this.d.retentionHours * 3600_000));
    if (purged) this.d.logger.log({ msg: 'purged expired events', count: purged });
    return purged;
  }
}
