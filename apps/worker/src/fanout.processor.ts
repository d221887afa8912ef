import type { Job } from 'bullmq';
import type { LoggerService } from '@nestjs/common';
import type { AppConfig } from '../../../libs/common/src';
import type { CredentialRepository, DeviceRepository, NotificationRepository, StreamedDevice, AudienceFilter, OutcomeRow } from '../../../libs/db/src';
import { PROVIDERS, type CanonicalNotification, type ProviderName } from '../../../libs/providers/src/canonical';
import { DELIVERY_QUEUES, JobName, type DeliverBatchJobData, type FanoutJobData, type QueueFactory, type BatchDevice } from '../../../libs/queue/src';
import { routeDevice, type CredentialRoute } from './credential-router';
import type { ObserverList } from './pipeline-observer';

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

/**
 * Expands one notification into provider batch jobs. Devices stream from PostgreSQL in
 * keyset pages (memory is one page, whatever the audience). After each page the cursor
 * is saved with the count, conditionally on the previous cursor, so a fan-out that
 * resumes after a crash continues where it stopped and counts nothing twice; batch job
 * ids are deterministic, so re-adding a batch is a no-op while it is still queued.
 */
export class FanoutProcessor {
  constructor(private readonly d: FanoutDeps) {}

  async process(job: Job<FanoutJobData>): Promise<{ targeted: number }> {
    const { appId, notificationId } = job.data;
    const { notifications, devices, credentials, config } = this.d;
    let row = await notifications.getForWorker(appId, notificationId);
    if (!row || row.status === 'cancelled') return { targeted: 0 };
    if (row.status === 'queued') {
      if (!(await notifications.start(appId, notificationId))) return { targeted: 0 };
      row = (await notifications.getForWorker(appId, notificationId))!;
    }
    if (row.status !== 'sending' || row.fanout_done) return { targeted: row.targeted };

    const notification = row.payload as unknown as CanonicalNotification;
    const targets = row.targets as unknown as StoredTargets;
    const audience: AudienceFilter = { all: targets.all, userIds: targets.userIds, tags: targets.tags, deviceIds: [...(targets.deviceIds ?? [])] };
    if (targets.tokens?.length) {
      audience.deviceIds!.push(...(await devices.upsertRaw(appId, targets.tokens)));
    }
    const routes = new Map<ProviderName, CredentialRoute[]>();
    for (const p of PROVIDERS) routes.set(p, await credentials.routes(appId, p));

    let cursor = row.fanout_cursor;
    let targeted = row.targeted;
    for (;;) {
      const page = await devices.page(appId, audience, cursor, config.fanoutPageSize);
      if (page.length === 0) break;
      const last = page[page.length - 1].id;
      const unroutable = await this.enqueue(notification, page, routes);
      if (!(await notifications.advanceFanout(appId, notificationId, cursor, last, page.length))) {
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
      await job.updateProgress({ enqueued: targeted });
      this.d.observers.emit('fanoutProgress', { appId, notificationId, enqueued: targeted });
      if (page.length < config.fanoutPageSize) break;
    }
    await notifications.finishFanout(appId, notificationId);
    const done = await notifications.completeIfDone(appId, notificationId);
    if (done) this.d.observers.emit('notificationCompleted', { appId, notification: done });
    this.d.logger.log({ msg: 'fan-out done', appId, notificationId, targeted });
    return { targeted };
  }

  /** Groups a page by (provider, credential) into batches and enqueues them with addBulk. */
  private async enqueue(n: CanonicalNotification, page: StreamedDevice[], routes: Map<ProviderName, CredentialRoute[]>): Promise<OutcomeRow[]> {
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
    for (const g of groups.values()) {
      for (let i = 0; i < g.devices.length; i += this.d.config.deliveryBatchSize) {
        const devices = g.devices.slice(i, i + this.d.config.deliveryBatchSize);
        const queue = DELIVERY_QUEUES[g.provider];
        const list = byQueue.get(queue) ?? [];
        list.push({
          name: JobName.DeliverBatch,
          data: { notificationId: n.id, appId: n.appId, provider: g.provider, credentialId: g.credentialId, notification: n, devices, attempt: 0 },
          opts: { jobId: `${n.id}.${devices[0].id}` },
        });
        byQueue.set(queue, list);
      }
    }
    for (const [queue, jobs] of byQueue) {
      await this.d.queues.queue<DeliverBatchJobData>(queue).addBulk(jobs);
    }
    return unroutable;
  }
}
