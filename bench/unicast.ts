import { Agent, request } from 'node:http';
import type { BenchApp } from './devices';
import { BENCH_CONTENT, waitForReceipts } from './fanout';
import { http, sandboxReset, type BenchStack } from './stack';
import { loadAvg, log, percentile, pool, round, rssSampler } from './util';

export interface UnicastStep {
  targetRate: number;
  /** The worker was frozen (SIGSTOP) while the requests ran: the API and its stores alone. */
  workerPaused: boolean;
  durationS: number;
  sent: number;
  accepted: number;
  errors: Record<string, number>;
  acceptedPerSecond: number;
  apiP50Ms: number;
  apiP99Ms: number;
  apiMaxMs: number;
  delivered: number;
  deliveryMatched: number;
  acceptToDeliveryP50Ms: number;
  acceptToDeliveryP99Ms: number;
  load: string;
  rssPeakMb: Record<string, number>;
}

const SEQ = /BSEQ(\d+)Q/g;

/**
 * Open-loop load: requests start on a fixed schedule whatever the answers do (no
 * coordinated omission: latency is measured from the scheduled start). Each request
 * targets one device (deviceIds: [id]) and carries a sequence marker in `data`, so the
 * sandbox receipt can be matched to the API's acceptedAt.
 */
export async function unicastStep(stack: BenchStack, app: BenchApp, rate: number, durationS: number, pool0: number, opts: { pauseWorker?: boolean } = {}): Promise<UnicastStep> {
  await sandboxReset(stack.controlUrl);
  const workerPid = stack.procs.worker.pid;
  if (opts.pauseWorker) process.kill(workerPid, 'SIGSTOP');
  const devices = app.devices.slice(0, pool0);
  const url = new URL(`${stack.apiUrl}/v1/notifications`);
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const total = Math.round(rate * durationS);
  const latencies: number[] = [];
  const acceptedAt = new Map<number, number>();
  const errors: Record<string, number> = {};
  const rss = rssSampler({ api: stack.procs.api.pid, worker: stack.procs.worker.pid });
  const t0 = performance.now() + 50;
  const epoch0 = Date.now() + 50;
  let done = 0;
  await new Promise<void>((resolve) => {
    const fire = (i: number) => {
      const scheduled = t0 + (i * 1000) / rate;
      let settled = false;
      const settle = () => {
        if (settled) return;
        settled = true;
        if (++done === total) resolve();
      };
      const body = JSON.stringify({
        targets: { deviceIds: [devices[i % devices.length].id] }, title: BENCH_CONTENT.title, body: BENCH_CONTENT.body,
        data: { seq: `BSEQ${i}Q` }, ttlSeconds: 3600,
      });
      const req = request({
        host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent,
        headers: { authorization: `Bearer ${app.sendKey}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          latencies.push(performance.now() - scheduled);
          if (res.statusCode === 202) {
            const b = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { acceptedAt: string };
            acceptedAt.set(i, Date.parse(b.acceptedAt));
          } else {
            errors[String(res.statusCode)] = (errors[String(res.statusCode)] ?? 0) + 1;
          }
          settle();
        });
      });
      req.on('error', (e) => {
        if (!settled) errors[e.message] = (errors[e.message] ?? 0) + 1;
        settle();
      });
      req.end(body);
    };
    // A timer every few ms fires every request whose time has come.
    let next = 0;
    const tick = setInterval(() => {
      const now = performance.now();
      while (next < total && t0 + (next * 1000) / rate <= now) fire(next++);
      if (next >= total) clearInterval(tick);
    }, 2);
  });
  const elapsedS = (Date.now() - epoch0) / 1000;
  agent.destroy();
  if (opts.pauseWorker) process.kill(workerPid, 'SIGCONT'); // the backlog drains now; its lag says nothing, so it is not reported
  const accepted = acceptedAt.size;
  const s = await waitForReceipts(stack.controlUrl, accepted, 120_000, 15_000);
  const mem = rss.stop();
  // receipts per device (the sandbox keeps the last 50 per device)
  const lags: number[] = [];
  await pool(devices, 16, async (d) => {
    const r = await http<{ receipts: Array<{ at: number; payload: unknown }> }>('GET', `${stack.controlUrl}/receipts?provider=${d.provider}&device=${encodeURIComponent(sandboxDeviceId(d.provider, d.token))}`);
    for (const rec of r.body.receipts ?? []) {
      for (const m of JSON.stringify(rec.payload).matchAll(SEQ)) {
        const at = acceptedAt.get(Number(m[1]));
        if (at !== undefined) lags.push(rec.at - at);
      }
    }
  });
  const delivered = Object.values(s.delivered).reduce((a, b) => a + b, 0);
  const step: UnicastStep = {
    targetRate: rate, workerPaused: Boolean(opts.pauseWorker), durationS, sent: total, accepted, errors,
    acceptedPerSecond: round(accepted / Math.max(durationS, elapsedS)),
    apiP50Ms: round(percentile(latencies, 50), 1), apiP99Ms: round(percentile(latencies, 99), 1), apiMaxMs: round(Math.max(...latencies), 1),
    delivered, deliveryMatched: lags.length,
    acceptToDeliveryP50Ms: opts.pauseWorker ? NaN : round(percentile(lags, 50), 1), acceptToDeliveryP99Ms: opts.pauseWorker ? NaN : round(percentile(lags, 99), 1),
    load: loadAvg(), rssPeakMb: mem.peak,
  };
  log(`unicast ${rate}/s${opts.pauseWorker ? ' (worker paused)' : ''}: accepted ${step.acceptedPerSecond}/s, api p50 ${step.apiP50Ms} p99 ${step.apiP99Ms} ms, delivery p50 ${step.acceptToDeliveryP50Ms} p99 ${step.acceptToDeliveryP99Ms} ms (${lags.length}/${accepted} matched)`);
  return step;
}

/** The id the sandbox records a device under (receipts' `device`). */
export function sandboxDeviceId(provider: string, token: string): string {
  if (provider === 'webpush') return token.split('/').pop() as string;
  if (provider === 'wns') return new URL(token).searchParams.get('token') as string;
  return token;
}
