import type { Job } from 'bullmq';
import { Inject, Injectable, Optional, type LoggerService } from '@nestjs/common';
import type { AppConfig } from '@app/common';
import { batchJobId, type BatchLedgerRow, type CredentialRepository, type DeliveryBatchRepository, type DeviceRepository, type NotificationRepository, type StreamedDevice, type AudienceFilter, type OutcomeRow } from '@app/db';
import { type CanonicalNotification, type ProviderName } from '@app/providers';
import { DELIVERY_QUEUES, JobName, infraRetryOptions, type DeliverBatchJobData, type FanoutJobData, type QueueFactory, type BatchDevice } from '@app/queue';
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
  batches: DeliveryBatchRepository;
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
    const rerun = row.resumed || (job.attemptsStarted ?? 1) > 1 || job.stalledCounter > 0;

    const notification = row.payload as unknown as CanonicalNotification;
    const targets = row.targets as unknown as StoredTargets;
    const audience: AudienceFilter = { all: targets.all, userIds: targets.userIds, tags: targets.tags, deviceIds: [...(targets.deviceIds ?? [])] };
    if (targets.tokens?.length) {
      audience.deviceIds!.push(...(await devices.upsertRaw(appId, targets.tokens)));
    }
    const routes = await credentials.routesByProvider(appId);
    // a re-run after a crash: batches already in the ledger may have lost their job (the
    // crash came between the page's commit and its addBulk); re-adding is a no-op for the live ones
    if (rerun && !this.inline) await this.requeueLedger(notificationId);

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
      const { batches, unroutable } = this.group(notification, page, routes);
      // direct path: sent before the page is recorded (a re-run reads the same page again)
      if (this.inline) await Promise.all(batches.map((b) => this.inline!(b, { rerun })));
      const ledger = this.inline ? [] : batches.map((b) => toLedgerRow(b));
      if (!(await notifications.recordPage(appId, notificationId, { prevCursor: cursor, nextCursor: last, added: page.length, last: lastPage, batches: ledger, unroutable }))) {
        // another run advanced it (a stalled job re-run): continue from the stored cursor
        const fresh = await notifications.getForWorker(appId, notificationId);
        if (!fresh || fresh.fanout_done) return { targeted: fresh?.targeted ?? targeted };
        cursor = fresh.fanout_cursor;
        targeted = fresh.targeted;
        continue;
      }
      if (!this.inline) await this.enqueue(batches);
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

  /** Groups a page by (provider, credential) into batches; returns them and the devices no credential can serve. */
  private group(n: CanonicalNotification, page: StreamedDevice[], routes: Map<ProviderName, CredentialRoute[]>): { batches: DeliverBatchJobData[]; unroutable: OutcomeRow[] } {
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
    const batches: DeliverBatchJobData[] = [];
    const size = this.d.config.deliveryBatchSize;
    for (const g of groups.values()) {
      for (let i = 0; i < g.devices.length; i += size) {
        const devices = g.devices.slice(i, i + size);
        // the direct path has no ledger row until a device needs a retry
        const batchId = this.inline ? null : `${n.id}.${devices[0].id}`;
        batches.push({ notificationId: n.id, appId: n.appId, provider: g.provider, credentialId: g.credentialId, notification: n, devices, attempt: 0, batchId, generation: this.inline ? null : 0 });
      }
    }
    return { batches, unroutable };
  }

  /** One addBulk per delivery queue; job ids are the ledger rows' (re-adding a live job is a no-op). */
  private async enqueue(batches: DeliverBatchJobData[]): Promise<void> {
    const byQueue = new Map<string, Array<{ name: string; data: DeliverBatchJobData; opts: { jobId: string; delay?: number } }>>();
    for (const data of batches) {
      const queue = DELIVERY_QUEUES[data.provider];
      const list = byQueue.get(queue) ?? [];
      list.push({ name: JobName.DeliverBatch, data, opts: { jobId: batchJobId(data.batchId!, data.generation!), ...infraRetryOptions() } });
      byQueue.set(queue, list);
    }
    for (const [queue, jobs] of byQueue) await this.d.queues.queue<DeliverBatchJobData>(queue).addBulk(jobs);
  }

  /** Re-adds the jobs of every batch this notification still owes in the ledger. */
  private async requeueLedger(notificationId: string): Promise<void> {
    const rows = await this.d.batches.forNotification(notificationId);
    if (rows.length === 0) return;
    const { batches } = await rebuildBatches(this.d, rows);
    await this.enqueue(batches);
  }
}

/** The ledger row of a fan-out batch. */
export function toLedgerRow(b: DeliverBatchJobData): BatchLedgerRow {
  return { id: b.batchId!, notificationId: b.notificationId, appId: b.appId, provider: b.provider, credentialId: b.credentialId, deviceIds: b.devices.map((x) => x.id), attempt: b.attempt, generation: b.generation! };
}

/**
 * Delivery jobs rebuilt from ledger rows (a fan-out re-run, the recovery sweep): the
 * notification and the devices' tokens are read back. A device deleted since gets a
 * `failed` outcome here, so every targeted device still ends with one.
 */
export async function rebuildBatches(d: Pick<FanoutDeps, 'devices' | 'notifications'>, rows: BatchLedgerRow[]): Promise<{ batches: DeliverBatchJobData[] }> {
  const batches: DeliverBatchJobData[] = [];
  const payloads = new Map<string, CanonicalNotification | null>();
  for (const r of rows) {
    if (!payloads.has(r.notificationId)) {
      const n = await d.notifications.getForWorker(r.appId, r.notificationId);
      payloads.set(r.notificationId, n ? (n.payload as unknown as CanonicalNotification) : null);
    }
    const notification = payloads.get(r.notificationId);
    if (!notification) continue;
    const found = await d.devices.byIds(r.appId, r.deviceIds);
    const foundIds = new Set(found.map((x) => x.id));
    const gone = r.deviceIds.filter((id) => !foundIds.has(id));
    if (gone.length) {
      await d.notifications.recordOutcomes(r.appId, r.notificationId, gone.map((id) => ({ deviceId: id, provider: r.provider, status: 'failed' as const, reason: 'device was deleted before delivery', providerMessageId: null, attempts: r.attempt })));
    }
    if (found.length === 0) continue;
    const devices = found.map((dev) => ({ id: dev.id, token: dev.token, tokenData: dev.token_data, environment: (dev.environment as BatchDevice['environment']) ?? null }));
    batches.push({ notificationId: r.notificationId, appId: r.appId, provider: r.provider as ProviderName, credentialId: r.credentialId, notification, devices, attempt: r.attempt, batchId: r.id, generation: r.generation });
  }
  return { batches };
}
