import type { ProviderName } from '@app/providers';

export interface Receipt {
  provider: ProviderName;
  /** The simulated device: APNs token, FCM token, WNS channel id, Web Push subscription id. */
  device: string;
  at: number;
  headers: Record<string, string>;
  /** What the device received (decoded JSON, XML text, or decrypted Web Push plaintext). */
  payload: unknown;
}

export interface Injection {
  status: number;
  /** Provider reason (APNs `reason`, FCM errorCode/status, WNS error description). */
  reason?: string;
  retryAfter?: number;
  /** How many requests this injection answers (default 1). */
  times?: number;
  /** APNs: close the session with GOAWAY instead of answering. */
  goaway?: boolean;
  /** Hold the request this many ms before answering (stalls, timeouts). */
  stallMs?: number;
}

/**
 * What every stand-in shares: receipts per simulated device, totals per provider and
 * per-device error injection. With `countOnly` (benchmarks of a million devices) only
 * totals are kept, so the sandbox's memory stays flat. Otherwise each device's receipts
 * (the last `perDeviceLimit`) and how many it received in all: one Map entry per device,
 * so a fault suite can read every device's count (duplicates) in one call at 40,000.
 */
export class ReceiptStore {
  private readonly receipts = new Map<string, Receipt[]>();
  /** provider → device → receipts in all (not capped like the lists). */
  private readonly counts = new Map<ProviderName, Map<string, number>>();
  private readonly injections = new Map<string, Injection[]>();
  private readonly totals: Record<string, number> = { apns: 0, fcm: 0, wns: 0, webpush: 0 };
  private readonly rejected: Record<string, number> = { apns: 0, fcm: 0, wns: 0, webpush: 0 };
  private firstAt: number | null = null;
  private lastAt: number | null = null;

  constructor(private readonly opts: { countOnly: boolean; perDeviceLimit: number }) {}

  record(r: Receipt): void {
    this.totals[r.provider] += 1;
    this.firstAt ??= r.at;
    this.lastAt = r.at;
    if (this.opts.countOnly) return;
    let perDevice = this.counts.get(r.provider);
    if (!perDevice) this.counts.set(r.provider, (perDevice = new Map()));
    perDevice.set(r.device, (perDevice.get(r.device) ?? 0) + 1);
    const key = `${r.provider}:${r.device}`;
    const list = this.receipts.get(key) ?? [];
    list.push(r);
    if (list.length > this.opts.perDeviceLimit) list.shift();
    this.receipts.set(key, list);
  }

  countRejected(provider: ProviderName): void {
    this.rejected[provider] += 1;
  }

  forDevice(provider: ProviderName, device: string): Receipt[] {
    return this.receipts.get(`${provider}:${device}`) ?? [];
  }

  /** How many receipts each device got (not kept with `countOnly`). */
  deviceCounts(provider?: ProviderName): Partial<Record<ProviderName, Record<string, number>>> {
    const out: Partial<Record<ProviderName, Record<string, number>>> = {};
    for (const [p, perDevice] of this.counts) if (!provider || p === provider) out[p] = Object.fromEntries(perDevice);
    return out;
  }

  recent(limit: number, provider?: ProviderName): Receipt[] {
    const all: Receipt[] = [];
    for (const list of this.receipts.values()) for (const r of list) if (!provider || r.provider === provider) all.push(r);
    return all.sort((a, b) => b.at - a.at).slice(0, limit);
  }

  stats() {
    return { delivered: { ...this.totals }, rejected: { ...this.rejected }, firstAt: this.firstAt, lastAt: this.lastAt };
  }

  reset(): void {
    this.receipts.clear();
    this.counts.clear();
    this.injections.clear();
    for (const k of Object.keys(this.totals)) this.totals[k] = 0;
    for (const k of Object.keys(this.rejected)) this.rejected[k] = 0;
    this.firstAt = this.lastAt = null;
  }

  inject(provider: ProviderName, device: string, inj: Injection): void {
    const key = `${provider}:${device}`;
    const list = this.injections.get(key) ?? [];
    list.push({ ...inj, times: inj.times ?? 1 });
    this.injections.set(key, list);
  }

  /** The injection that answers this request, if any (consumed). */
  takeInjection(provider: ProviderName, device: string): Injection | null {
    const key = `${provider}:${device}`;
    const list = this.injections.get(key);
    if (!list || list.length === 0) return null;
    const inj = list[0];
    inj.times = (inj.times ?? 1) - 1;
    if (inj.times <= 0) list.shift();
    if (list.length === 0) this.injections.delete(key);
    return inj;
  }
}
