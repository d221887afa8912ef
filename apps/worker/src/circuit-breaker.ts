import type { LoggerService } from '@nestjs/common';
import type { CircuitKey, CircuitRepository } from '@app/db';
import type { DeliveryOutcome, ProviderName } from '@app/providers';
import type { ObserverList } from './pipeline-observer';

export interface CircuitOptions {
  /** Requests seen in the window before the ratio means anything. */
  minRequests: number;
  /** Share of requests that failed with the service unavailable (5xx, timeout, connection) that opens the circuit. */
  failureRatio: number;
  windowMs: number;
  /** While open: one probe request per this interval, across every worker. */
  probeIntervalMs: number;
}

/** How long a worker trusts its last read of a circuit's shared state. */
const STATE_CACHE_MS = 250;

/**
 * A circuit breaker per push-service endpoint and credential (Envoy's outlier detection,
 * Hystrix's half-open probe). Each worker counts the answers it gets in a short window;
 * when most of them, or the last `minRequests` in a row, say the service is unavailable
 * it opens the circuit in the shared
 * state (PostgreSQL: the one store every worker process shares on both queue backends).
 * While it is open nothing is sent to that endpoint with that credential: the work is held
 * in the ledger, and one request at a time (per `probeIntervalMs`, across every worker)
 * probes it. The first probe that gets a real answer closes the circuit.
 * A storm of 429s opens it too: honouring each device's Retry-After alone would still
 * send the whole backlog again every few seconds; per-channel throttling (406) does not.
 */
export class CircuitBreaker {
  private readonly cache = new Map<string, { at: number; open: boolean }>();
  private readonly windows = new Map<string, { start: number; total: number; failed: number; consecutive: number; reason: string }>();
  /** When this worker last saw each circuit close: answers to requests sent before that say nothing new. */
  private readonly closedAt = new Map<string, number>();

  constructor(
    private readonly repo: CircuitRepository,
    private readonly opts: CircuitOptions,
    private readonly observers: ObserverList,
    private readonly logger: LoggerService,
  ) {}

  /** The endpoint a device's requests go to: the URL host for WNS and Web Push, the service itself otherwise. */
  static endpoint(provider: ProviderName, token: string): string {
    if (provider === 'wns' || provider === 'webpush') {
      try {
        return new URL(token).host;
      } catch {
        return provider;
      }
    }
    return provider;
  }

  static key(appId: string, provider: ProviderName, credentialId: string, endpoint: string): CircuitKey {
    return { key: `${provider}:${credentialId}:${endpoint}`, appId, provider, credentialId, endpoint };
  }

  /** Whether the circuit is open (state read at most every 250 ms; an unreadable state counts as closed). */
  async isOpen(k: CircuitKey): Promise<boolean> {
    const hit = this.cache.get(k.key);
    if (hit && Date.now() - hit.at < STATE_CACHE_MS) return hit.open;
    let open = false;
    try {
      open = (await this.repo.get(k.key)).state === 'open';
    } catch {
      open = hit?.open ?? false;
    }
    this.cache.set(k.key, { at: Date.now(), open });
    return open;
  }

  /** The right to send one probe now, once per probe interval across every worker. */
  async takeProbe(k: CircuitKey): Promise<boolean> {
    try {
      return await this.repo.takeProbe(k.key, this.opts.probeIntervalMs);
    } catch {
      return false;
    }
  }

  /**
   * Counts answers to requests sent at `sentAt`. Returns at once whether the circuit is
   * open now, so a caller can stop starting requests before the next one leaves; opening
   * it in the shared state (and reporting that, once) happens in the background.
   */
  record(k: CircuitKey, outcomes: DeliveryOutcome[], sentAt: number): boolean {
    if (sentAt < (this.closedAt.get(k.key) ?? 0)) return false;
    const now = Date.now();
    let w = this.windows.get(k.key);
    if (!w || now - w.start > this.opts.windowMs) this.windows.set(k.key, (w = { start: now, total: 0, failed: 0, consecutive: w?.consecutive ?? 0, reason: '' }));
    for (const o of outcomes) {
      w.total++;
      if (o.kind === 'retry' && (o.unavailable || o.throttled)) {
        w.failed++;
        w.consecutive++;
        w.reason = o.reason;
      } else {
        w.consecutive = 0;
      }
    }
    // most of the window failed, or the last minRequests answers in a row did (a service
    // that just went down, after a window of successes: Envoy's consecutive-5xx detection)
    const ratioTripped = w.total >= this.opts.minRequests && w.failed / w.total >= this.opts.failureRatio;
    if (!ratioTripped && w.consecutive < this.opts.minRequests) return this.cache.get(k.key)?.open === true;
    const reason = ratioTripped ? `${w.failed} of ${w.total} requests failed (last: ${w.reason})` : `${w.consecutive} requests in a row failed (last: ${w.reason})`;
    this.windows.delete(k.key);
    this.cache.set(k.key, { at: now, open: true });
    void this.repo.open(k, reason, this.opts.probeIntervalMs).then((opened) => {
      if (!opened) return;
      this.logger.warn({ msg: 'circuit opened: holding deliveries', provider: k.provider, credentialId: k.credentialId, host: k.endpoint, reason });
      this.observers.emit('circuitChanged', { ...k, provider: k.provider as ProviderName, state: 'open', reason });
    }, (err: Error) => this.logger.warn({ msg: 'circuit state not written', error: err.message }));
    return true;
  }

  /** A probe got a real answer: close the circuit. */
  async probeSucceeded(k: CircuitKey): Promise<void> {
    this.windows.delete(k.key);
    this.closedAt.set(k.key, Date.now());
    this.cache.set(k.key, { at: Date.now(), open: false });
    if (await this.repo.close(k.key)) {
      this.logger.warn({ msg: 'circuit closed: resuming deliveries', provider: k.provider, credentialId: k.credentialId, host: k.endpoint });
      this.observers.emit('circuitChanged', { ...k, provider: k.provider as ProviderName, state: 'closed', reason: null });
    }
  }
}
