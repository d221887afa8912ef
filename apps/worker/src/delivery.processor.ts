import type { Job } from 'bullmq';
import { Inject, Injectable, type LoggerService } from '@nestjs/common';
import { redactToken, type AppConfig } from '@app/common';
import type { CredentialRepository, DeviceRepository, NotificationRepository, OutcomeRow } from '@app/db';
import type { CredentialRecord, DeliveryOutcome, ProviderMap } from '@app/providers';
import type { ObserverList } from './pipeline-observer';
import { DELIVERY_QUEUES, JobName, retryDelayMs, type DeliverBatchJobData, type QueueFactory, type RetryPolicy } from '@app/queue';
import { DELIVERY_DEPS } from './worker.tokens';

export interface DeliveryDeps {
  config: AppConfig;
  logger: LoggerService;
  queues: QueueFactory;
  providers: ProviderMap;
  devices: DeviceRepository;
  credentials: CredentialRepository;
  notifications: NotificationRepository;
  observers: ObserverList;
}

export interface BatchSummary {
  delivered: number;
  invalid: number;
  failed: number;
  expired: number;
  retrying: number;
}

/** Decrypted credentials are cached briefly so a large fan-out does not decrypt per batch. */
const CREDENTIAL_CACHE_MS = 30_000;

/**
 * Sends one batch through its provider and writes the outcomes in one statement.
 * "Retry later" devices (and only those) go into a new delayed job of the same queue;
 * a device whose next try would land after the notification's expiry is counted expired.
 */
@Injectable()
export class DeliveryProcessor {
  private readonly credCache = new Map<string, { at: number; cred: CredentialRecord | null }>();
  private readonly policy: RetryPolicy;

  constructor(@Inject(DELIVERY_DEPS) private readonly d: DeliveryDeps) {
    this.policy = { maxAttempts: d.config.retryMaxAttempts, baseDelayMs: d.config.retryBaseDelayMs, maxDelayMs: d.config.retryMaxDelayMs };
  }

  async process(job: Job<DeliverBatchJobData>): Promise<BatchSummary> {
    return this.deliver(job.data, { rerun: (job.attemptsStarted ?? 1) > 1 || job.stalledCounter > 0, complete: true });
  }

