import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, sign } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import http2, { type ClientHttp2Session } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultPlan } from '../core/fault-plan';
import { ReceiptStore } from '../core/receipt-store';
import { loadOrCreateTls, type SandboxTls } from '../core/sandbox-ca';
import { TrafficMeter } from '../core/traffic-meter';
import { ApnsStandIn } from './apns.stand-in';

interface Minted { keyId: string; teamId: string; config: { key: string } }

function jwt(m: Minted, iatS = Math.floor(Date.now() / 1000), key = m.config.key): string {
  const h = Buffer.from(JSON.stringify({ alg: 'ES256', kid: m.keyId })).toString('base64url');
  const c = Buffer.from(JSON.stringify({ iss: m.teamId, iat: iatS })).toString('base64url');
  const s = sign('sha256', Buffer.from(`${h}.${c}`), { key: createPrivateKey(key), dsaEncoding: 'ieee-p1363' });
  return `${h}.${c}.${s.toString('base64url')}`;
}

interface Answer { status: number; reason?: string; headers: http2.IncomingHttpHeaders }

function post(session: ClientHttp2Session, token: string, headers: Record<string, string>, body = '{"aps":{"alert":"hi"}}'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'POST', ':path': `/3/device/${token}`, ...headers });
    let head: http2.IncomingHttpHeaders = {};
    let data = '';
    req.on('response', (h) => (head = h));
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => resolve({ status: Number(head[':status']), reason: data ? (JSON.parse(data) as { reason: string }).reason : undefined, headers: head }));
    req.on('error', reject);
    req.end(body);
  });
}

/** A request whose stream may be reset or never answered: what happened to it, or null after `waitMs`. */
function attempt(session: ClientHttp2Session, token: string, headers: Record<string, string>, waitMs = 2000) {
  return new Promise<{ status?: number; rstCode?: number; error?: string } | null>((resolve) => {
    const req = session.request({ ':method': 'POST', ':path': `/3/device/${token}`, ...headers });
    const timer = setTimeout(() => {
      req.close(http2.constants.NGHTTP2_CANCEL);
      resolve(null);
    }, waitMs);
    req.on('response', (h) => {
      clearTimeout(timer);
      resolve({ status: Number(h[':status']) });
      req.resume();
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ rstCode: req.rstCode, error: e.code });
    });
    req.on('close', () => {
      clearTimeout(timer);
      resolve({ rstCode: req.rstCode });
    });
    req.end('{"aps":{"alert":"hi"}}');
  });
}

