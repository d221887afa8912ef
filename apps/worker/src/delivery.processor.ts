import type { Job } from 'bullmq';
import { Inject, Injectable, type LoggerService } from '@nestjs/common';
import { redactToken, type AppConfig } from '@app/common';
import { batchJobId, type CredentialRepository, type DeliveryBatchRepository, type DeviceRepository, type NotificationRepository, type OutcomeRow } from '@app/db';
import type { CredentialRecord, DeliveryOutcome, ProviderMap } from '@app/providers';
import type { ObserverList } from './pipeline-observer';
import { DELIVERY_QUEUES, JobName, infraRetryOptions, retryDeadline, retryDelayMs, type BatchDevice, type DeliverBatchJobData, type QueueFactory, type RetryPolicy } from '@app/queue';
import { OutcomeBuffer } from './outcome-buffer';
import { CircuitBreaker } from './circuit-breaker';
import { DELIVERY_DEPS } from './worker.tokens';

export interface DeliveryDeps {
  config: AppConfig;
  logger: LoggerService;
  queues: QueueFactory;
  providers: ProviderMap;
  devices: DeviceRepository;
  credentials: CredentialRepository;
  notifications: NotificationRepository;
  batches: DeliveryBatchRepository;
  breaker: CircuitBreaker;
  observers: ObserverList;
}

export interface BatchSummary {
  delivered: number;
  invalid: number;
  failed: number;
  expired: number;
  retrying: number;
  held: number;
}

/** Decrypted credentials are cached briefly so a large fan-out does not decrypt per batch. */
const CREDENTIAL_CACHE_MS = 30_000;
/** While a circuit is open its devices wait this long (plus jitter) before looking again. */
const HOLD_MS = 2000;

/** Devices that go back into the ledger for a later try, with when and why. */
interface Later {
  devices: BatchDevice[];
  delayMs: number;
  reason: string;
  /** Held by an open circuit (no request was made), rather than retried after an answer. */
  held?: boolean;
}

/**
 * Sends one batch through its provider. Outcomes are written as the answers arrive
 * (OutcomeBuffer); devices to try again go back into the batch's ledger row with the next
 * generation and a delayed job, until the notification's TTL or the retry window ends.
 * Devices behind an open circuit are held the same way, without a request.
 * Infrastructure errors (database, Redis) are thrown: BullMQ retries the job, and the
 * re-run skips every device that already has a final outcome.
 */
@Injectable()
export class DeliveryProcessor {
  private readonly credCache = new Map<string, { at: number; cred: CredentialRecord | null }>();
  private readonly policy: RetryPolicy;

