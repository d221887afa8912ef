import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import type { ProviderName, DeviceRef } from '@app/providers';
import type { BenchApp } from './devices';
import { BENCH_CONTENT, waitForReceipts, type DeliveryRun } from './fanout';
import { sandboxReset, type BenchStack } from './stack';
import { chunk, cpuMeter, loadAvg, pool, round } from './util';

/**
 * The libraries people use today, sending the same devices to the same sandbox:
 *  - node-pushnotifications 6: APNs (its @parse/node-apn Provider takes address/port/ca) and
 *    Web Push (its settings.web go to web-push's sendNotification, including an https agent).
 *    FCM: it always sends with firebase-admin's HTTP/2 transport (`sendEachForMulticast`),
 *    which calls `http2.connect('https://fcm.googleapis.com')` with no agent and no CA
 *    option — `settings.fcm.httpsAgent` reaches only the legacy HTTP/1.1 transport, which
 *    node-pushnotifications never enables — so it cannot be pointed at the sandbox without
 *    changing its code. WNS: it uses the `wns` package, which hard-codes login.live.com:443.
 *  - web-push 3.6.7 as shipped: `sendNotification` per subscription.
 */
export const NPN_SUPPORTED: ProviderName[] = ['apns', 'webpush'];

const subscription = (d: DeviceRef) => ({ endpoint: d.token, keys: { p256dh: d.tokenData?.p256dh ?? '', auth: d.tokenData?.auth ?? '' } });

function finish(
  system: string, n: number, startedAt: number, s: Awaited<ReturnType<typeof waitForReceipts>>, extra: Record<string, unknown>, cpu: ReturnType<typeof cpuMeter>,
): DeliveryRun {
  const delivered = Object.values(s.delivered).reduce((a, b) => a + b, 0);
  const rejected = Object.values(s.rejected).reduce((a, b) => a + b, 0);
  const lastAt = s.lastAt ?? NaN;
  return {
    system, devices: n, delivered, rejected,
    perSecond: round(delivered / ((lastAt - startedAt) / 1000)),
    sandboxPerSecond: round(delivered / (Math.max(1, lastAt - (s.firstAt ?? NaN)) / 1000)),
    startToLastMs: lastAt - startedAt, startToFirstMs: (s.firstAt ?? NaN) - startedAt, load: loadAvg(), extra, cpuUsPerDelivery: cpu.perDeliveryUs(delivered),
  };
}

/** node-pushnotifications, used as its README shows, in chunks of 500 with a few chunks in flight. */
export async function npnSend(stack: BenchStack, p: ProviderName, app: BenchApp, devices: DeviceRef[], timeoutMs: number): Promise<DeliveryRun> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const PushNotifications = require('node-pushnotifications') as new (settings: unknown) => {
    send(ids: unknown[], data: unknown): Promise<Array<{ success: number; failure: number; message: Array<{ errorMsg?: string }> }>>;
    setOptions?(o: unknown): void;
  };
  const ca = readFileSync(stack.caFile, 'utf8');
  const cred = app.credentials[p] as Record<string, string>;
  const agent = new Agent({ keepAlive: true, maxSockets: 64, ca });
  const settings = p === 'apns'
    ? {
      apn: {
        token: { key: cred.key, keyId: cred.keyId, teamId: cred.teamId },
        production: true, address: 'localhost', port: Number(new URL(stack.sandboxUrls.apns).port), ca,
      },
    }
    : { web: { vapidDetails: { subject: cred.subject, publicKey: cred.publicKey, privateKey: cred.privateKey }, TTL: BENCH_CONTENT.ttlSeconds, contentEncoding: 'aes128gcm', agent } };
  const push = new PushNotifications(settings);
  const data = {
    title: BENCH_CONTENT.title, body: BENCH_CONTENT.body, custom: BENCH_CONTENT.data, topic: cred.bundleId, expiry: Math.floor(Date.now() / 1000) + 3600,
  };
  const ids = devices.map((d) => (p === 'webpush' ? subscription(d) : d.token));
  // warm the connection as a long-running sender would be
  await sandboxReset(stack.controlUrl);
  await push.send(ids.slice(0, 1), data);
  await sandboxReset(stack.controlUrl);
  const errors: Record<string, number> = {};
  const cpu = cpuMeter({ sandbox: stack.procs.sandbox.pid });
  const startedAt = Date.now();
  await pool(chunk(ids, 500), 4, async (part) => {
    const results = await push.send(part, data);
    for (const r of results) for (const m of r.message) if (m.errorMsg) errors[m.errorMsg] = (errors[m.errorMsg] ?? 0) + 1;
  });
  const s = await waitForReceipts(stack.controlUrl, devices.length, timeoutMs, 10_000);
  agent.destroy();
  return finish(`node-pushnotifications (${p})`, devices.length, startedAt, s, { chunk: 500, chunksInFlight: 4, errors }, cpu);
}

/** web-push 3.6.7 as shipped: sendNotification per subscription, 64 in flight over a keep-alive agent. */
export async function webPushLibSend(stack: BenchStack, app: BenchApp, devices: DeviceRef[], timeoutMs: number): Promise<DeliveryRun> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const webpush = require('web-push') as typeof import('web-push');
  const cred = app.credentials.webpush as Record<string, string>;
  const agent = new Agent({ keepAlive: true, maxSockets: 64, ca: readFileSync(stack.caFile, 'utf8') });
  const opts = { vapidDetails: { subject: cred.subject, publicKey: cred.publicKey, privateKey: cred.privateKey }, TTL: BENCH_CONTENT.ttlSeconds, agent };
  const payload = JSON.stringify({ title: BENCH_CONTENT.title, body: BENCH_CONTENT.body, data: BENCH_CONTENT.data });
  await sandboxReset(stack.controlUrl);
  await webpush.sendNotification(subscription(devices[0]), payload, opts);
  await sandboxReset(stack.controlUrl);
  const errors: Record<string, number> = {};
  const cpu = cpuMeter({ sandbox: stack.procs.sandbox.pid });
  const startedAt = Date.now();
  await pool(devices, 64, async (d) => {
    try {
      await webpush.sendNotification(subscription(d), payload, opts);
    } catch (e) {
      const k = String((e as { statusCode?: number }).statusCode ?? (e as Error).message);
      errors[k] = (errors[k] ?? 0) + 1;
    }
  });
  const s = await waitForReceipts(stack.controlUrl, devices.length, timeoutMs, 10_000);
  agent.destroy();
  return finish('web-push sendNotification', devices.length, startedAt, s, { inFlight: 64, errors }, cpu);
}
