import { createECDH, randomBytes } from 'node:crypto';
import { encrypt, generateRequestDetails } from 'web-push';
import { generateVapidCredential, type VapidSecret } from './webpush.credentials';
import { VapidHeaderCache } from './webpush.vapid';

/**
 * CPU cost of preparing one Web Push request (no network): web-push as shipped
 * (`generateRequestDetails`: encryption + a fresh VAPID JWT per message) against
 * this provider's path (the same web-push `encrypt` + the VAPID header cached per
 * origin). Measured in CPU time (process.cpuUsage), so it reads as "sends per second
 * of one core". Called by the benchmark suite; also runnable:
 * `node .build/webpush/libs/providers/src/webpush/webpush.cpu-bench.js [messages]`.
 */
export interface WebpushCpuBenchResult {
  messages: number;
  payloadBytes: number;
  webPushAsShipped: { cpuMs: number; sendsPerCpuSecond: number };
  cachedVapid: { cpuMs: number; sendsPerCpuSecond: number };
  /** cachedVapid / webPushAsShipped. */
  speedup: number;
}

const ORIGIN = 'https://fcm.googleapis.com';

function subscriptions(count: number): Array<{ endpoint: string; keys: { p256dh: string; auth: string } }> {
  return Array.from({ length: count }, () => {
    const ua = createECDH('prime256v1');
    ua.generateKeys();
    return {
      endpoint: `${ORIGIN}/fcm/send/${randomBytes(24).toString('base64url')}`,
      keys: { p256dh: ua.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') },
    };
  });
}

function cpuMs(fn: () => void): number {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

export function runWebpushCpuBench(opts: { messages?: number; payloadBytes?: number } = {}): WebpushCpuBenchResult {
  const messages = opts.messages ?? 2000;
  const payloadBytes = opts.payloadBytes ?? 200;
  const payload = JSON.stringify({ title: 'Bench', body: 'x'.repeat(Math.max(0, payloadBytes - 30)) }).slice(0, payloadBytes);
  const subs = subscriptions(Math.min(messages, 500));
  const secret = generateVapidCredential('mailto:bench@example.com').secret as unknown as VapidSecret;
  const vapidDetails = { subject: secret.subject, publicKey: secret.publicKey, privateKey: secret.privateKey };

  const shipped = (n: number): void => {
    for (let i = 0; i < n; i++) {
      generateRequestDetails(subs[i % subs.length], payload, { vapidDetails, TTL: 2419200, urgency: 'normal' });
    }
  };
  const vapid = new VapidHeaderCache(secret, 12 * 3600);
  const ours = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const s = subs[i % subs.length];
      const body = encrypt(s.keys.p256dh, s.keys.auth, payload, 'aes128gcm').cipherText;
      const headers = { TTL: '2419200', Urgency: 'normal', Authorization: vapid.header(ORIGIN), 'Content-Length': String(body.length) };
      if (!headers.Authorization) throw new Error('unreachable');
    }
  };
  // Warm up both paths (JIT, OpenSSL tables) before measuring.
  shipped(50);
  ours(50);
  const a = cpuMs(() => shipped(messages));
  const b = cpuMs(() => ours(messages));
  const rate = (ms: number): number => Math.round((messages / ms) * 1000);
  return {
    messages,
    payloadBytes: Buffer.byteLength(payload),
    webPushAsShipped: { cpuMs: Math.round(a), sendsPerCpuSecond: rate(a) },
    cachedVapid: { cpuMs: Math.round(b), sendsPerCpuSecond: rate(b) },
    speedup: Math.round((a / b) * 100) / 100,
  };
}

if (require.main === module) {
  const n = Number(process.argv[2] ?? 2000);
  process.stdout.write(`${JSON.stringify(runWebpushCpuBench({ messages: n }), null, 2)}\n`);
}