  constructor(@Inject(DELIVERY_DEPS) private readonly d: DeliveryDeps) {
    this.policy = { baseDelayMs: d.config.retryBaseDelayMs, maxDelayMs: d.config.retryMaxDelayMs, maxWindowMs: d.config.retryMaxWindowSeconds * 1000 };
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
    const summary: BatchSummary = { delivered: 0, invalid: 0, failed: 0, expired: 0, retrying: 0, held: 0 };
    const generation = data.generation ?? null;
    if (data.batchId && generation !== null) {
      // superseded (the sweep re-drove the batch) or already done: the newer job owns it
      const current = await this.d.batches.get(data.batchId);
      if (!current || current.generation !== generation) return summary;
    }
    let devices = data.devices;
    if (opts.rerun || data.attempt > 0 || (generation ?? 0) > 0) {
      const done = await this.d.notifications.alreadyFinal(notificationId, devices.map((x) => x.id));
      devices = devices.filter((x) => !done.has(x.id));
    }
    const attempts = data.attempt + 1;
    const buffer = new OutcomeBuffer(
      async (rows, invalid) => {
        await this.d.devices.markInvalid(appId, invalid);
        await this.d.notifications.recordOutcomes(appId, notificationId, rows);
      },
      {
        size: this.d.config.recovery.outcomeFlushSize, ms: this.d.config.recovery.outcomeFlushMs, holdMs: this.d.config.recovery.outcomeHoldSeconds * 1000,
        onRetry: (err) => this.d.logger.warn({ msg: 'writing outcomes failed, holding them and retrying', appId, notificationId, error: err.message }),
      },
    );
    const row = (dev: BatchDevice, status: OutcomeRow['status'], reason: string | null, msgId: string | null = null, invalidReason?: string) =>
      buffer.add({ deviceId: dev.id, provider: data.provider, status, reason, providerMessageId: msgId, attempts }, invalidReason);

    const later: Later[] = [];
    const sendStarted = Date.now();
    let alarm: string | null = null;
    let cred: CredentialRecord | null = null;
    if (devices.length > 0 && n.expiresAt && Date.now() >= n.expiresAt) {
      for (const dev of devices) row(dev, 'expired', 'ttl elapsed before delivery');
      summary.expired = devices.length;
    } else if (devices.length > 0) {
      cred = await this.credential(appId, data.credentialId);
      const deadline = retryDeadline(this.policy, n);
      const retryList: BatchDevice[] = [];
      let retryAfter = 0;
      let retryReason = '';
      const settle = (dev: BatchDevice, o: DeliveryOutcome) => {
        switch (o.kind) {
          case 'delivered':
            row(dev, 'delivered', o.detail ?? null, o.providerMessageId ?? null);
            summary.delivered++;
            return;
          case 'invalid_token':
            row(dev, 'invalid_token', o.reason, null, o.reason);
            summary.invalid++;
            return;
          case 'failed':
            row(dev, 'failed', o.reason);
            if (o.alarm) alarm = o.reason;
            summary.failed++;
            return;
          case 'retry':
            row(dev, 'pending_retry', o.reason);
            retryList.push(dev);
            retryAfter = Math.max(retryAfter, o.retryAfterMs ?? 0);
            retryReason = o.reason;
        }
      };
      if (!cred) {
        for (const dev of devices) settle(dev, { kind: 'failed', reason: 'credential was deleted' });
      } else {
        const { send, held } = await this.throughCircuits(cred, data, devices, settle);
        if (send.length > 0) {
          // answers count towards their endpoint's circuit as they arrive; when it opens,
          // what this batch has not started yet is held instead of sent
          const sentAt = Date.now();
          const abort = new AbortController();
          const reported = new Array<boolean>(send.length).fill(false);
          const take = (i: number, o: DeliveryOutcome) => {
            reported[i] = true;
            if (o.kind === 'retry' && o.notSent) {
              held.devices.push(send[i]);
              held.reason ||= `circuit opened for ${data.provider}`;
              return;
            }
            settle(send[i], o);
            if (this.d.breaker.record(CircuitBreaker.key(appId, data.provider, cred!.id, CircuitBreaker.endpoint(data.provider, send[i].token)), [o], sentAt)) abort.abort();
          };
          const outcomes = await this.d.providers[data.provider].send(cred, n, send, take, abort.signal);
          if (outcomes.length !== send.length) throw new Error(`${data.provider} returned ${outcomes.length} outcomes for ${send.length} devices`);
          outcomes.forEach((o, i) => { if (!reported[i]) take(i, o); });
        }
        if (held.devices.length > 0) later.push({ devices: held.devices, delayMs: HOLD_MS + Math.round(Math.random() * HOLD_MS), reason: held.reason, held: true });
      }
      if (retryList.length > 0) later.push({ devices: retryList, delayMs: retryDelayMs(this.policy, data.attempt, retryAfter || undefined), reason: retryReason });
      // written before the deadline rows below: one statement never holds two rows of one device
      await buffer.drain();
      // what would be tried after the deadline ends now, with the last reason
      for (const l of later.splice(0)) {
        if (Date.now() + l.delayMs < deadline.at) {
          later.push(l);
          continue;
        }
        for (const dev of l.devices) {
          if (deadline.by === 'ttl') row(dev, 'expired', `ttl elapses before the next try (${l.reason})`);
          else row(dev, 'failed', `retry window closed after ${attempts} attempts: ${l.reason}`);
        }
        if (deadline.by === 'ttl') summary.expired += l.devices.length;
        else summary.failed += l.devices.length;
      }
    }
    await buffer.drain();
    summary.held = later.filter((l) => l.held).reduce((a, l) => a + l.devices.length, 0);
    summary.retrying = later.filter((l) => !l.held).reduce((a, l) => a + l.devices.length, 0);
    await this.schedule(data, later, attempts);
    if (later.length === 0 && data.batchId) await this.d.batches.remove(data.batchId, generation);

    const rows = buffer.all;
    if (rows.length > 0) {
      this.d.observers.emit('batchCompleted', { appId, notificationId, provider: data.provider, rows, providerLatencyMs: Date.now() - sendStarted, acceptedAt: n.acceptedAt });
      const invalid = rows.filter((r) => r.status === 'invalid_token').map((r) => ({ deviceId: r.deviceId, reason: r.reason ?? '' }));
      if (invalid.length) this.d.observers.emit('devicesInvalidated', { appId, provider: data.provider, devices: invalid });
    }
    if (alarm && cred) await this.raiseAlarm(appId, cred, data, alarm);
    if (later.length === 0 && opts.complete) await this.complete(appId, notificationId);
    if (rows.length > 0 || later.length > 0) {
      this.d.logger.log({
        msg: 'batch delivered', appId, notificationId, provider: data.provider, attempt: attempts, ...summary,
        ...(later.length ? { retryInMs: later[0].delayMs, firstPending: redactToken(later[0].devices[0].token) } : {}),
      });
    }
    return summary;
  }

