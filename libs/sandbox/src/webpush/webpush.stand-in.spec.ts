import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createECDH, createPrivateKey, randomBytes, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { encrypt as eceEncrypt } from 'http_ece';
import webpush from 'web-push';
import { normalizeVapidCredential } from '@app/providers';
import { FaultPlan } from '../core/fault-plan';
import { ReceiptStore } from '../core/receipt-store';
import { loadOrCreateTls } from '../core/sandbox-ca';
import { TrafficMeter } from '../core/traffic-meter';
import { WebpushStandIn } from './webpush.stand-in';

interface Sub {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

function vapidKeys() {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const pub = ecdh.getPublicKey();
  const d = Buffer.alloc(32);
  const raw = ecdh.getPrivateKey();
  raw.copy(d, 32 - raw.length);
  const key = createPrivateKey({
    key: { kty: 'EC', crv: 'P-256', x: pub.subarray(1, 33).toString('base64url'), y: pub.subarray(33).toString('base64url'), d: d.toString('base64url') },
    format: 'jwk',
  });
  return { publicKey: pub.toString('base64url'), privateKey: d.toString('base64url'), key };
}

type Keys = ReturnType<typeof vapidKeys>;

function jwt(keys: Keys, claims: Record<string, unknown>, alg = 'ES256'): string {
  const input = `${Buffer.from(JSON.stringify({ typ: 'JWT', alg })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key: keys.key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

function encryptFor(sub: Sub, plaintext: string): Buffer {
  const local = createECDH('prime256v1');
  local.generateKeys();
  return eceEncrypt(Buffer.from(plaintext), { version: 'aes128gcm', dh: sub.keys.p256dh, privateKey: local, authSecret: sub.keys.auth });
}

describe('webpush stand-in (the sandbox push service)', () => {
  let dir: string;
  let store: ReceiptStore;
  let standIn: WebpushStandIn;
  let agent: Agent;
  let origin: string;
  const keys = vapidKeys();
  const faults = new FaultPlan();
  const traffic = new TrafficMeter();

  const control = async (method: string, path: string, body?: unknown, query = '') => {
    const a = await standIn.control({ method, path, body, query: new URLSearchParams(query), raw: {} as IncomingMessage });
    assert.ok(a);
    return a;
  };
  const mint = async (applicationServerKey?: string): Promise<Sub> =>
    (await control('POST', 'subscriptions', applicationServerKey ? { applicationServerKey } : {})).body as Sub;
  const idOf = (s: Sub): string => s.endpoint.split('/').pop() as string;

  function post(url: string, headers: Record<string, string>, body: Buffer) {
    return new Promise<{ status: number; headers: IncomingMessage['headers']; body: string }>((resolve, reject) => {
      const req = request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  const now = () => Math.floor(Date.now() / 1000);
  const goodClaims = () => ({ aud: origin, exp: now() + 3600, sub: 'mailto:ops@example.com' });
  const auth = (k: Keys, claims: Record<string, unknown> = goodClaims(), signer: Keys = k) => `vapid t=${jwt(signer, claims)}, k=${k.publicKey}`;
  const push = (sub: Sub, headers: Record<string, string> = {}, body: Buffer = encryptFor(sub, '{"title":"hi"}')) =>
    post(sub.endpoint, { TTL: '60', 'Content-Encoding': 'aes128gcm', Authorization: auth(keys), ...headers }, body);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'webpush-standin-'));
    const tls = loadOrCreateTls(dir);
    store = new ReceiptStore({ countOnly: false, perDeviceLimit: 50 });
    standIn = new WebpushStandIn({ store, tls, host: 'localhost', faults, traffic });
    await standIn.listen(0);
    origin = standIn.baseUrl();
    agent = new Agent({ ca: tls.caPem, keepAlive: true });
  });

  after(async () => {
    agent.destroy();
    await standIn.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts a message from web-push as shipped, decrypts it and records it with its headers', async () => {
    const sub = await mint(keys.publicKey);
    const res = await webpush.sendNotification(sub, JSON.stringify({ title: 'From web-push', data: { a: '1' } }), {
      vapidDetails: { subject: 'mailto:ops@example.com', publicKey: keys.publicKey, privateKey: keys.privateKey },
      TTL: 120,
      urgency: 'high',
      topic: 'news',
      agent,
    });
    assert.equal(res.statusCode, 201);
    assert.match(String(res.headers.location), new RegExp(`^${origin}/m/`));
    const [r] = store.forDevice('webpush', idOf(sub));
    assert.deepEqual(r.payload, { title: 'From web-push', data: { a: '1' } });
    assert.deepEqual(r.headers, { ttl: '120', urgency: 'high', topic: 'news' });
  });

  it('records non-JSON plaintext as text', async () => {
    const sub = await mint();
    assert.equal((await push(sub, {}, encryptFor(sub, 'plain words'))).status, 201);
    assert.equal(store.forDevice('webpush', idOf(sub))[0].payload, 'plain words');
  });

  it('refuses bad VAPID with 401', async () => {
    const sub = await mint();
    const other = vapidKeys();
    const cases: Array<[string, string | undefined]> = [
      ['missing', undefined],
      ['wrong scheme', `WebPush ${jwt(keys, goodClaims())}`],
      ['signed by another key', auth(keys, goodClaims(), other)],
      ['wrong audience', auth(keys, { ...goodClaims(), aud: 'https://fcm.googleapis.com' })],
      ['expired', auth(keys, { ...goodClaims(), exp: now() - 1 })],
      ['more than 24 h ahead', auth(keys, { ...goodClaims(), exp: now() + 24 * 3600 + 120 })],
      ['subject not mailto/https', auth(keys, { ...goodClaims(), sub: 'ops@example.com' })],
      ['HS256', `vapid t=${jwt(keys, goodClaims(), 'HS256')}, k=${keys.publicKey}`],
      ['truncated', `vapid t=abc.def, k=${keys.publicKey}`],
    ];
    for (const [label, value] of cases) {
      const headers: Record<string, string> = { TTL: '60', 'Content-Encoding': 'aes128gcm' };
      if (value !== undefined) headers.Authorization = value;
      const res = await post(sub.endpoint, headers, encryptFor(sub, '{}'));
      assert.equal(res.status, 401, label);
    }
    assert.equal(store.forDevice('webpush', idOf(sub)).length, 0);
  });

  it('answers 403 when the key is not the applicationServerKey the subscription was made with', async () => {
    const sub = await mint(keys.publicKey);
    const other = vapidKeys();
    assert.equal((await push(sub, { Authorization: auth(other) })).status, 403);
    assert.equal((await push(sub)).status, 201);
  });

  it('requires TTL and aes128gcm, refuses bad Urgency/Topic and undecryptable bodies with 400', async () => {
    const sub = await mint();
    const other = await mint();
    const noTtl = await post(sub.endpoint, { 'Content-Encoding': 'aes128gcm', Authorization: auth(keys) }, encryptFor(sub, '{}'));
    assert.equal(noTtl.status, 400);
    assert.match(noTtl.body, /TTL/);
    assert.equal((await push(sub, { 'Content-Encoding': 'aesgcm' })).status, 400);
    assert.equal((await push(sub, { Urgency: 'urgent' })).status, 400);
    assert.equal((await push(sub, { Topic: 'not a topic!' })).status, 400);
    assert.equal((await push(sub, {}, encryptFor(other, '{}'))).status, 400);
  });

  it('answers 413 above 4096 bytes of body', async () => {
    const sub = await mint();
    assert.equal((await push(sub, {}, encryptFor(sub, 'x'.repeat(3993)))).status, 201);
    assert.equal((await push(sub, {}, encryptFor(sub, 'x'.repeat(3994)))).status, 413);
  });

  it('answers 404 for unknown subscriptions and 410 after unsubscribe', async () => {
    const sub = await mint();
    const forged = { ...sub, endpoint: sub.endpoint.replace(/.{4}$/, 'AAAA') };
    assert.equal((await push(forged)).status, 404);
    assert.equal((await control('DELETE', `subscriptions/${idOf(sub)}`)).status, 200);
    assert.equal((await push(sub)).status, 410);
    assert.equal((await control('DELETE', 'subscriptions/nope')).status, 404);
  });

  it('answers injected errors with Retry-After, then goes back to normal', async () => {
    const sub = await mint();
    store.inject('webpush', idOf(sub), { status: 429, retryAfter: 30, times: 2 });
    for (let i = 0; i < 2; i++) {
      const res = await push(sub);
      assert.equal(res.status, 429);
      assert.equal(res.headers['retry-after'], '30');
    }
    assert.equal((await push(sub)).status, 201);
  });

  it('counts distinct VAPID JWTs per key', async () => {
    const k = vapidKeys();
    const subs = await Promise.all([mint(), mint(), mint()]);
    const header = auth(k);
    for (const s of subs) assert.equal((await push(s, { Authorization: header })).status, 201);
    assert.equal(((await control('GET', 'stats', undefined, `k=${k.publicKey}`)).body as { vapidSignatures: number }).vapidSignatures, 1);
    assert.equal((await push(subs[0], { Authorization: auth(k) })).status, 201);
    assert.equal(((await control('GET', 'stats', undefined, `k=${k.publicKey}`)).body as { vapidSignatures: number }).vapidSignatures, 2);
  });

  it('control: mints in bulk, validates applicationServerKey, hands out API-ready VAPID credentials', async () => {
    const bulk = (await control('POST', 'subscriptions', { count: 3 })).body as { subscriptions: Sub[] };
    assert.equal(bulk.subscriptions.length, 3);
    assert.equal(new Set(bulk.subscriptions.map((s) => s.endpoint)).size, 3);
    assert.equal((await control('POST', 'subscriptions', { applicationServerKey: randomBytes(10).toString('base64url') })).status, 400);
    assert.equal((await control('POST', 'subscriptions', { count: 0 })).status, 400);
    const cred = (await control('POST', 'vapid-keys', { subject: 'mailto:dev@example.com' })).body;
    assert.equal(normalizeVapidCredential(cred).summary.subject, 'mailto:dev@example.com');
    assert.equal(await standIn.control({ method: 'GET', path: 'nothing', body: undefined, query: new URLSearchParams(), raw: {} as IncomingMessage }), null);
  });

  it('subscriptions survive a restart of the sandbox (same TLS folder)', async () => {
    const sub = await mint();
    const again = new WebpushStandIn({ store, tls: loadOrCreateTls(dir), host: 'localhost' });
    await again.listen(0);
    try {
      const moved = { ...sub, endpoint: sub.endpoint.replace(origin, again.baseUrl()) };
      const res = await post(moved.endpoint, { TTL: '0', 'Content-Encoding': 'aes128gcm', Authorization: auth(keys, { ...goodClaims(), aud: again.baseUrl() }) }, encryptFor(sub, '{"x":1}'));
      assert.equal(res.status, 201);
    } finally {
      await again.close();
    }
  });

  describe('service-wide faults', () => {
    /** A push that may be reset or never answered: its status, its error code, or null after `waitMs`. */
    const attempt = (sub: Sub, waitMs = 2000) =>
      new Promise<{ status?: number; retryAfter?: string; error?: string } | null>((resolve) => {
        const body = encryptFor(sub, '{"title":"hi"}');
        const headers = { TTL: '60', 'Content-Encoding': 'aes128gcm', Authorization: auth(keys), 'content-length': String(body.length) };
        const req = request(sub.endpoint, { method: 'POST', agent, headers }, (res) => {
          res.resume();
          resolve({ status: res.statusCode, retryAfter: res.headers['retry-after'] as string | undefined });
        });
        req.setTimeout(waitMs, () => {
          req.destroy();
          resolve(null);
        });
        req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code }));
        req.end(body);
      });
    const vapidLabel = `vapid:${keys.publicKey.slice(0, 16)}`;

    it('answers 503 with Retry-After for the period, then delivers again; counts requests per VAPID key and receipts per device', async () => {
      const sub = await mint();
      const counted = () => traffic.perSecond(0, Date.now() + 1000).filter((c) => c.credential === vapidLabel).reduce((n, c) => n + c.requests, 0);
      const before = counted();
      faults.set(['webpush'], { kind: 'status', status: 503, retryAfter: 7, durationMs: 300 });
      assert.deepEqual(await attempt(sub), { status: 503, retryAfter: '7' });
      await new Promise((r) => setTimeout(r, 350));
      assert.equal((await push(sub)).status, 201);
      assert.equal((await push(sub)).status, 201);
      assert.equal(counted() - before, 3);
      assert.equal(store.deviceCounts('webpush').webpush?.[idOf(sub)], 2, 'two receipts: one duplicate');
    });

    it('hang: reads the request and never answers; in flight until the client gives up', async () => {
      const sub = await mint();
      faults.set(['webpush'], { kind: 'hang', durationMs: 5000 });
      const pending = attempt(sub, 300);
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(traffic.snapshot().inFlight.webpush, 1);
      assert.equal(await pending, null);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(traffic.snapshot().inFlight.webpush, 0);
      assert.equal(store.forDevice('webpush', idOf(sub)).length, 0);
      faults.clear();
    });

    it('reset: a TCP reset (HTTP/1.1 has no streams to reset)', async () => {
      const sub = await mint();
      for (const reset of ['tcp', 'stream'] as const) {
        faults.set(['webpush'], { kind: 'reset', reset });
        assert.deepEqual(await attempt(sub), { error: 'ECONNRESET' }, reset);
        faults.clear();
      }
      assert.equal((await push(sub)).status, 201);
    });

    it('delay: answers normally, later; a fault set on top ends back in the delay', async () => {
      const sub = await mint();
      faults.set(['webpush'], { kind: 'delay', delayMs: 200 });
      faults.set(['webpush'], { kind: 'status', status: 500, durationMs: 100 });
      assert.equal((await attempt(sub))?.status, 500);
      await new Promise((r) => setTimeout(r, 120));
      const t0 = Date.now();
      assert.equal((await attempt(sub))?.status, 201);
      assert.ok(Date.now() - t0 >= 190, 'answered after the delay');
      faults.clear();
    });
  });
});