describe('ApnsStandIn', () => {
  let tls: SandboxTls;
  let store: ReceiptStore;
  let standIn: ApnsStandIn;
  let minted: Minted;
  const faults = new FaultPlan();
  const traffic = new TrafficMeter();
  const sessions: ClientHttp2Session[] = [];

  const connect = (env: 'production' | 'sandbox' = 'production', extra: http2.SecureClientSessionOptions = {}) => {
    const port = env === 'production' ? standIn.productionPort() : standIn.sandboxPort();
    const s = http2.connect(`https://localhost:${port}`, { ca: tls.caPem, ...extra });
    s.on('error', () => undefined);
    sessions.push(s);
    return s;
  };
  const ctl = async (method: string, path: string, body?: unknown) => {
    const a = await standIn.control({ method, path, query: new URLSearchParams(), body, raw: undefined as never });
    return a as { status: number; body: Record<string, unknown> };
  };
  const device = async (environment: string) => (await ctl('POST', 'devices', { environment })).body.token as string;
  // One provider token for the whole suite: Apple refuses a connection's token changing more than every 20 minutes.
  let bearer = '';
  const auth = () => ({ authorization: `bearer ${bearer}`, 'apns-topic': 'com.example.app', 'apns-push-type': 'alert' });

  before(async () => {
    tls = loadOrCreateTls(mkdtempSync(join(tmpdir(), 'apns-standin-')));
    store = new ReceiptStore({ countOnly: false, perDeviceLimit: 50 });
    standIn = new ApnsStandIn({ store, tls, host: 'localhost', faults, traffic });
    await standIn.listen(0);
    minted = (await ctl('POST', 'keys', { bundleId: 'com.example.app' })).body as unknown as Minted;
    bearer = jwt(minted);
  });
  after(async () => {
    for (const s of sessions) s.destroy();
    await standIn.close();
  });

  it('mints keys, devices (many at once) and certificates as ready-to-use configs', async () => {
    assert.match(minted.keyId, /^[A-Z0-9]{10}$/);
    assert.match(minted.config.key, /BEGIN PRIVATE KEY/);
    const d = await ctl('POST', 'devices', { environment: 'sandbox', count: 3 });
    assert.equal((d.body.tokens as string[]).length, 3);
    const c = await ctl('POST', 'certificates', { bundleId: 'com.example.app', environment: 'sandbox', format: 'p12' });
    assert.equal((c.body.config as Record<string, unknown>).environment, 'sandbox');
    assert.ok((c.body.config as Record<string, unknown>).p12);
    assert.equal((await ctl('POST', 'certificates', { bundleId: 'x' })).status, 400);
    assert.equal(standIn.baseUrl(), `https://localhost:${standIn.productionPort()}`);
    assert.notEqual(standIn.sandboxPort(), standIn.productionPort());
  });

  it('allows one stream until a valid request, then raises the limit', async () => {
    const s = connect();
    await new Promise((r) => s.once('remoteSettings', r));
    assert.equal(s.remoteSettings.maxConcurrentStreams, 1);
    const a = await post(s, await device('production'), auth());
    assert.equal(a.status, 200);
    assert.equal(s.remoteSettings.maxConcurrentStreams, 1000);
  });

  it('a cold burst beyond the limit loses streams, as with Apple', async () => {
    const tokens = await Promise.all(Array.from({ length: 20 }, () => device('production')));
    // Fired before the server's SETTINGS arrive, as node-apn does with a whole batch.
    const s = connect();
    const results = await Promise.allSettled(tokens.map((t) => post(s, t, auth())));
    assert.ok(results.some((r) => r.status === 'rejected'), 'some streams are refused');
  });

  it('verifies the provider token', async () => {
    const s = connect();
    const t = await device('production');
    assert.equal((await post(s, t, { 'apns-topic': 'com.example.app' })).reason, 'MissingProviderToken');
    assert.equal((await post(s, t, { ...auth(), authorization: 'bearer a.b.c' })).reason, 'InvalidProviderToken');
    const other = (await ctl('POST', 'keys', { bundleId: 'com.other' })).body as unknown as Minted;
    assert.equal((await post(s, t, { ...auth(), authorization: `bearer ${jwt(minted, undefined, other.config.key)}` })).reason, 'InvalidProviderToken');
    const old = await post(s, t, { ...auth(), authorization: `bearer ${jwt(minted, Math.floor(Date.now() / 1000) - 3700)}` });
    assert.deepEqual([old.status, old.reason], [403, 'ExpiredProviderToken']);
    assert.equal((await post(s, t, { ...auth(), 'apns-topic': 'com.other' })).reason, 'TopicDisallowed');
  });

  it('refuses a token change on one connection within 20 minutes', async () => {
    const s = connect();
    const t = await device('production');
    const now = Math.floor(Date.now() / 1000);
    assert.equal((await post(s, t, { ...auth(), authorization: `bearer ${jwt(minted, now - 60)}` })).status, 200);
    const again = await post(s, t, { ...auth(), authorization: `bearer ${jwt(minted, now)}` });
    assert.deepEqual([again.status, again.reason], [429, 'TooManyProviderTokenUpdates']);
  });

  it('checks path, headers and payload limits', async () => {
    const s = connect();
    const t = await device('production');
    assert.equal((await post(s, 'xyz', auth())).reason, 'BadDeviceToken');
    assert.equal((await post(s, t, { ...auth(), 'apns-priority': '7' })).reason, 'BadPriority');
    assert.equal((await post(s, t, { ...auth(), 'apns-push-type': 'background', 'apns-priority': '10' })).reason, 'BadPriority');
    assert.equal((await post(s, t, { ...auth(), 'apns-push-type': 'voip' })).reason, 'BadTopic');
    assert.equal((await post(s, t, { ...auth(), 'apns-collapse-id': 'c'.repeat(65) })).reason, 'BadCollapseId');
    assert.equal((await post(s, t, { ...auth(), 'apns-expiration': 'tomorrow' })).reason, 'BadExpirationDate');
    assert.equal((await post(s, t, { ...auth(), 'apns-id': 'nope' })).reason, 'BadMessageId');
    assert.equal((await post(s, t, { authorization: auth().authorization })).reason, 'MissingTopic');
    const big = JSON.stringify({ aps: {}, x: 'x'.repeat(4100) });
    assert.deepEqual(((a) => [a.status, a.reason])(await post(s, t, auth(), big)), [413, 'PayloadTooLarge']);
    const voip = await post(s, t, { ...auth(), 'apns-push-type': 'voip', 'apns-topic': 'com.example.app.voip' }, big);
    assert.equal(voip.status, 200);
    assert.equal((await post(s, t, auth(), '')).reason, 'PayloadEmpty');
  });

  it('knows which environment minted a token; unknown well-formed tokens are delivered anywhere', async () => {
    const sb = await device('sandbox');
    const prodSession = connect('production');
    const sbSession = connect('sandbox');
    assert.deepEqual(((a) => [a.status, a.reason])(await post(prodSession, sb, auth())), [400, 'BadDeviceToken']);
    const ok = await post(sbSession, sb, auth());
    assert.equal(ok.status, 200);
    assert.ok(ok.headers['apns-unique-id'], 'sandbox answers carry apns-unique-id');
    assert.equal((await post(prodSession, 'ab'.repeat(32), auth())).status, 200);
    assert.equal(store.forDevice('apns', sb).length, 1);
    assert.equal(store.forDevice('apns', sb)[0].headers['x-environment'], 'sandbox');
  });

  it('answers injections with status, reason and retry-after', async () => {
    const s = connect();
    const t = await device('production');
    store.inject('apns', t, { status: 429, reason: 'TooManyRequests', retryAfter: 3 });
    const a = await post(s, t, auth());
    assert.deepEqual([a.status, a.reason, a.headers['retry-after']], [429, 'TooManyRequests', '3']);
    assert.equal((await post(s, t, auth())).status, 200);
  });

  it('certificate auth: bundle id from the certificate, environment enforced', async () => {
    const c = (await ctl('POST', 'certificates', { bundleId: 'com.example.app', environment: 'production' })).body.config as Record<string, string>;
    const s = connect('production', { cert: c.certificate, key: c.privateKey });
    const t = await device('production');
    assert.equal((await post(s, t, { 'apns-topic': 'com.example.app' })).status, 200);
    assert.equal((await post(s, t, { 'apns-topic': 'com.other' })).reason, 'TopicDisallowed');
    const wrongEnv = connect('sandbox', { cert: c.certificate, key: c.privateKey });
    assert.equal((await post(wrongEnv, await device('sandbox'), { 'apns-topic': 'com.example.app' })).reason, 'BadCertificateEnvironment');
    const foreign = loadOrCreateTls(mkdtempSync(join(tmpdir(), 'apns-foreign-'))).issueClientCert('x', 'com.example.app');
    const bad = connect('production', { cert: foreign.certPem, key: foreign.keyPem });
    assert.equal((await post(bad, t, { 'apns-topic': 'com.example.app' })).reason, 'BadCertificate');
  });

  describe('service-wide faults', () => {
    it('answers 503 ServiceUnavailable with Retry-After for the period, then delivers again; counts requests per key', async () => {
      const s = connect();
      const t = await device('production');
      const counted = () => traffic.perSecond(0, Date.now() + 1000).filter((c) => c.credential === `${minted.teamId}/${minted.keyId}`).reduce((n, c) => n + c.requests, 0);
      const before = counted();
      faults.set(['apns'], { kind: 'status', status: 503, retryAfter: 5, durationMs: 400 });
      const a = await post(s, t, auth());
      assert.deepEqual([a.status, a.reason, a.headers['retry-after']], [503, 'ServiceUnavailable', '5']);
      assert.equal(store.forDevice('apns', t).length, 0, 'nothing recorded during the outage');
      await new Promise((r) => setTimeout(r, 450));
      assert.equal((await post(s, t, auth())).status, 200, 'back to normal when the period ends');
      assert.equal(counted() - before, 2, 'two requests counted for this credential');
    });

    it('429 TooManyRequests with Retry-After until cleared', async () => {
      const s = connect();
      const t = await device('production');
      faults.set(['apns'], { kind: 'status', status: 429, retryAfter: 10 });
      const a = await post(s, t, auth());
      assert.deepEqual([a.status, a.reason, a.headers['retry-after']], [429, 'TooManyRequests', '10']);
      assert.equal(faults.clear('apns'), 1);
      assert.equal((await post(s, t, auth())).status, 200);
    });

    it('hang: accepts the stream and never answers; in flight until the client gives up', async () => {
      const s = connect();
      const t = await device('production');
      assert.equal((await post(s, t, auth())).status, 200, 'a warm connection');
      faults.set(['apns'], { kind: 'hang', durationMs: 5000 });
      const pending = attempt(s, t, auth(), 300);
      await new Promise((r) => setTimeout(r, 150));
      assert.equal(traffic.snapshot().inFlight.apns, 1);
      assert.equal(await pending, null, 'no answer');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(traffic.snapshot().inFlight.apns, 0, 'finished once the client cancelled');
      faults.clear();
    });

    it('reset: RST_STREAM for one stream, GOAWAY for the connection, or a TCP reset', async () => {
      const t = await device('production');
      faults.set(['apns'], { kind: 'reset', reset: 'stream' });
      const s = connect();
      const r1 = await attempt(s, t, auth());
      assert.equal(r1?.rstCode, http2.constants.NGHTTP2_INTERNAL_ERROR);
      assert.equal(s.destroyed, false, 'the connection survives a stream reset');
      faults.clear();

      faults.set(['apns'], { kind: 'reset', reset: 'goaway' });
      const g = connect();
      const goaway = new Promise<number>((r) => g.once('goaway', (code: number) => r(code)));
      await attempt(g, t, auth());
      assert.equal(await goaway, http2.constants.NGHTTP2_INTERNAL_ERROR);
      faults.clear();

      faults.set(['apns'], { kind: 'reset', reset: 'tcp' });
      const c = connect();
      const sessionError = new Promise<string | undefined>((r) => c.once('error', (e: NodeJS.ErrnoException) => r(e.code)));
      const r3 = await attempt(c, t, auth());
      assert.equal(r3?.status, undefined, 'no answer');
      assert.equal(await sessionError, 'ECONNRESET');
      faults.clear();
      assert.equal((await post(connect(), t, auth())).status, 200);
    });
  });
});
