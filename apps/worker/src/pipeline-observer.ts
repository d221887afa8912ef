import type { NotificationView, OutcomeRow } from '@app/db';
import type { ProviderName } from '@app/providers';

/**
 * What the pipeline tells the rest of the system (metrics, webhooks, the event stream)
 * after it has written its results. Observers must not throw and must not block
 * delivery: they queue or count, and return.
 */
export interface PipelineObserver {
  /** A delivery batch finished: its outcome rows (already written) and how long the provider took. */
  batchCompleted?(e: {
    appId: string;
    notificationId: string;
    provider: ProviderName;
    rows: OutcomeRow[];
    providerLatencyMs: number;
    acceptedAt: number;
  }): void | Promise<void>;
  /** Devices were marked invalid. */
  devicesInvalidated?(e: { appId: string; provider: ProviderName; devices: Array<{ deviceId: string; reason: string }> }): void | Promise<void>;
  /** A credential raised an alarm (misconfigured, revoked, wrong app). */
  credentialAlarm?(e: { appId: string; credentialId: string; provider: ProviderName; reason: string }): void | Promise<void>;
  /** The fan-out enqueued another page: `added` devices, `enqueued` so far for this notification. */
  fanoutProgress?(e: { appId: string; notificationId: string; added: number; enqueued: number }): void | Promise<void>;
  /** A push-service endpoint's circuit opened (deliveries held) or closed again; reported once per transition. */
  circuitChanged?(e: { appId: string; provider: ProviderName; credentialId: string; endpoint: string; state: 'open' | 'closed'; reason: string | null }): void | Promise<void>;
  /** The notification reached a final status (exactly once). */
  notificationCompleted?(e: { appId: string; notification: NotificationView }): void | Promise<void>;
}

/** Calls every observer, swallowing (and reporting) their failures: delivery never waits on them. */
export class ObserverList {
  constructor(
    private readonly list: PipelineObserver[],
    private readonly onError: (err: Error) => void,
  ) {}

  emit<K extends keyof PipelineObserver>(event: K, payload: Parameters<NonNullable<PipelineObserver[K]>>[0]): void {
    for (const o of this.list) {
      const fn = o[event] as ((p: typeof payload) => void | Promise<void>) | undefined;
      if (!fn) continue;
      try {
        const r = fn.call(o, payload);
        if (r && typeof (r as Promise<void>).catch === 'function') (r as Promise<void>).catch(this.onError);
      } catch (err) {
        this.onError(err as Error);
      }
    }
  }
}
