import type { ApnsEnvironment, CanonicalNotification, ProviderName } from '@app/providers';
import { JobName, QueueName } from './queue-names';
import { INFRA_ATTEMPTS } from './retry-policy';

/** Fan-out: one per notification; the notification itself travels in the job. */
export interface FanoutJobData {
  notificationId: string;
  appId: string;
}

/** Options of a notification's job (fan-out or direct): its id is the notification id. */
export function notificationJobOptions(notificationId: string, delayMs?: number) {
  return { jobId: notificationId, delay: delayMs, ...infraRetryOptions() };
}

/** BullMQ attempts for infrastructure failures (database, Redis, sockets): see retry-policy.ts. */
export function infraRetryOptions() {
  return { attempts: INFRA_ATTEMPTS, backoff: { type: 'infra' as const } };
}

export interface BatchDevice {
  id: string;
  token: string;
  tokenData?: Record<string, string> | null;
  environment?: ApnsEnvironment | null;
}

/**
 * Delivery: hundreds of devices of one provider and credential. On "retry later" the
 * job's data is narrowed to the devices still pending and it is delayed, so devices
 * already delivered are never sent again.
 */
export interface DeliverBatchJobData {
  notificationId: string;
  appId: string;
  provider: ProviderName;
  credentialId: string;
  notification: CanonicalNotification;
  devices: BatchDevice[];
  /** Attempts made so far for these devices (0 on the first run). */
  attempt: number;
  /**
   * The ledger row (delivery_batches) this job works for, and the generation it owns;
   * null on the direct path's first try, which has no row. A job whose generation was
   * superseded (the recovery sweep re-drove the batch) does nothing.
   */
  batchId: string | null;
  generation: number | null;
}

/**
 * One event to one webhook endpoint. The event travels in the job (no read before
 * sending); the endpoint's URL and secret are read at send time, so a deleted or
 * disabled endpoint is skipped. deliveryId is the X-Gateway-Delivery header, the same
 * on every retry of the job.
 */
export interface WebhookJobData {
  appId: string;
  webhookId: string;
  deliveryId: string;
  event: { id: string; type: string; createdAt: string; data: Record<string, unknown> };
}

/** Every job the system knows, as {queue, name, data}: no payload is `any`. */
export type JobSpec =
  | { queue: typeof QueueName.Fanout | typeof QueueName.Direct; name: typeof JobName.FanoutNotification; data: FanoutJobData }
  | { queue: Exclude<QueueName, typeof QueueName.Fanout | typeof QueueName.Direct | typeof QueueName.Webhooks>; name: typeof JobName.DeliverBatch; data: DeliverBatchJobData }
  | { queue: typeof QueueName.Webhooks; name: typeof JobName.WebhookDeliver; data: WebhookJobData };

export type JobDataOf<N extends JobName> = Extract<JobSpec, { name: N }>['data'];

/** The job names a queue carries, from JobSpec. */
export type JobNameOn<Q extends QueueName> = JobSpec extends infer S ? (S extends { queue: infer SQ; name: infer N } ? (Q extends SQ ? N : never) : never) : never;

/** Every queue's job names, checked against JobSpec: the worker's start-up routing check compares each queue's processor with it. */
export const QUEUE_JOBS: { readonly [Q in QueueName]: readonly JobNameOn<Q>[] } = Object.freeze({
  [QueueName.Fanout]: [JobName.FanoutNotification],
  [QueueName.Direct]: [JobName.FanoutNotification],
  [QueueName.DeliverApns]: [JobName.DeliverBatch],
  [QueueName.DeliverFcm]: [JobName.DeliverBatch],
  [QueueName.DeliverWns]: [JobName.DeliverBatch],
  [QueueName.DeliverWebpush]: [JobName.DeliverBatch],
  [QueueName.Webhooks]: [JobName.WebhookDeliver],
});
