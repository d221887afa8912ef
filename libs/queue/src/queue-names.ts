import type { ProviderName } from '@app/providers';

/**
 * Queue and job names. NEVER RENAME: they are stored in Redis / PostgreSQL, and a
 * rename strands every job already queued under the old name.
 */
export const QueueName = Object.freeze({
  Fanout: 'fanout',
  /** Notifications with a few explicit targets: resolved and sent in one job, no fan-out hop. */
  Direct: 'direct',
  DeliverApns: 'deliver-apns',
  DeliverFcm: 'deliver-fcm',
  DeliverWns: 'deliver-wns',
  DeliverWebpush: 'deliver-webpush',
  Webhooks: 'webhooks',
} as const);
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

export const JobName = Object.freeze({
  FanoutNotification: 'fanout.notification',
  DeliverBatch: 'deliver.batch',
  WebhookDeliver: 'webhook.deliver',
} as const);
export type JobName = (typeof JobName)[keyof typeof JobName];

export const DELIVERY_QUEUES: Record<ProviderName, QueueName> = Object.freeze({
  apns: QueueName.DeliverApns,
  fcm: QueueName.DeliverFcm,
  wns: QueueName.DeliverWns,
  webpush: QueueName.DeliverWebpush,
});

export const ALL_QUEUES: QueueName[] = Object.values(QueueName);

/** The queues that carry a notification's own job (job id = notification id). */
export const NOTIFICATION_QUEUES = [QueueName.Fanout, QueueName.Direct] as const;
