import { newId } from '@app/common';
import type { CanonicalNotification, ProviderName, CredentialRecord, DeviceRef, ProviderMap } from '@app/providers';
import type { BenchApp } from './devices';
import { http, sandboxReset, sandboxStats, totalDelivered, totalRejected, type BenchStack } from './stack';
import { chunk, cpuMeter, loadAvg, log, median, pool, round, rssSampler, sleep } from './util';

/** What one timed delivery of N messages produced, as the sandbox counted it. */
export interface DeliveryRun {
  system: string;
  devices: number;
  delivered: number;
  rejected: number;
  /** Deliveries per second from the start (accept / first send call) to the last receipt. */
  perSecond: number;
  /** Deliveries per second between the sandbox's first and last receipt. */
  sandboxPerSecond: number;
  /** Start (accept or first send call) to the last receipt, ms. */
  startToLastMs: number;
  /** Start to the first receipt, ms. */
  startToFirstMs: number;
  load: string;
  rssPeakMb?: Record<string, number>;
  rssStartMb?: Record<string, number>;
  /** CPU µs per delivered message, per process (sandbox, api, worker, bench = this process). */
  cpuUsPerDelivery?: Record<string, number>;
  status?: string;
  extra?: Record<string, unknown>;
}

export const BENCH_CONTENT = {
  title: 'Benchmark',
  body: 'A notification of a typical size, sent by the benchmark to every device of the app.',
  data: { campaign: 'bench', kind: 'fanout' },
  ttlSeconds: 3600,
};

/**
 * Waits until the sandbox has answered `expected` requests (delivered + rejected), or no
 * progress for `idleMs`, or `timeoutMs`. Returns the final stats.
 */
export async function waitForReceipts(controlUrl: string, expected: number, timeoutMs: number, idleMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const s = await sandboxStats(controlUrl);
    const seen = totalDelivered(s) + totalRejected(s);
    if (seen >= expected) return s;
    if (seen !== last) {
      last = seen;
      lastChange = Date.now();
    }
    if (Date.now() > deadline || Date.now() - lastChange > idleMs) {
      log(`stopped waiting: ${seen}/${expected} answered`);
      return s;
    }
    await sleep(expected > 50_000 ? 250 : 100);
  }
}

function summarise(system: string, devices: number, startedAt: number, s: Awaited<ReturnType<typeof sandboxStats>>): DeliveryRun {
  const delivered = totalDelivered(s);
  const first = s.firstAt ?? NaN;
  const lastAt = s.lastAt ?? NaN;
  const startToLastMs = lastAt - startedAt;
  return {
    system, devices, delivered, rejected: totalRejected(s),
    perSecond: round(delivered / (startToLastMs / 1000)),
    sandboxPerSecond: round(delivered / (Math.max(1, lastAt - first) / 1000)),
    startToLastMs: round(startToLastMs), startToFirstMs: round(first - startedAt), load: loadAvg(),
  };
}

/** The gateway: one POST /v1/notifications to {all: true}, timed from its acceptance to the last receipt. */
export async function gatewayFanout(stack: BenchStack, app: BenchApp, timeoutMs: number): Promise<DeliveryRun> {
  await sandboxReset(stack.controlUrl);
  const rss = rssSampler({ api: stack.procs.api.pid, worker: stack.procs.worker.pid });
  const cpu = cpuMeter({ sandbox: stack.procs.sandbox.pid, api: stack.procs.api.pid, worker: stack.procs.worker.pid });
  const n = app.devices.length;
  const res = await http<{ id: string; acceptedAt: string }>('POST', `${stack.apiUrl}/v1/notifications`,
    { targets: { all: true }, ...BENCH_CONTENT }, { authorization: `Bearer ${app.sendKey}` });
  if (res.status !== 202) throw new Error(`send: ${res.status} ${JSON.stringify(res.body)}`);
  const acceptedAt = Date.parse(res.body.acceptedAt);
  const s = await waitForReceipts(stack.controlUrl, n, timeoutMs);
  // the final status (counts written in batches after the last send) — a short wait
  let status = 'unknown';
  for (let i = 0; i < 100; i++) {
    const r = await http<{ status: string }>('GET', `${stack.apiUrl}/v1/notifications/${res.body.id}`, undefined, { authorization: `Bearer ${app.sendKey}` });
    status = r.body.status;
    if (!['queued', 'sending'].includes(status)) break;
    await sleep(200);
  }
  const mem = rss.stop();
  const cpuUsPerDelivery = cpu.perDeliveryUs(totalDelivered(s));
  const deliveriesMs = await deliveryStatusLatency(stack, app, res.body.id);
  log(`delivery status of ${n} devices (median of 5, ms): ${JSON.stringify(deliveriesMs)}`);
  return { ...summarise('gateway', n, acceptedAt, s), rssPeakMb: mem.peak, rssStartMb: mem.start, status, cpuUsPerDelivery, extra: { deliveriesMs } };
}

