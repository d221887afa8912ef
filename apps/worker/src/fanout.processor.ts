import type { Job } from 'bullmq';
import { Inject, Injectable, Optional, type LoggerService } from '@nestjs/common';
import type { AppConfig } from '@app/common';
import type { CredentialRepository, DeviceRepository, NotificationRepository, StreamedDevice, AudienceFilter, OutcomeRow } from '@app/db';
import { type CanonicalNotification, type ProviderName } from '@app/providers';
import { DELIVERY_QUEUES, JobName, type DeliverBatchJobData, type FanoutJobData, type QueueFactory, type BatchDevice } from '@app/queue';
import { routeDevice, type CredentialRoute } from './credential-router';
import type { ObserverList } from './pipeline-observer';
import { FANOUT_DEPS, INLINE_DELIVERY } from './worker.tokens';

/** What the API stores as a notification's audience. */
export interface StoredTargets extends AudienceFilter {
  tokens?: Array<{ provider: ProviderName; token: string; tokenData?: Record<string, string> | null; environment?: string | null }>;
}

export interface FanoutDeps {
  config: AppConfig;
  logger: LoggerService;
  queues: QueueFactory;
  devices: DeviceRepository;
  credentials: CredentialRepository;
  notifications: NotificationRepository;
  observers: ObserverList;
}

/** Sends one batch in the current job (the direct path) instead of queueing it. */
export type InlineDelivery = (data: DeliverBatchJobData, opts: { rerun: boolean }) => Promise<unknown>;

/**
 * Expands one notification into provider batch jobs. Devices stream from PostgreSQL in
 * keyset pages (memory is one page, whatever the audience). After each page the cursor
 * is saved with the count, conditionally on the previous cursor, so a fan-out that
 * resumes after a crash continues where it stopped and counts nothing twice; batch job
 * ids are deterministic, so re-adding a batch is a no-op while it is still queued.
 *
 * The direct queue (a few explicit targets) runs the same expansion with `inline`: the
 * batches are sent in this job, before the page is recorded, so a re-run after a crash
 * reads the same page again and the delivery step skips devices that already have a
 * final outcome. That saves a queue hop and several statements per small notification.
 */
@Injectable()
export class FanoutProcessor {
  constructor(@Inject(FANOUT_DEPS) private readonly d: FanoutDeps, @Optional() @Inject(INLINE_DELIVERY) private readonly inline?: InlineDelivery) {}

  async process(job: Job<FanoutJobData>): Promise<{ targeted: number }> {
    const { appId, notificationId } = job.data;
    const { notifications, devices, credentials, config } = this.d;
    const row = await notifications.startForWorker(appId, notificationId);
    if (!row || row.status !== 'sending' || row.fanout_done) return { targeted: row?.targeted ?? 0 };
    const rerun = (job.attemptsStarted ?? 1) > 1 || job.stalledCounter > 0;

    const notification = row.payload as unknown as CanonicalNotification;
    const targets = row.targets as unknown as StoredTargets;
    const audience: AudienceFilter = { all: targets.all, userIds: targets.userIds, tags: targets.tags, deviceIds: [...(targets.deviceIds ?? [])] };
    if (targets.tokens?.length) {
      audience.deviceIds!.push(...(await devices.upsertRaw(appId, targets.tokens)));
    }
    const routes = await credentials.routesByProvider(appId);

    let cursor = row.fanout_cursor;
    let targeted = row.targeted;
    for (;;) {
      const page = await devices.page(appId, audience, cursor, config.fanoutPageSize);
      if (page.length === 0) {
        await notifications.finishFanout(appId, notificationId);
        break;
      }
      const last = page[page.length - 1].id;
      const lastPage = page.length < config.fanoutPageSize;
      const unroutable = await this.dispatch(notification, page, routes, rerun);
      if (!(await notifications.advanceFanout(appId, notificationId, cursor, last, page.length, lastPage))) {
        // another run advanced it (a stalled job re-run): continue from the stored cursor
        const fresh = await notifications.getForWorker(appId, notificationId);
        if (!fresh || fresh.fanout_done) return { targeted: fresh?.targeted ?? targeted };
        cursor = fresh.fanout_cursor;
        targeted = fresh.targeted;
        continue;
      }
      await notifications.recordOutcomes(appId, notificationId, unroutable);
      cursor = last;
      targeted += page.length;
      if (!this.inline) await job.updateProgress({ enqueued: targeted });
      this.d.observers.emit('fanoutProgress', { appId, notificationId, added: page.length, enqueued: targeted });
      if (lastPage) break;
    }
    const done = await notifications.completeIfDone(appId, notificationId);
    if (done) this.d.observers.emit('notificationCompleted', { appId, notification: done });
    this.d.logger.log({ msg: 'fan-out done', appId, notificationId, targeted, direct: Boolean(this.inline) });
    return { targeted };
  }

  /**
   * Groups a page by (provider, credential) into batches and enqueues them with addBulk,
   * or (direct path) sends them here. Returns the devices no credential can serve.
   */
  private async dispatch(n: CanonicalNotification, page: StreamedDevice[], routes: Map<ProviderName, CredentialRoute[]>, rerun: boolean): Promise<OutcomeRow[]> {
    const groups = new Map<string, { provider: ProviderName; credentialId: string; devices: BatchDevice[] }>();
    const unroutable: OutcomeRow[] = [];
    for (const dev of page) {
      const credentialId = routeDevice(dev, routes);
      if (!credentialId) {
        unroutable.push({ deviceId: dev.id, provider: dev.provider, status: 'failed', reason: `no ${dev.provider} credential for this device`, providerMessageId: null, attempts: 0 });
        continue;
      }
      const key = `${dev.provider}/${credentialId}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { provider: dev.provider as ProviderName, credentialId, devices: [] }));
      g.devices.push({ id: dev.id, token: dev.token, tokenData: dev.token_data, environment: (dev.environment as BatchDevice['environment']) ?? null });
    }
    const byQueue = new Map<string, Array<{ name: string; data: DeliverBatchJobData; opts: { jobId: string } }>>();
    const inline: DeliverBatchJobData[] = [];
    for (const g of groups.values()) {
      for (let i = 0; i < g.devices.length; i += this.d.config.deliveryBatchSize) {
        const devices = g.devices.slice(i, i + this.d.config.deliveryBatchSize);
        const data: DeliverBatchJobData = { notificationId: n.id, appId: n.appId, provider: g.provider, credentialId: g.credentialId, notification: n, devices, attempt: 0 };
        if (this.inline) {
          inline.push(data);
          continue;
        }
        const queue = DELIVERY_QUEUES[g.provider];
        const list = byQueue.get(queue) ?? [];
        list.push({ name: JobName.DeliverBatch, data, opts: { jobId: `${n.id}.${devices[0].id}` } });
        byQueue.set(queue, list);
      }
    }
    if (this.inline) await Promise.all(inline.map((data) => this.inline!(data, { rerun })));
    for (const [queue, jobs] of byQueue) {
      await this.d.queues.queue<DeliverBatchJobData>(queue).addBulk(jobs);
    }
    return unroutable;
  }
}