  /**
   * One batch, from a delivery job or inline from the direct path. `rerun`: an earlier
   * run of the same work may have sent some devices; `complete`: try to complete the
   * notification afterwards (the direct path does that itself, once its fan-out is recorded).
   */
  async deliver(data: DeliverBatchJobData, opts: { rerun: boolean; complete: boolean }): Promise<BatchSummary> {
    const { appId, notificationId, notification: n } = data;
    const summary: BatchSummary = { delivered: 0, invalid: 0, failed: 0, expired: 0, retrying: 0 };
    let devices = data.devices;
    // A re-run (worker crash, stalled job) must not resend what already has an outcome.
    if (opts.rerun) {
      const done = await this.d.notifications.alreadyFinal(notificationId, devices.map((x) => x.id));
      devices = devices.filter((x) => !done.has(x.id));
    }
    if (devices.length === 0) return summary;
    const attempts = data.attempt + 1;
    const rows: OutcomeRow[] = [];
    const row = (id: string, status: OutcomeRow['status'], reason: string | null, msgId: string | null = null) =>
      rows.push({ deviceId: id, provider: data.provider, status, reason, providerMessageId: msgId, attempts });

    if (n.expiresAt && Date.now() >= n.expiresAt) {
      for (const dev of devices) row(dev.id, 'expired', 'ttl elapsed before delivery');
      summary.expired = devices.length;
      await this.d.notifications.recordOutcomes(appId, notificationId, rows);
      this.d.observers.emit('batchCompleted', { appId, notificationId, provider: data.provider, rows, providerLatencyMs: 0, acceptedAt: n.acceptedAt });
      if (opts.complete) await this.complete(appId, notificationId);
      return summary;
    }

    const cred = await this.credential(appId, data.credentialId);
    let outcomes: DeliveryOutcome[];
    const sendStarted = Date.now();
    if (!cred) {
      outcomes = devices.map(() => ({ kind: 'failed', reason: 'credential was deleted' }));
    } else {
      outcomes = await this.d.providers[data.provider].send(cred, n, devices);
      if (outcomes.length !== devices.length) throw new Error(`${data.provider} returned ${outcomes.length} outcomes for ${devices.length} devices`);
    }

    const invalid: Array<{ deviceId: string; reason: string }> = [];
    const pending: typeof devices = [];
    let retryAfter = 0;
    let alarm: string | null = null;
    outcomes.forEach((o, i) => {
      const dev = devices[i];
      switch (o.kind) {
        case 'delivered':
          row(dev.id, 'delivered', o.detail ?? null, o.providerMessageId ?? null);
          summary.delivered++;
          break;
        case 'invalid_token':
          row(dev.id, 'invalid_token', o.reason);
          invalid.push({ deviceId: dev.id, reason: o.reason });
          summary.invalid++;
          break;
        case 'failed':
          row(dev.id, 'failed', o.reason);
          if (o.alarm) alarm = o.reason;
          summary.failed++;
          break;
        case 'retry':
          if (attempts >= this.policy.maxAttempts) {
            row(dev.id, 'failed', `gave up after ${attempts} attempts: ${o.reason}`);
            summary.failed++;
          } else {
            row(dev.id, 'pending_retry', o.reason);
            pending.push(dev);
            retryAfter = Math.max(retryAfter, o.retryAfterMs ?? 0);
          }
          break;
      }
    });

    let delay = 0;
    if (pending.length) {
      delay = retryDelayMs(this.policy, data.attempt, retryAfter || undefined);
      if (n.expiresAt && Date.now() + delay >= n.expiresAt) {
        for (const r of rows) if (r.status === 'pending_retry') { r.status = 'expired'; r.reason = `ttl elapses before the next try (${r.reason})`; }
        summary.expired += pending.length;
        pending.length = 0;
      }
    }
    summary.retrying = pending.length;
    // The retry job is queued before outcomes are written: a crash in between re-runs
    // this batch, whose already-final devices are filtered out above.
    if (pending.length) {
      await this.d.queues.queue<DeliverBatchJobData>(DELIVERY_QUEUES[data.provider]).add(
        JobName.DeliverBatch,
        { ...data, devices: pending, attempt: attempts },
        { delay, jobId: `${notificationId}.${pending[0].id}.r${attempts}` },
      );
    }
    const providerLatencyMs = Date.now() - sendStarted;
    await this.d.devices.markInvalid(appId, invalid);
    await this.d.notifications.recordOutcomes(appId, notificationId, rows);
    this.d.observers.emit('batchCompleted', { appId, notificationId, provider: data.provider, rows, providerLatencyMs, acceptedAt: n.acceptedAt });
    if (invalid.length) this.d.observers.emit('devicesInvalidated', { appId, provider: data.provider, devices: invalid });
    if (alarm && cred) {
      await this.d.credentials.raiseAlarm(appId, cred.id, alarm);
      this.d.logger.error({ msg: 'credential alarm', appId, credentialId: cred.id, provider: data.provider, reason: alarm });
      this.d.observers.emit('credentialAlarm', { appId, credentialId: cred.id, provider: data.provider, reason: alarm });
      this.credCache.delete(cred.id);
    }
    if (!pending.length && opts.complete) await this.complete(appId, notificationId);
    this.d.logger.log({
      msg: 'batch delivered', appId, notificationId, provider: data.provider, attempt: attempts, ...summary,
      ...(pending.length ? { retryInMs: delay, firstPending: redactToken(pending[0].token) } : {}),
    });
    return summary;
  }

  private async complete(appId: string, notificationId: string): Promise<void> {
    const done = await this.d.notifications.completeIfDone(appId, notificationId);
    if (done) this.d.observers.emit('notificationCompleted', { appId, notification: done });
  }

  private async credential(appId: string, id: string): Promise<CredentialRecord | null> {
    const hit = this.credCache.get(id);
    if (hit && Date.now() - hit.at < CREDENTIAL_CACHE_MS) return hit.cred;
    const cred = await this.d.credentials.open(appId, id);
    this.credCache.set(id, { at: Date.now(), cred });
    return cred;
  }
}
