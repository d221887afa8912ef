import type { PipelineMetrics } from '@app/observability';
import type { PipelineObserver } from '../pipeline-observer';

/** Turns pipeline events into Prometheus counters and histograms. Counts and returns. */
export class MetricsObserver implements PipelineObserver {
  constructor(
    private readonly m: PipelineMetrics,
    private readonly now: () => number = Date.now,
  ) {}

  batchCompleted(e: Parameters<NonNullable<PipelineObserver['batchCompleted']>>[0]): void {
    const provider = e.provider;
    const byOutcome = new Map<string, number>();
    for (const r of e.rows) byOutcome.set(r.status, (byOutcome.get(r.status) ?? 0) + 1);
    for (const [outcome, n] of byOutcome) this.m.deliveries.inc({ provider, outcome }, n);
    const retrying = byOutcome.get('pending_retry') ?? 0;
    if (retrying) this.m.retries.inc({ provider }, retrying);
    // An expired batch never reached the provider: it has no latency to report.
    if (e.providerLatencyMs > 0 || e.rows.some((r) => r.status !== 'expired')) {
      this.m.providerLatency.observe({ provider }, e.providerLatencyMs / 1000);
    }
    const delivered = byOutcome.get('delivered') ?? 0;
    if (delivered && e.acceptedAt) {
      const seconds = Math.max(0, this.now() - e.acceptedAt) / 1000;
      for (let i = 0; i < delivered; i++) this.m.acceptToDelivery.observe({ provider }, seconds);
    }
  }

  devicesInvalidated(e: Parameters<NonNullable<PipelineObserver['devicesInvalidated']>>[0]): void {
    this.m.invalidTokens.inc({ provider: e.provider }, e.devices.length);
  }

  credentialAlarm(e: Parameters<NonNullable<PipelineObserver['credentialAlarm']>>[0]): void {
    this.m.credentialAlarms.inc({ provider: e.provider });
  }

  circuitChanged(e: Parameters<NonNullable<PipelineObserver['circuitChanged']>>[0]): void {
    this.m.circuitTransitions.inc({ provider: e.provider, state: e.state });
  }

  fanoutProgress(e: Parameters<NonNullable<PipelineObserver['fanoutProgress']>>[0]): void {
    this.m.fanoutDevices.inc(e.added);
  }

  notificationCompleted(e: Parameters<NonNullable<PipelineObserver['notificationCompleted']>>[0]): void {
    this.m.notificationsCompleted.inc({ status: e.notification.status });
  }
}
