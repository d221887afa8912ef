import type { ProviderName } from '@app/providers';
import type { SecondCount, TrafficSnapshot } from '@app/sandbox';
import { http } from '../stack';
import { sleep } from '../util';

/** What the API says about the notification (GET /v1/notifications/:id). */
export interface NotificationView {
  status: string;
  counts: { targeted: number; delivered: number; failed: number; invalidTokens: number; expired: number; pendingRetry: number };
}

export const FINAL_STATUSES = ['completed', 'partially_failed', 'failed', 'expired'];

export interface DeviceOutcome {
  outcome: string;
  reason: string | null;
}

/** The device as the sandbox names it: APNs/FCM token, Web Push subscription id, WNS channel id. */
export function sandboxKey(provider: ProviderName, token: string): string {
  switch (provider) {
    case 'webpush':
      return new URL(token).pathname.split('/').pop() ?? token;
    case 'wns':
      return new URL(token).searchParams.get('token') ?? token;
    default:
      return token;
  }
}

/** GET with retries for a bounded time: during a PostgreSQL outage the API answers 5xx or not at all. */
export async function getJson<T>(url: string, headers: Record<string, string>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const r = await http<T>('GET', url, undefined, headers);
      if (r.status === 200) return r.body;
      last = `${r.status} ${JSON.stringify(r.body).slice(0, 200)}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(500);
  }
  throw new Error(`GET ${url}: ${last}`);
}

/** Every delivery row of the notification, through the API (keyset pages of 1,000). */
export async function fetchDeliveries(apiUrl: string, sendKey: string, id: string, devices: number): Promise<Map<string, DeviceOutcome>> {
  const out = new Map<string, DeviceOutcome>();
  const auth = { authorization: `Bearer ${sendKey}` };
  let cursor: string | null = null;
  for (let page = 0; page < Math.ceil(devices / 1000) + 2; page++) {
    const q: string = cursor ? `&cursor=${cursor}` : '';
    const body: { data: Array<{ deviceId: string; outcome: string; reason: string | null }>; nextCursor: string | null } =
      await getJson(`${apiUrl}/v1/notifications/${id}/deliveries?limit=1000${q}`, auth);
    for (const r of body.data) out.set(r.deviceId, { outcome: r.outcome, reason: r.reason });
    cursor = body.nextCursor;
    if (!cursor) break;
  }
  return out;
}

export type ReceiptCounts = Partial<Record<ProviderName, Record<string, number>>>;

export async function fetchReceiptCounts(controlUrl: string): Promise<ReceiptCounts> {
  return (await getJson<{ counts: ReceiptCounts }>(`${controlUrl}/receipts/counts`, {})).counts;
}

export interface Accounting {
  /** Devices the notification was sent to (all the app's devices). */
  sent: number;
  /** Distinct devices with at least one receipt. */
  received: number;
  /** Neither a receipt nor a final non-delivered outcome with a reason; or recorded delivered without a receipt. */
  lost: number;
  /** Of `lost`: recorded delivered, never received. */
  deliveredNoReceipt: number;
  /** Receipts beyond one per device. */
  duplicated: number;
  /** Devices with the most receipts. */
  maxPerDevice: number;
  /** Final failed/expired outcome although every device could be delivered and the fault was temporary. */
  gaveUp: number;
  /** Received, but the ledger says otherwise (not delivered, or no row). */
  receivedNotRecorded: number;
  outcomes: Record<string, number>;
  /** The most frequent reasons of non-delivered outcomes. */
  reasons: Record<string, number>;
  /** Final status with counts that match the receipts and the delivery rows. */
  trueCounts: boolean;
  mismatches: string[];
}

const NOT_DELIVERED = ['failed', 'invalid_token', 'expired'];

export function account(
  devices: Array<{ id: string; provider: ProviderName; token: string }>, receipts: ReceiptCounts, rows: Map<string, DeviceOutcome>, view: NotificationView,
): Accounting {
  const a: Accounting = {
    sent: devices.length, received: 0, lost: 0, deliveredNoReceipt: 0, duplicated: 0, maxPerDevice: 0, gaveUp: 0, receivedNotRecorded: 0,
    outcomes: {}, reasons: {}, trueCounts: false, mismatches: [],
  };
  for (const d of devices) {
    const n = receipts[d.provider]?.[sandboxKey(d.provider, d.token)] ?? 0;
    const row = rows.get(d.id);
    const outcome = row?.outcome ?? 'none';
    a.outcomes[outcome] = (a.outcomes[outcome] ?? 0) + 1;
    a.maxPerDevice = Math.max(a.maxPerDevice, n);
    if (n > 0) {
      a.received += 1;
      a.duplicated += n - 1;
      if (outcome !== 'delivered') a.receivedNotRecorded += 1;
      continue;
    }
    if (outcome === 'delivered') {
      a.lost += 1;
      a.deliveredNoReceipt += 1;
    } else if (NOT_DELIVERED.includes(outcome) && row?.reason) {
      a.gaveUp += 1;
      const reason = row.reason.slice(0, 80);
      a.reasons[reason] = (a.reasons[reason] ?? 0) + 1;
    } else {
      a.lost += 1;
    }
  }
  const c = view.counts;
  const delivered = a.outcomes.delivered ?? 0;
  const check = (ok: boolean, what: string) => ok || a.mismatches.push(what);
  check(FINAL_STATUSES.includes(view.status), `status ${view.status} is not final`);
  check(c.targeted === a.sent, `targeted ${c.targeted} ≠ ${a.sent} devices`);
  check(c.delivered === a.received, `delivered ${c.delivered} ≠ ${a.received} devices received`);
  check(c.delivered === delivered, `delivered ${c.delivered} ≠ ${delivered} delivery rows`);
  check(c.delivered + c.failed + c.invalidTokens + c.expired === a.sent, `delivered + failed + invalid + expired = ${c.delivered + c.failed + c.invalidTokens + c.expired} ≠ ${a.sent}`);
  check(c.pendingRetry === 0, `pendingRetry ${c.pendingRetry}`);
  check(a.receivedNotRecorded === 0, `${a.receivedNotRecorded} devices received but not recorded delivered`);
  check(a.deliveredNoReceipt === 0, `${a.deliveredNoReceipt} devices recorded delivered, never received`);
  a.trueCounts = a.mismatches.length === 0;
  a.reasons = Object.fromEntries(Object.entries(a.reasons).sort((x, y) => y[1] - x[1]).slice(0, 5));
  return a;
}

/**
 * Duplicates a fault may cost, per fault moment: the requests in flight at the sandbox
 * (received, not answered) plus those answered in the `windowMs` before it (an answer
 * the worker may not have written yet). Summed over the moments (two kills: two terms).
 */
export function duplicateBound(snapshots: TrafficSnapshot[]): number {
  let n = 0;
  for (const s of snapshots) for (const p of Object.keys(s.inFlight) as ProviderName[]) n += s.inFlight[p] + s.answeredInWindow[p];
  return n;
}

export interface CredentialRate {
  provider: ProviderName;
  credential: string;
  requests: number;
  seconds: number;
  perSecond: number;
  peakSecond: number;
}

/** Requests per second of each credential over the whole seconds within [from, to) (per provider: from may differ). */
export function outageRates(counts: SecondCount[], windows: Partial<Record<ProviderName, { from: number; to: number }>>): CredentialRate[] {
  const by = new Map<string, CredentialRate>();
  for (const c of counts) {
    const w = windows[c.provider];
    // whole one-second buckets inside the window only: the bucket the fault ends in also
    // holds the traffic of the recovery after it (the sandbox counts per wall-clock second)
    if (!w || c.second * 1000 < w.from || (c.second + 1) * 1000 > w.to) continue;
    const key = `${c.provider} ${c.credential}`;
    const seconds = Math.max(1, Math.floor(w.to / 1000) - Math.ceil(w.from / 1000));
    const r = by.get(key) ?? { provider: c.provider, credential: c.credential, requests: 0, seconds, perSecond: 0, peakSecond: 0 };
    r.requests += c.requests;
    r.peakSecond = Math.max(r.peakSecond, c.requests);
    r.perSecond = Math.round((r.requests / seconds) * 100) / 100;
    by.set(key, r);
  }
  return [...by.values()];
}
