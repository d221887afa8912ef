import type { Queue } from 'bullmq';
import type { Db } from '@app/db';
import { JobName, QueueName, notificationJobOptions, type FanoutJobData } from '@app/queue';
import type { BuiltNotification } from './notification-builder';

/** Most notification rows in one INSERT (and jobs in one addBulk). */
const MAX_ROWS_PER_WRITE = 500;
/** Writes in flight at once; requests arriving beyond that join the next write. */
const MAX_WRITES_IN_FLIGHT = 2;

interface Entry {
  appId: string;
  list: BuiltNotification[];
  resolve: () => void;
  reject: (err: Error) => void;
}

/** The producers of a notification's own job (NotificationsService injects them with @InjectQueue). */
export type NotificationQueues = Record<typeof QueueName.Fanout | typeof QueueName.Direct, Queue<FanoutJobData>>;

/** Raised when the queue backend refused the jobs: the rows were removed again. */
export class EnqueueFailed extends Error {}

/**
 * The queue a notification's job goes to: a few explicit targets (device ids, raw
 * tokens) take the direct queue, resolved and sent in one job; everything else (all,
 * users, tags, or many devices) the fan-out queue, which pages through the audience.
 */
export function queueFor(b: BuiltNotification, directMaxTargets: number): typeof QueueName.Fanout | typeof QueueName.Direct {
  const t = b.targets as { all?: boolean; userIds?: unknown[]; tags?: unknown[]; deviceIds?: unknown[]; tokens?: unknown[] };
  if (t.all || t.userIds?.length || t.tags?.length) return QueueName.Fanout;
  return (t.deviceIds?.length ?? 0) + (t.tokens?.length ?? 0) <= directMaxTargets ? QueueName.Direct : QueueName.Fanout;
}

/** One INSERT of the notification rows of several sends (also inside the Idempotency-Key transaction). */
export async function insertNotifications(db: Db, batch: Array<{ appId: string; list: BuiltNotification[] }>): Promise<void> {
  await db.insertInto('notifications').values(batch.flatMap(({ appId, list }) => list.map((b) => ({
    id: b.notification.id,
    app_id: appId,
    status: 'queued' as const,
    payload: JSON.stringify(b.notification),
    targets: JSON.stringify(b.targets),
    send_at: b.sendAt,
    expires_at: b.notification.expiresAt ? new Date(b.notification.expiresAt) : null,
    started_at: null,
    completed_at: null,
    fanout_cursor: null,
  })))).execute();
}

/**
 * Writes accepted notifications: their rows with one INSERT, then their jobs with one
 * addBulk per queue. Requests that arrive while writes are in flight are written
 * together by the next one (group commit): at low load each request is written alone
 * and at once; under load one statement and one queue round trip serve many requests,
 * which is where the API's time went (each statement and each Redis call is a socket
 * write and a wake-up). A write either lands whole or leaves nothing: when the enqueue
 * fails the rows are deleted again and every request in it is answered 503; when the
 * INSERT fails for a write of several requests, each is retried alone so one bad row
 * cannot fail its neighbours.
 */
export class AcceptWriter {
  private waiting: Entry[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(private readonly db: Db, private readonly queues: NotificationQueues, private readonly directMaxTargets: number) {}

  /** Resolves once the rows are committed and the jobs are queued. */
  write(appId: string, list: BuiltNotification[]): Promise<void> {
    if (list.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ appId, list, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= MAX_WRITES_IN_FLIGHT || this.waiting.length === 0) return;
    this.scheduled = true;
    // after the current I/O phase, so requests that arrived together are written together
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const batch: Entry[] = [];
    let rows = 0;
    while (this.waiting.length && (batch.length === 0 || rows + this.waiting[0].list.length <= MAX_ROWS_PER_WRITE)) {
      const e = this.waiting.shift()!;
      batch.push(e);
      rows += e.list.length;
    }
    this.inFlight++;
    this.writeBatch(batch)
      .finally(() => {
        this.inFlight--;
        this.schedule();
      })
      .catch(() => undefined);
  }

  private async writeBatch(batch: Entry[]): Promise<void> {
    try {
      await insertNotifications(this.db, batch);
    } catch (err) {
      if (batch.length === 1) return batch[0].reject(err as Error);
      // isolate the failing request: the others are written one by one
      await Promise.all(batch.map((e) => this.writeBatch([e])));
      return;
    }
    try {
      await this.enqueue(batch);
    } catch (err) {
      const cause = err as Error;
      await this.remove(batch).catch(() => undefined); // the maintenance sweep re-enqueues any row this misses
      for (const e of batch) e.reject(new EnqueueFailed(cause.message));
      return;
    }
    for (const e of batch) e.resolve();
  }

  /** The fan-out (or direct) jobs of committed rows; the job id is the notification id. */
  async enqueue(batch: Array<Pick<Entry, 'appId' | 'list'>>): Promise<void> {
    const byQueue = new Map<keyof NotificationQueues, Array<{ name: string; data: FanoutJobData; opts: ReturnType<typeof notificationJobOptions> }>>();
    for (const e of batch) {
      for (const b of e.list) {
        const queue = queueFor(b, this.directMaxTargets);
        const jobs = byQueue.get(queue) ?? [];
        jobs.push({
          name: JobName.FanoutNotification,
          data: { notificationId: b.notification.id, appId: e.appId },
          opts: notificationJobOptions(b.notification.id, b.sendAt ? Math.max(0, b.sendAt.getTime() - Date.now()) : undefined),
        });
        byQueue.set(queue, jobs);
      }
    }
    await Promise.all([...byQueue].map(([queue, jobs]) => this.queues[queue].addBulk(jobs)));
  }

  private async remove(batch: Entry[]): Promise<void> {
    for (const e of batch) {
      await this.db.deleteFrom('notifications').where('app_id', '=', e.appId).where('id', 'in', e.list.map((b) => b.notification.id)).execute();
    }
  }
}
