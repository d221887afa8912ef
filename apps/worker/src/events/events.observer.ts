import type { PipelineObserver } from '../pipeline-observer';
import type { EventWriter } from './event-writer';

/**
 * delivery.failed and device.invalidated list at most this many devices per event
 * (the default batch size, so normally every device of the batch); `count` is always
 * the full number and `truncated` says when the list was cut. The complete list is
 * GET /v1/notifications/:id/deliveries.
 */
export const MAX_DEVICES_PER_EVENT = 500;

/** The same credential alarm is recorded at most once per this window (per worker process). */
export const ALARM_DEDUP_MS = 60_000;

/**
 * Turns pipeline events into app events (the events table, the SSE stream, webhooks).
 * Every method only hands the event to the EventWriter's buffer: nothing here waits
 * on the database or the queue.
 */
export class EventsObserver implements PipelineObserver {
  private readonly lastAlarm = new Map<string, number>();

  constructor(private readonly writer: EventWriter) {}

  batchCompleted(e: Parameters<NonNullable<PipelineObserver['batchCompleted']>>[0]): void {
    // permanent failures only: retries are not final, expiries are counted in notification.completed
    const failed = e.rows.filter((r) => r.status === 'failed');
    if (failed.length === 0) return;
    this.writer.add({
      appId: e.appId,
      type: 'delivery.failed',
      payload: {
        notificationId: e.notificationId,
        provider: e.provider,
        count: failed.length,
        devices: failed.slice(0, MAX_DEVICES_PER_EVENT).map((r) => ({ deviceId: r.deviceId, reason: r.reason })),
        truncated: failed.length > MAX_DEVICES_PER_EVENT,
      },
    });
  }

  devicesInvalidated(e: Parameters<NonNullable<PipelineObserver['devicesInvalidated']>>[0]): void {
    if (e.devices.length === 0) return;
    this.writer.add({
      appId: e.appId,
      type: 'device.invalidated',
      payload: {
        provider: e.provider,
        count: e.devices.length,
        devices: e.devices.slice(0, MAX_DEVICES_PER_EVENT),
        truncated: e.devices.length > MAX_DEVICES_PER_EVENT,
      },
    });
  }

  credentialAlarm(e: Parameters<NonNullable<PipelineObserver['credentialAlarm']>>[0]): void {
    // every batch that hits a revoked credential raises the alarm: record it once a minute
    const key = `${e.appId}:${e.credentialId}:${e.reason}`;
    const now = Date.now();
    if (now - (this.lastAlarm.get(key) ?? 0) < ALARM_DEDUP_MS) return;
    if (this.lastAlarm.size > 10_000) this.lastAlarm.clear();
    this.lastAlarm.set(key, now);
    this.writer.add({ appId: e.appId, type: 'credential.alarm', payload: { credentialId: e.credentialId, provider: e.provider, reason: e.reason } });
  }

  circuitChanged(e: Parameters<NonNullable<PipelineObserver['circuitChanged']>>[0]): void {
    this.writer.add({
      appId: e.appId,
      type: e.state === 'open' ? 'provider.degraded' : 'provider.recovered',
      payload: { provider: e.provider, credentialId: e.credentialId, endpoint: e.endpoint, ...(e.reason ? { reason: e.reason } : {}) },
    });
  }

  notificationCompleted(e: Parameters<NonNullable<PipelineObserver['notificationCompleted']>>[0]): void {
    const n = e.notification;
    this.writer.add({
      appId: e.appId,
      type: 'notification.completed',
      payload: {
        notificationId: n.id,
        status: n.status,
        counts: n.counts,
        createdAt: n.createdAt,
        startedAt: n.startedAt,
        completedAt: n.completedAt,
      },
    });
  }
}