  /**
   * Splits the devices by endpoint circuit: those whose circuit is closed are sent; an open
   * circuit's devices are held, except one probe when this worker wins the probe slot. A
   * probe that gets a real answer closes the circuit and lets the rest of its devices go.
   */
  private async throughCircuits(cred: CredentialRecord, data: DeliverBatchJobData, devices: BatchDevice[], settle: (dev: BatchDevice, o: DeliveryOutcome) => void) {
    const groups = new Map<string, BatchDevice[]>();
    for (const dev of devices) {
      const ep = CircuitBreaker.endpoint(data.provider, dev.token);
      groups.set(ep, [...(groups.get(ep) ?? []), dev]);
    }
    const send: BatchDevice[] = [];
    const held = { devices: [] as BatchDevice[], reason: '' };
    for (const [endpoint, list] of groups) {
      const k = CircuitBreaker.key(data.appId, data.provider, cred.id, endpoint);
      if (!(await this.d.breaker.isOpen(k))) {
        send.push(...list);
        continue;
      }
      held.reason = `circuit open for ${data.provider} at ${endpoint}`;
      if (!(await this.d.breaker.takeProbe(k))) {
        held.devices.push(...list);
        continue;
      }
      const [probe, ...rest] = list;
      const [o] = await this.d.providers[data.provider].send(cred, data.notification, [probe]);
      if (o.kind === 'retry' && (o.unavailable || o.throttled)) {
        held.devices.push(probe, ...rest);
      } else {
        settle(probe, o);
        await this.d.breaker.probeSucceeded(k);
        send.push(...rest);
      }
    }
    return { send, held };
  }

  /**
   * The devices to try later go back into the ledger (the next generation of the batch,
   * due at the delay), then get a delayed job; a crash in between leaves the ledger row,
   * which the recovery sweep re-drives. Two groups with different delays (a retry and a
   * hold) become two ledger rows, each keyed by its first device (a device is in one row).
   */
  private async schedule(data: DeliverBatchJobData, later: Later[], attempts: number): Promise<void> {
    if (later.length === 0) return;
    const own = data.batchId ?? `${data.notificationId}.${data.devices[0].id}`;
    // The group holding the device this row is named after keeps the row (else the first
    // group does); the others are named after their own first device, which is in no other row.
    const keeper = Math.max(0, later.findIndex((l) => l.devices.some((x) => own === `${data.notificationId}.${x.id}`)));
    const order = [keeper, ...later.keys()].filter((i, k, all) => all.indexOf(i) === k);
    for (const i of order) {
      const l = later[i];
      const id = i === keeper ? own : `${data.notificationId}.${l.devices[0].id}`;
      const ownGeneration = i === keeper && data.batchId ? (data.generation ?? null) : null;
      const gen = await this.d.batches.reschedule(
        { id, notificationId: data.notificationId, appId: data.appId, provider: data.provider, credentialId: data.credentialId, deviceIds: l.devices.map((x) => x.id), attempt: attempts },
        ownGeneration, new Date(Date.now() + l.delayMs), l.reason,
      );
      // the batch was taken over meanwhile: its new owner sends all of it
      if (gen === null) return;
      await this.d.queues.queue<DeliverBatchJobData>(DELIVERY_QUEUES[data.provider]).add(
        JobName.DeliverBatch,
        { ...data, devices: l.devices, attempt: attempts, batchId: id, generation: gen },
        { delay: l.delayMs, jobId: batchJobId(id, gen), ...infraRetryOptions() },
      );
    }
  }

  private async raiseAlarm(appId: string, cred: CredentialRecord, data: DeliverBatchJobData, alarm: string): Promise<void> {
    await this.d.credentials.raiseAlarm(appId, cred.id, alarm);
    this.d.logger.error({ msg: 'credential alarm', appId, credentialId: cred.id, provider: data.provider, reason: alarm });
    this.d.observers.emit('credentialAlarm', { appId, credentialId: cred.id, provider: data.provider, reason: alarm });
    this.credCache.delete(cred.id);
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
