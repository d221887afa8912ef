import { PROVIDERS, type ProviderName } from '@app/providers';

/** Push requests one credential sent in one second. */
export interface SecondCount {
  /** Epoch seconds. */
  second: number;
  provider: ProviderName;
  /** Who sent it, as the stand-in can tell: APNs team/key id, FCM project, WNS client id, Web Push VAPID key. */
  credential: string;
  requests: number;
}

export interface TrafficSnapshot {
  at: number;
  /** Push requests received and not yet finished (answered, reset or given up by the client). */
  inFlight: Record<ProviderName, number>;
  /** Push requests answered in the `windowMs` before `at`. */
  answeredInWindow: Record<ProviderName, number>;
  windowMs: number;
  totals: { requests: Record<ProviderName, number>; answered: Record<ProviderName, number> };
}

const zero = (): Record<ProviderName, number> => Object.fromEntries(PROVIDERS.map((p) => [p, 0])) as Record<ProviderName, number>;
/** Per-second counts kept this long (a fault suite's longest scenario is well under it). */
const KEEP_SECONDS = 2 * 3600;
/** Answers are counted in buckets of this many ms, kept for KEEP_ANSWER_MS. */
const ANSWER_BUCKET_MS = 100;
const KEEP_ANSWER_MS = 10 * 60_000;

/** Drops the oldest entries of a Map whose keys were inserted in increasing order. */
function trim<V>(m: Map<number, V>, below: number): void {
  for (const k of m.keys()) {
    if (k >= below) return;
    m.delete(k);
  }
}

/**
 * Counts push requests as the stand-ins receive them: per second and credential (what a
 * fault suite reports as requests/s during an outage), requests in flight (received, not
 * finished) and answers per 100 ms (the suite's bound on duplicates after a worker is
 * killed: what was in flight or just answered cannot be known to the dead worker).
 * Memory is bounded by time (2 h of seconds), not by traffic.
 */
export class TrafficMeter {
  private readonly seconds = new Map<number, Map<string, number>>();
  private readonly answers = new Map<number, Record<ProviderName, number>>();
  private inFlight = zero();
  private requests = zero();
  private answered = zero();

  /**
   * A push request arrived. Call the returned function once it is finished (it may be
   * called more than once; only the first call counts): `answered` says whether an
   * answer was sent (false: reset, or the client gave up on a hung request).
   */
  begin(provider: ProviderName, credential: string, now = Date.now()): (answered: boolean) => void {
    const second = Math.floor(now / 1000);
    let bucket = this.seconds.get(second);
    if (!bucket) {
      this.seconds.set(second, (bucket = new Map()));
      trim(this.seconds, second - KEEP_SECONDS);
    }
    const key = `${provider}\u0000${credential}`;
    bucket.set(key, (bucket.get(key) ?? 0) + 1);
    this.requests[provider] += 1;
    this.inFlight[provider] += 1;
    let done = false;
    return (answered: boolean) => {
      if (done) return;
      done = true;
      this.inFlight[provider] -= 1;
      if (!answered) return;
      this.answered[provider] += 1;
      const t = Math.floor(Date.now() / ANSWER_BUCKET_MS);
      let a = this.answers.get(t);
      if (!a) {
        this.answers.set(t, (a = zero()));
        trim(this.answers, t - KEEP_ANSWER_MS / ANSWER_BUCKET_MS);
      }
      a[provider] += 1;
    };
  }

  snapshot(windowMs = 1000, now = Date.now()): TrafficSnapshot {
    const answeredInWindow = zero();
    const from = Math.floor((now - windowMs) / ANSWER_BUCKET_MS);
    for (const [t, counts] of this.answers) {
      if (t < from) continue;
      for (const p of PROVIDERS) answeredInWindow[p] += counts[p];
    }
    return {
      at: now, inFlight: { ...this.inFlight }, answeredInWindow, windowMs,
      totals: { requests: { ...this.requests }, answered: { ...this.answered } },
    };
  }

  /** Requests per second and credential in [fromMs, toMs). */
  perSecond(fromMs: number, toMs: number): SecondCount[] {
    const out: SecondCount[] = [];
    const from = Math.floor(fromMs / 1000);
    const to = Math.ceil(toMs / 1000);
    for (const [second, bucket] of this.seconds) {
      if (second < from || second >= to) continue;
      for (const [key, requests] of bucket) {
        const [provider, credential] = key.split('\u0000');
        out.push({ second, provider: provider as ProviderName, credential, requests });
      }
    }
    return out;
  }

  reset(): void {
    this.seconds.clear();
    this.answers.clear();
    this.requests = zero();
    this.answered = zero();
    // requests still in flight finish later and decrement: keep their count
  }
}
