import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FaultPlan } from '../core/fault-plan';
import { ReceiptStore } from '../core/receipt-store';
import { loadOrCreateTls } from '../core/sandbox-ca';
import { TrafficMeter } from '../core/traffic-meter';
import { WnsStandIn } from './wns.stand-in';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * The stand-in on its own, spoken to with plain https requests: it must check what
 * WNS and the two Microsoft token endpoints check, so the provider tests mean something.
 */
describe('WNS stand-in protocol', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wns-standin-'));
  const tls = loadOrCreateTls(dir);
  const store = new ReceiptStore({ countOnly: false, perDeviceLimit: 50 });
  const faults = new FaultPlan();
  const traffic = new TrafficMeter();
  const standIn = new WnsStandIn({ store, tls, host: 'localhost', faults, traffic });
  const agent = new Agent({ keepAlive: true, ca: tls.caPem });

  before(async () => {
    await standIn.listen(0);
  });
  after(async () => {
    agent.destroy();
    await standIn.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function call(method: string, url: string, headers: Record<string, string>, body?: string | Buffer): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const r = request(url, { method, agent, headers });
      r.on('error', reject);
      r.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      });
      r.end(body);
    });
  }

  const control = async (method: string, path: string, body?: unknown) => {
    const a = await standIn.control({ method, path, query: new URLSearchParams(), body, raw: {} as IncomingMessage });
    assert.ok(a, `control ${method} ${path}`);
    return a as { status: number; body: Record<string, unknown> };
  };
  const form = (f: Record<string, string>) => new URLSearchParams(f).toString();
  const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' };

  async function legacyApp(ttl?: number) {
    const app = (await control('POST', 'apps', { flow: 'legacy', tokenTtlSeconds: ttl })).body as { clientId: string; config: Record<string, string> };
    const t = await call('POST', standIn.tokenUrls().legacy, formHeaders, form({
      grant_type: 'client_credentials', client_id: app.clientId, client_secret: app.config.clientSecret, scope: 'notify.windows.com',
    }));
    assert.equal(t.status, 200, t.body);
    const token = (JSON.parse(t.body) as { access_token: string }).access_token;
    const ch = (await control('POST', 'channels', { appClientId: app.clientId })).body as { channelId: string; channelUri: string };
    return { app, token, ...ch };
  }

  const toast = '<toast><visual><binding template="ToastGeneric"><text>hi</text></binding></visual></toast>';
  const wnsHeaders = (token: string, extra: Record<string, string> = {}) => ({
    authorization: `Bearer ${token}`, 'x-wns-type': 'wns/toast', 'content-type': 'text/xml', ...extra,
  });

  it('mints apps whose config is ready for the API, and rejects bad control input', async () => {
    const legacy = await control('POST', 'apps', { flow: 'legacy' });
    assert.equal(legacy.status, 201);
    assert.match((legacy.body.config as Record<string, string>).packageSid, /^ms-app:\/\/s-1-15-2-\d+(-\d+){6}$/);
    assert.deepEqual(Object.keys(legacy.body.config as object), ['flow', 'packageSid', 'clientSecret']);
    const entra = await control('POST', 'apps', { flow: 'entra' });
    assert.deepEqual(Object.keys(entra.body.config as object), ['flow', 'tenantId', 'clientId', 'clientSecret']);
    assert.equal((entra.body.credential as { provider: string }).provider, 'wns');
    assert.equal((await control('POST', 'apps', { flow: 'oauth1' })).status, 400);
    assert.equal((await control('POST', 'apps', { tokenTtlSeconds: 0 })).status, 400);
    assert.equal((await control('POST', 'channels', { appClientId: 'nobody' })).status, 404);
    assert.equal(await standIn.control({ method: 'GET', path: 'nothing', query: new URLSearchParams(), body: undefined, raw: {} as IncomingMessage }), null);
  });

  it('legacy token endpoint checks grant, client, secret and scope', async () => {
    const { app } = await legacyApp();
    const good = { grant_type: 'client_credentials', client_id: app.clientId, client_secret: app.config.clientSecret, scope: 'notify.windows.com' };
    const url = standIn.tokenUrls().legacy;
    const wrongSecret = await call('POST', url, formHeaders, form({ ...good, client_secret: 'x' }));
    assert.deepEqual([wrongSecret.status, JSON.parse(wrongSecret.body).error], [400, 'invalid_client']);
    assert.equal(JSON.parse((await call('POST', url, formHeaders, form({ ...good, scope: 'https://wns.windows.com/.default' }))).body).error, 'invalid_scope');
    assert.equal(JSON.parse((await call('POST', url, formHeaders, form({ ...good, grant_type: 'password' }))).body).error, 'unsupported_grant_type');
    assert.equal((await call('POST', url, { 'content-type': 'application/json' }, JSON.stringify(good))).status, 400);
    const ok = JSON.parse((await call('POST', url, formHeaders, form(good))).body) as Record<string, unknown>;
    assert.equal(ok.token_type, 'bearer');
    assert.equal(ok.expires_in, 86_400);
  });

  it('Entra token endpoint checks tenant, client, secret and scope', async () => {
    const app = (await control('POST', 'apps', { flow: 'entra', tokenTtlSeconds: 60 })).body as { clientId: string; tenantId: string; config: Record<string, string> };
    const good = { grant_type: 'client_credentials', client_id: app.clientId, client_secret: app.config.clientSecret, scope: 'https://wns.windows.com/.default' };
    const url = (tenant: string) => standIn.tokenUrls().entraTemplate.replace('{tenant}', tenant);
    assert.equal((await call('POST', url('00000000-0000-0000-0000-000000000000'), formHeaders, form(good))).status, 400);
    const badSecret = await call('POST', url(app.tenantId), formHeaders, form({ ...good, client_secret: 'x' }));
    assert.deepEqual([badSecret.status, JSON.parse(badSecret.body).error], [401, 'invalid_client']);
    assert.equal(JSON.parse((await call('POST', url(app.tenantId), formHeaders, form({ ...good, scope: 'notify.windows.com' }))).body).error, 'invalid_scope');
    const ok = await call('POST', url(app.tenantId), formHeaders, form(good));
    assert.equal(ok.status, 200);
    assert.equal(JSON.parse(ok.body).expires_in, 60);
    const { app: legacy } = await legacyApp();
    assert.equal((await call('POST', url(app.tenantId), formHeaders, form({ ...good, client_id: legacy.clientId }))).status, 400);
  });

  it('accepts a valid toast, answers with the WNS status headers and records the receipt', async () => {
    const { token, channelId, channelUri } = await legacyApp();
    const a = await call('POST', channelUri, wnsHeaders(token, { 'x-wns-tag': 'exactly-16-chars', 'x-wns-ttl': '60' }), toast);
    assert.equal(a.status, 200);
    assert.equal(a.headers['x-wns-status'], 'received');
    assert.equal(a.headers['x-wns-deviceconnectionstatus'], 'connected');
    assert.match(String(a.headers['x-wns-msg-id']), /^[0-9A-F]{16}$/);
    const [r] = store.forDevice('wns', channelId);
    assert.equal(r.payload, toast);
    assert.equal(r.headers['x-wns-tag'], 'exactly-16-chars');
  });

  it('accepts raw octet-stream bodies as they are', async () => {
    const { token, channelId, channelUri } = await legacyApp();
    const a = await call('POST', channelUri, wnsHeaders(token, { 'x-wns-type': 'wns/raw', 'content-type': 'application/octet-stream' }), '{"a":"<1>"}');
    assert.equal(a.status, 200);
    assert.equal(store.forDevice('wns', channelId)[0].payload, '{"a":"<1>"}');
  });

  const invalid: Array<[string, Record<string, string>, string, number, RegExp]> = [
    ['an unknown X-WNS-Type', { 'x-wns-type': 'wns/popup' }, toast, 400, /X-WNS-Type/],
    ['a missing X-WNS-Type', { 'x-wns-type': '' }, toast, 400, /X-WNS-Type/],
    ['raw with text/xml', { 'x-wns-type': 'wns/raw' }, '{}', 400, /Content-Type must be application\/octet-stream/],
    ['toast with octet-stream', { 'content-type': 'application/octet-stream' }, toast, 400, /Content-Type must be text\/xml/],
    ['a 17-character tag', { 'x-wns-tag': 'x'.repeat(17) }, toast, 400, /x-wns-tag/],
    ['a 17-character group', { 'x-wns-group': 'x'.repeat(17) }, toast, 400, /x-wns-group/],
    ['a non-numeric TTL', { 'x-wns-ttl': 'soon' }, toast, 400, /TTL/],
    ['a bad cache policy', { 'x-wns-cache-policy': 'always' }, toast, 400, /Cache-Policy/],
    ['malformed XML', {}, '<toast><visual></toast>', 400, /well-formed/],
    ['a root not matching the type', { 'x-wns-type': 'wns/badge' }, toast, 400, /<badge>/],
    ['a payload over 5000 bytes', {}, `<toast>${'x'.repeat(5000)}</toast>`, 413, /5000/],
  ];
  for (const [name, extra, body, status, rule] of invalid) {
    it(`rejects ${name} with ${status}`, async () => {
      const { token, channelId, channelUri } = await legacyApp();
      const a = await call('POST', channelUri, wnsHeaders(token, extra), body);
      assert.equal(a.status, status);
      assert.match(String(a.headers['x-wns-error-description']), rule);
      assert.equal(store.forDevice('wns', channelId).length, 0);
    });
  }

  it('answers 401 to a missing, unknown, revoked or expired token and 403 to another app\'s token', async () => {
    const mine = await legacyApp(1);
    const other = await legacyApp();
    assert.equal((await call('POST', mine.channelUri, { 'x-wns-type': 'wns/toast', 'content-type': 'text/xml' }, toast)).status, 401);
    assert.equal((await call('POST', mine.channelUri, wnsHeaders('EwBnope'), toast)).status, 401);
    assert.equal((await call('POST', mine.channelUri, wnsHeaders(other.token), toast)).status, 403);
    await control('POST', 'revoke-tokens', { appClientId: other.app.clientId });
    assert.equal((await call('POST', other.channelUri, wnsHeaders(other.token), toast)).status, 401);
    assert.equal((await call('POST', mine.channelUri, wnsHeaders(mine.token), toast)).status, 200);
    await sleep(1050);
    const expired = await call('POST', mine.channelUri, wnsHeaders(mine.token), toast);
    assert.equal(expired.status, 401);
    assert.match(String(expired.headers['www-authenticate']), /expired/);
  });

  it('answers 404 to unknown channels, 410 to deleted ones and 405 to other methods', async () => {
    const { token, channelId, channelUri } = await legacyApp();
    assert.equal((await call('POST', `${standIn.baseUrl()}/w/?token=ffffffff.unknownchannel`, wnsHeaders(token), toast)).status, 404);
    assert.equal((await call('GET', channelUri, wnsHeaders(token))).status, 405);
    await control('DELETE', `channels/${channelId}`);
    assert.equal((await call('POST', channelUri, wnsHeaders(token), toast)).status, 410);
  });

  it('answers injected errors with their headers, Location for redirects, then recovers', async () => {
    const { token, channelId, channelUri } = await legacyApp();
    store.inject('wns', channelId, { status: 406, retryAfter: 9 });
    store.inject('wns', channelId, { status: 302, reason: 'https://localhost:1/elsewhere' });
    const throttled = await call('POST', channelUri, wnsHeaders(token), toast);
    assert.deepEqual([throttled.status, throttled.headers['x-wns-status'], throttled.headers['retry-after']], [406, 'channelthrottled', '9']);
    const moved = await call('POST', channelUri, wnsHeaders(token), toast);
    assert.deepEqual([moved.status, moved.headers.location], [302, 'https://localhost:1/elsewhere']);
    assert.equal((await call('POST', channelUri, wnsHeaders(token), toast)).status, 200);
  });

  it('counts token mints per app and flow in GET /wns/stats', async () => {
    const s0 = (await control('GET', 'stats')).body as { tokensMinted: { total: number; legacy: number } };
    const { app } = await legacyApp();
    const s1 = (await control('GET', 'stats')).body as { tokensMinted: { total: number; legacy: number; byApp: Record<string, number> } };
    assert.equal(s1.tokensMinted.total, s0.tokensMinted.total + 1);
    assert.equal(s1.tokensMinted.legacy, s0.tokensMinted.legacy + 1);
    assert.equal(s1.tokensMinted.byApp[app.clientId], 1);
  });

  describe('service-wide faults (channel endpoint only)', () => {
    /** A channel request that may be reset or never answered: status, error code, or null after `waitMs`. */
    const attempt = (uri: string, token: string, waitMs = 2000) =>
      new Promise<{ status?: number; retryAfter?: string; error?: string } | null>((resolve) => {
        const r = request(uri, { method: 'POST', agent, headers: wnsHeaders(token) });
        r.setTimeout(waitMs, () => {
          r.destroy();
          resolve(null);
        });
        r.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code }));
        r.on('response', (res) => {
          res.resume();
          resolve({ status: res.statusCode, retryAfter: res.headers['retry-after'] as string | undefined });
        });
        r.end(toast);
      });

    it('answers 503 with Retry-After for the period, token endpoint unaffected; counts requests per client', async () => {
      const { app, token, channelUri } = await legacyApp();
      const counted = () => traffic.perSecond(0, Date.now() + 1000).filter((c) => c.credential === `client:${app.clientId}`).reduce((n, c) => n + c.requests, 0);
      faults.set(['wns'], { kind: 'status', status: 503, retryAfter: 4, durationMs: 300 });
      assert.deepEqual(await attempt(channelUri, token), { status: 503, retryAfter: '4' });
      assert.ok((await legacyApp()).token, 'tokens are still issued: login is another host');
      await sleep(350);
      assert.equal((await attempt(channelUri, token))?.status, 200);
      assert.equal(counted(), 2);
    });

    it('hang: never answers; reset: ECONNRESET', async () => {
      const { token, channelUri } = await legacyApp();
      faults.set(['wns'], { kind: 'hang' });
      assert.equal(await attempt(channelUri, token, 300), null);
      await sleep(50);
      assert.equal(traffic.snapshot().inFlight.wns, 0);
      faults.clear();
      faults.set(['wns'], { kind: 'reset' });
      assert.deepEqual(await attempt(channelUri, token), { error: 'ECONNRESET' });
      faults.clear();
      assert.equal((await attempt(channelUri, token))?.status, 200);
    });
  });
});
