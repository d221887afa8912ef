import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import type { LoggerService } from '@nestjs/common';
import { loadConfig } from '@app/common';
import { ReceiptStore, type Injection, loadOrCreateTls, type SandboxTls, WebpushStandIn } from '@app/sandbox';
import type { CanonicalNotification } from '../canonical';
import type { CredentialRecord, DeviceRef } from '../provider.interface';
import type { ProviderContext } from '../provider-context';
import { generateVapidCredential } from './webpush.credentials';
import { WebpushProvider } from './webpush.provider';
import { buildPayload, MAX_PLAINTEXT_BYTES } from './webpush.translator';

class CaptureLogger implements LoggerService {
  readonly lines: string[] = [];
  log(m: unknown): void {
    this.lines.push(String(m));
  }
  error(m: unknown): void {
    this.lines.push(String(m));
  }
  warn(m: unknown): void {
    this.lines.push(String(m));
  }
}

interface Sub {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

function context(tls: SandboxTls, logger: LoggerService, sandbox = true, env: Record<string, string> = {}): ProviderContext {
  const config = loadConfig({
    DATABASE_URL: 'postgres://x',
    ADMIN_API_KEY: 'x'.repeat(24),
    MASTER_KEY: 'a'.repeat(64),
    SANDBOX_ENABLED: sandbox ? 'true' : 'false',
    WEBPUSH_MAX_SOCKETS_PER_ORIGIN: '8',
    ...env,
  });
  return {
    config,
    logger,
    extraCa: tls.caPem,
    urlGuard: {
      wns: { allowlist: config.urlAllowlist.wns, sandboxEnabled: config.sandboxEnabled },
      webpush: { allowlist: config.urlAllowlist.webpush, sandboxEnabled: config.sandboxEnabled },
    },
  };
}

let seq = 0;
function credential(version = 1, id = `cred-${++seq}`): CredentialRecord {
  const c = generateVapidCredential('mailto:ops@example.com');
  return { id, appId: 'app-1', provider: 'webpush', name: 'default', environment: null, secret: c.secret, version };
}

const notification = (over: Partial<CanonicalNotification> = {}): CanonicalNotification => ({
  id: `n-${++seq}`,
  appId: 'app-1',
  title: 'Order shipped',
  body: 'Your order #42 is on its way ✈',
  data: { orderId: '42' },
  priority: 'high',
  silent: false,
  acceptedAt: Date.now(),
  ...over,
});

describe('webpush provider against the sandbox push service', () => {
  let dir: string;
  let store: ReceiptStore;
  let standIn: WebpushStandIn;
  let provider: WebpushProvider;
  let logger: CaptureLogger;

  const control = async (method: string, path: string, body?: unknown, query = '') => {
    const a = await standIn.control({ method, path, body, query: new URLSearchParams(query), raw: {} as IncomingMessage });
    assert.ok(a, `${method} ${path} answered`);
    return a.body as Record<string, unknown>;
  };
  const mint = async (applicationServerKey?: string): Promise<Sub> =>
    (await control('POST', 'subscriptions', applicationServerKey ? { applicationServerKey } : {})) as unknown as Sub;
  const idOf = (s: Sub): string => s.endpoint.split('/').pop() as string;
  const device = (s: Sub): DeviceRef => {
    const t = provider.normalizeToken(s);
    return { id: idOf(s), token: t.token, tokenData: t.tokenData };
  };
  const inject = (s: Sub, inj: Injection): void => store.inject('webpush', idOf(s), inj);
  const jwtsFor = async (cred: CredentialRecord): Promise<number> =>
    (await control('GET', 'stats', undefined, `k=${String(cred.secret.publicKey)}`)).vapidSignatures as number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'webpush-spec-'));
    const tls = loadOrCreateTls(dir);
    store = new ReceiptStore({ countOnly: false, perDeviceLimit: 50 });
    standIn = new WebpushStandIn({ store, tls, host: 'localhost' });
    await standIn.listen(0);
    logger = new CaptureLogger();
    provider = new WebpushProvider(context(tls, logger));
  });

  after(async () => {
    await provider.close();
    await standIn.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers: the decrypted plaintext is the payload that was sent, with TTL, Urgency and Topic', async () => {
    const cred = credential();
    const sub = await mint(String(cred.secret.publicKey));
    const n = notification({ collapseId: 'order-42', ttlSeconds: 600, webpush: { actions: [{ action: 'track', title: 'Track' }], link: '/orders/42' } });
    const [outcome] = await provider.send(cred, n, [device(sub)]);
    assert.equal(outcome.kind, 'delivered');
    assert.match((outcome as { providerMessageId?: string }).providerMessageId ?? '', /^https:\/\/localhost:\d+\/m\//);
    const [r] = store.forDevice('webpush', idOf(sub));
    assert.deepEqual(r.payload, buildPayload(n, { actions: [{ action: 'track', title: 'Track' }], link: '/orders/42' }));
    assert.deepEqual(r.headers, { ttl: '600', urgency: 'high', topic: 'order-42' });
  });

  it('silent messages go as background payloads with Urgency low and the 4-week default TTL', async () => {
    const cred = credential();
    const sub = await mint();
    const [o] = await provider.send(cred, notification({ silent: true, priority: 'normal' }), [device(sub)]);
    assert.equal(o.kind, 'delivered');
    const [r] = store.forDevice('webpush', idOf(sub));
    assert.equal((r.payload as { background?: boolean }).background, true);
    assert.equal((r.payload as { title?: string }).title, undefined);
    assert.deepEqual(r.headers, { ttl: '2419200', urgency: 'low' });
  });

  it('a payload of exactly 4096 encrypted bytes is delivered intact', async () => {
    const cred = credential();
    const sub = await mint();
    const probe = notification({ body: '' });
    const overhead = Buffer.byteLength(JSON.stringify(buildPayload(probe, {})));
    const n = { ...probe, body: 'x'.repeat(MAX_PLAINTEXT_BYTES - overhead) };
    assert.deepEqual(provider.checkNotification(n), []);
    const [o] = await provider.send(cred, n, [device(sub)]);
    assert.equal(o.kind, 'delivered');
    assert.equal((store.forDevice('webpush', idOf(sub))[0].payload as { body: string }).body.length, n.body.length);
  });

  it('signs one VAPID JWT per origin for 50 messages to 50 subscriptions', async () => {
    const cred = credential();
    const subs = await Promise.all(Array.from({ length: 50 }, () => mint(String(cred.secret.publicKey))));
    const connectionsBefore = (await control('GET', 'stats')).connections as number;
    const outcomes = await provider.send(cred, notification(), subs.map(device));
    assert.deepEqual(outcomes.map((o) => o.kind), Array(50).fill('delivered'));
    assert.equal(await jwtsFor(cred), 1);
    const opened = ((await control('GET', 'stats')).connections as number) - connectionsBefore;
    assert.ok(opened <= 8, `at most maxSocketsPerOrigin (8) new connections for 50 messages, got ${opened}`);
    await provider.send(cred, notification(), subs.slice(0, 5).map(device));
    assert.equal(await jwtsFor(cred), 1, 'the next batch reuses the header too');
  });

  it('rebuilds the client when the credential version changes (new keys, new JWT)', async () => {
    const v1 = credential(1, 'cred-rotating');
    const v2 = credential(2, 'cred-rotating');
    const bound = await mint(String(v1.secret.publicKey));
    const open = await mint();
    assert.equal((await provider.send(v1, notification(), [device(bound)]))[0].kind, 'delivered');
    assert.equal((await provider.send(v2, notification(), [device(open)]))[0].kind, 'delivered');
    assert.equal(await jwtsFor(v2), 1);
    // The browser subscribed with v1's key: the push service refuses v2's signature.
    const [o] = await provider.send(v2, notification(), [device(bound)]);
    assert.equal(o.kind, 'failed');
    assert.equal((o as { alarm?: boolean }).alarm, true);
  });

  it('maps every outcome row, in device order', async () => {
    const cred = credential();
    const rows: Array<[Injection | 'ok', string, number | undefined, boolean | undefined]> = [
      ['ok', 'delivered', undefined, undefined],
      [{ status: 404 }, 'invalid_token', undefined, undefined],
      [{ status: 410 }, 'invalid_token', undefined, undefined],
      [{ status: 429, retryAfter: 7 }, 'retry', 7000, undefined],
      [{ status: 406 }, 'retry', undefined, undefined],
      [{ status: 500 }, 'retry', undefined, undefined],
      [{ status: 502, retryAfter: 1 }, 'retry', 1000, undefined],
      [{ status: 503, retryAfter: 120 }, 'retry', 120_000, undefined],
      [{ status: 400 }, 'failed', undefined, undefined],
      [{ status: 413 }, 'failed', undefined, undefined],
      [{ status: 401 }, 'failed', undefined, true],
      [{ status: 403 }, 'failed', undefined, true],
      [{ status: 200 }, 'delivered', undefined, undefined],
      [{ status: 202 }, 'delivered', undefined, undefined],
      [{ status: 301 }, 'failed', undefined, undefined],
    ];
    const subs = await Promise.all(rows.map(() => mint()));
    rows.forEach(([inj], i) => inj !== 'ok' && inject(subs[i], inj));
    const outcomes = await provider.send(cred, notification(), subs.map(device));
    rows.forEach(([inj, kind, retryAfterMs, alarm], i) => {
      const o = outcomes[i] as { kind: string; retryAfterMs?: number; alarm?: boolean };
      const label = inj === 'ok' ? 'ok' : String(inj.status);
      assert.equal(o.kind, kind, label);
      assert.equal(o.retryAfterMs, retryAfterMs, label);
      assert.equal(o.alarm, alarm, label);
    });
    assert.equal(store.forDevice('webpush', idOf(subs[0])).length, 1);
    assert.equal(store.forDevice('webpush', idOf(subs[3])).length, 0);
  });

  it('401/403 raise an alarm in the log without the full endpoint', async () => {
    const cred = credential();
    const sub = await mint();
    inject(sub, { status: 403 });
    logger.lines.length = 0;
    const [o] = await provider.send(cred, notification(), [device(sub)]);
    assert.deepEqual(o, { kind: 'failed', reason: 'webpush 403 errno 903: VAPID authorization refused', alarm: true });
    const line = logger.lines.find((l) => l.includes(cred.id));
    assert.ok(line, 'alarm logged');
    assert.ok(!line.includes(sub.endpoint), 'endpoint redacted');
    assert.ok(!line.includes(String(cred.secret.privateKey)));
  });

  it('real push-service answers: unsubscribed → 410, unknown → 404, both invalid_token', async () => {
    const cred = credential();
    const gone = await mint();
    await control('DELETE', `subscriptions/${idOf(gone)}`);
    const real = await mint();
    const unknown = { ...real, endpoint: real.endpoint.replace(/\/push\/.+$/, `/push/${'A'.repeat(38)}`) };
    const outcomes = await provider.send(cred, notification(), [device(gone), device(unknown)]);
    assert.deepEqual(outcomes.map((o) => [o.kind, (o as { reason?: string }).reason]), [
      ['invalid_token', 'webpush 410 errno 910'],
      ['invalid_token', 'webpush 404 errno 904'],
    ]);
  });

  it('transport errors retry', async () => {
    const cred = credential();
    const sub = await mint();
    const closed = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
    });
    const d = device(sub);
    d.token = d.token.replace(/:\d+\//, `:${closed}/`);
    const [o] = await provider.send(cred, notification(), [d]);
    assert.deepEqual(o, { kind: 'retry', reason: 'transport: ECONNREFUSED', unavailable: true });
  });

  it('a push service that does not answer in time is a transport error to retry', async () => {
    const impatient = new WebpushProvider(context(loadOrCreateTls(dir), new CaptureLogger(), true, { WEBPUSH_REQUEST_TIMEOUT_MS: '200' }));
    try {
      const sub = await mint();
      inject(sub, { status: 201, stallMs: 1500 });
      const [o] = await impatient.send(credential(), notification(), [device(sub)]);
      assert.deepEqual(o, { kind: 'retry', reason: 'transport: ETIMEDOUT', unavailable: true });
    } finally {
      await impatient.close();
    }
  });

  it('re-checks every device at send time and never throws for one bad device', async () => {
    const cred = credential();
    const ok = await mint();
    const devices: DeviceRef[] = [
      { id: 'ip', token: 'https://127.0.0.1/push/x', tokenData: device(ok).tokenData },
      { id: 'nokeys', token: device(ok).token, tokenData: null },
      { id: 'badkeys', token: device(ok).token, tokenData: { p256dh: 'AAAA', auth: 'BBBB' } },
      device(ok),
    ];
    const outcomes = await provider.send(cred, notification(), devices);
    assert.deepEqual(outcomes.map((o) => o.kind), ['failed', 'failed', 'failed', 'delivered']);
    assert.match((outcomes[0] as { reason: string }).reason, /^endpoint: must not use an IP address/);
    assert.match((outcomes[1] as { reason: string }).reason, /^token\.keys\.p256dh/);
  });

  it('with the sandbox disabled, localhost endpoints are refused at registration and at send time', async () => {
    const strict = new WebpushProvider(context(loadOrCreateTls(dir), new CaptureLogger(), false));
    try {
      const sub = await mint();
      assert.throws(() => strict.normalizeToken(sub), /token\.endpoint: must use the default https port/);
      const [o] = await strict.send(credential(), notification(), [device(sub)]);
      assert.equal(o.kind, 'failed');
      assert.match((o as { reason: string }).reason, /^endpoint: must use the default https port/);
      assert.equal(store.forDevice('webpush', idOf(sub)).length, 0);
    } finally {
      await strict.close();
    }
  });

  it('checkNotification reports override problems and the size with the limit', () => {
    assert.deepEqual(provider.checkNotification(notification({ webpush: { urgency: 'high', tag: 't' } })), []);
    const problems = provider.checkNotification(notification({ body: 'y'.repeat(5000), webpush: { bogus: 1 } }));
    assert.match(problems[0], /^webpush\.bogus: unknown field/);
    assert.match(problems[1], /^payload: the encrypted Web Push message would be \d{4} bytes, over the limit of 4096 bytes/);
  });

  it('an oversized notification that slipped past the API fails every device without sending', async () => {
    const cred = credential();
    const sub = await mint();
    const [o] = await provider.send(cred, notification({ body: 'z'.repeat(5000) }), [device(sub)]);
    assert.equal(o.kind, 'failed');
    assert.match((o as { reason: string }).reason, /3993/);
    assert.equal(store.forDevice('webpush', idOf(sub)).length, 0);
  });

  it('an unusable stored credential fails the batch with an alarm', async () => {
    const cred = { ...credential(), secret: { subject: 'mailto:a@b.c' } };
    const outcomes = await provider.send(cred, notification(), [device(await mint())]);
    assert.equal(outcomes[0].kind, 'failed');
    assert.equal((outcomes[0] as { alarm?: boolean }).alarm, true);
  });
});