/**
 * How long GET /v1/notifications/:id/deliveries takes on this notification: the first
 * page of 1,000, a page from the middle (cursor = the median device id), and a filter
 * that matches nothing (outcome=failed). Median of 5 calls each, ms.
 */
async function deliveryStatusLatency(stack: BenchStack, app: BenchApp, id: string): Promise<Record<string, number>> {
  const ids = app.devices.map((d) => d.id).sort();
  const base = `${stack.apiUrl}/v1/notifications/${id}/deliveries`;
  const queries = { firstPage: '?limit=1000', middlePage: `?limit=1000&cursor=${ids[Math.floor(ids.length / 2)]}`, failedOnly: '?limit=100&outcome=failed' };
  const out: Record<string, number> = {};
  for (const [name, q] of Object.entries(queries)) {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const r = await http('GET', base + q, undefined, { authorization: `Bearer ${app.sendKey}` });
      if (r.status !== 200) throw new Error(`deliveries${q}: ${r.status}`);
      times.push(performance.now() - t0);
    }
    out[name] = round(median(times), 1);
  }
  return out;
}

export function canonicalFor(appId: string): CanonicalNotification {
  const now = Date.now();
  return {
    id: newId(), appId, title: BENCH_CONTENT.title, body: BENCH_CONTENT.body, data: BENCH_CONTENT.data,
    ttlSeconds: BENCH_CONTENT.ttlSeconds, priority: 'high', silent: false, acceptedAt: now, expiresAt: now + BENCH_CONTENT.ttlSeconds * 1000,
  };
}

/** A credential record as the worker would hand it to the provider, from the same sandbox credential. */
export function credentialRecord(providers: ProviderMap, p: ProviderName, appId: string, config: Record<string, unknown>): CredentialRecord {
  const norm = providers[p].normalizeCredential(config);
  return { id: newId(), appId, provider: p, name: 'bench-raw', environment: norm.environment ?? null, secret: norm.secret, version: 1 };
}

/**
 * The raw client: the provider module's own send(), called in this process in batches of
 * `batch` with `concurrency` batches in flight — no queue, no database.
 */
export async function rawSend(
  stack: BenchStack, providers: ProviderMap, p: ProviderName, app: BenchApp, devices: DeviceRef[], concurrency: number, batch = 500, timeoutMs = 600_000,
): Promise<DeliveryRun> {
  await sandboxReset(stack.controlUrl);
  const cred = credentialRecord(providers, p, app.appId, app.credentials[p] as Record<string, unknown>);
  // warm the pooled client (token minting, TLS, HTTP/2 settings) as a long-running worker would be
  await providers[p].send(cred, canonicalFor(app.appId), devices.slice(0, 1));
  await sandboxReset(stack.controlUrl);
  const n = canonicalFor(app.appId);
  const cpu = cpuMeter({ sandbox: stack.procs.sandbox.pid });
  const startedAt = Date.now();
  const outcomes: Record<string, number> = {};
  await pool(chunk(devices, batch), concurrency, async (b) => {
    for (const o of await providers[p].send(cred, n, b)) outcomes[o.kind] = (outcomes[o.kind] ?? 0) + 1;
  });
  const s = await waitForReceipts(stack.controlUrl, devices.length, timeoutMs, 10_000);
  return { ...summarise(`raw ${p}.send()`, devices.length, startedAt, s), cpuUsPerDelivery: cpu.perDeliveryUs(totalDelivered(s)), extra: { concurrency, batch, outcomes } };
}

/** Picks the raw client's best batch concurrency on a sample (the machine's practical limit). */
export async function calibrateRaw(stack: BenchStack, providers: ProviderMap, p: ProviderName, app: BenchApp, sample: number): Promise<number> {
  let best = { c: 8, rate: 0 };
  for (const c of [2, 8, 32]) {
    const r = await rawSend(stack, providers, p, app, app.devices.slice(0, sample), c);
    log(`calibrate raw ${p}: concurrency ${c} → ${r.perSecond}/s`);
    if (r.perSecond > best.rate) best = { c, rate: r.perSecond };
  }
  return best.c;
}
