import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultPlan } from '../core/fault-plan';
import { ReceiptStore } from '../core/receipt-store';
import { loadOrCreateTls, type SandboxTls } from '../core/sandbox-ca';
import { TrafficMeter } from '../core/traffic-meter';
import { FcmStandIn } from './fcm.stand-in';

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

describe('fcm stand-in: Google OAuth token endpoint and HTTP v1 wire rules', () => {
  let tls: SandboxTls;
  let store: ReceiptStore;
  let standIn: FcmStandIn;
  let sa: Record<string, string>;
  const faults = new FaultPlan();
  const traffic = new TrafficMeter();

  const ctl = async (method: string, path: string, body?: unknown) =>
    standIn.control({ method, path, body, query: new URLSearchParams(), raw: {} as IncomingMessage });

  /** HTTP/1.1 POST, as most OAuth clients talk to the token endpoint. */
  const post1 = (path: string, body: string, type = 'application/x-www-form-urlencoded') =>
    new Promise<{ status: number; json: Record<string, unknown> }>((resolve, reject) => {
      const req = https.request(`${standIn.baseUrl()}${path}`, { method: 'POST', ca: tls.caPem, headers: { 'content-type': type } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()) }));
      });
      req.on('error', reject);
      req.end(body);
    });

  /** HTTP/2 POST, as the FCM client sends. */
  const post2 = (path: string, body: string, headers: Record<string, string>) =>
    new Promise<{ status: number; json: Record<string, unknown> }>((resolve, reject) => {
      const s = http2.connect(standIn.baseUrl(), { ca: tls.caPem });
      s.on('error', reject);
      const st = s.request({ ':method': 'POST', ':path': path, 'content-type': 'application/json', ...headers });
      let status = 0;
      const chunks: Buffer[] = [];
      st.on('response', (h) => (status = Number(h[':status'])));
      st.on('data', (c: Buffer) => chunks.push(c));
      st.on('end', () => {
        s.close();
        resolve({ status, json: JSON.parse(Buffer.concat(chunks).toString()) });
      });
      st.end(body);
    });

  function assertion(claims: Record<string, unknown>, keyPem = sa.private_key): string {
    const now = Math.floor(Date.now() / 1000);
    const input = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({
      iss: sa.client_email, aud: sa.token_uri, scope: 'https://www.googleapis.com/auth/firebase.messaging', iat: now, exp: now + 3600, ...claims,
    })}`;
    return `${input}.${sign('RSA-SHA256', Buffer.from(input), createPrivateKey(keyPem)).toString('base64url')}`;
  }
  const grant = (a: string) =>
    post1('/token', new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: a }).toString());

  before(async () => {
    tls = loadOrCreateTls(mkdtempSync(join(tmpdir(), 'fcm-standin-')));
    store = new ReceiptStore({ countOnly: false, perDeviceLimit: 50 });
    standIn = new FcmStandIn({ store, tls, host: 'localhost', faults, traffic });
    await standIn.listen(0);
    sa = (await ctl('POST', 'service-accounts', { projectId: 'stand-in-test' }))?.body as Record<string, string>;
  });
  after(async () => standIn.close());

  it('mints a service-account JSON whose token_uri is the stand-in', () => {
    assert.equal(sa.type, 'service_account');
    assert.equal(sa.project_id, 'stand-in-test');
    assert.equal(sa.token_uri, `${standIn.baseUrl()}/token`);
    assert.match(sa.private_key, /^-----BEGIN PRIVATE KEY-----/);
    assert.match(sa.client_email, /@stand-in-test\.iam\.gserviceaccount\.com$/);
  });

  it('issues an access token for a valid assertion over HTTP/1.1', async () => {
    const r = await grant(assertion({}));
    assert.equal(r.status, 200);
    assert.match(String(r.json.access_token), /^ya29\./);
    assert.equal(r.json.token_type, 'Bearer');
    assert.equal(r.json.expires_in, 3599);
  });

  it('refuses bad grants the way Google does', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[string, number, string]> = [
      [assertion({}, other), 400, 'invalid_grant'], // signed with another key
      [assertion({ aud: 'https://oauth2.googleapis.com/token' }), 400, 'invalid_grant'],
      [assertion({ scope: 'https://www.googleapis.com/auth/cloud-platform' }), 400, 'invalid_scope'],
      [assertion({ iat: now - 7200, exp: now - 3600 }), 400, 'invalid_grant'], // expired
      [assertion({ exp: now + 7200 }), 400, 'invalid_grant'], // longer than an hour
      [assertion({ iss: 'nobody@x.iam.gserviceaccount.com' }), 401, 'invalid_client'],
      ['not.a-jwt', 400, 'invalid_grant'],
    ];
    for (const [a, status, error] of cases) {
      const r = await grant(a);
      assert.equal(r.status, status, JSON.stringify(r.json));
      assert.equal(r.json.error, error);
    }
    const wrongGrant = await post1('/token', 'grant_type=client_credentials');
    assert.equal(wrongGrant.json.error, 'unsupported_grant_type');
  });

  it('authenticates sends, validates bodies and answers in Google\'s error shape', async () => {
    const token = (await grant(assertion({}))).json.access_token as string;
    const reg = ((await ctl('POST', 'tokens', { projectId: 'stand-in-test' }))?.body as { token: string }).token;
    assert.match(reg, /^[A-Za-z0-9_-]{22}:APA91b[A-Za-z0-9_-]+$/);
    const path = '/v1/projects/stand-in-test/messages:send';
    const auth = { authorization: `Bearer ${token}` };
    const send = (message: unknown, headers = auth, p = path) => post2(p, JSON.stringify({ message }), headers);

    const ok = await send({ token: reg, data: { a: 'b' } });
    assert.equal(ok.status, 200);
    assert.match(String(ok.json.name), /^projects\/stand-in-test\/messages\/0:/);
    assert.deepEqual(store.forDevice('fcm', reg)[0].payload, { data: { a: 'b' } });

    const unauth = await send({ token: reg }, { authorization: 'Bearer ya29.unknown' });
    assert.equal(unauth.status, 401);
    assert.equal((unauth.json.error as Record<string, unknown>).status, 'UNAUTHENTICATED');

    const otherProject = await send({ token: reg }, auth, '/v1/projects/someone-else/messages:send');
    assert.equal(otherProject.status, 403);

    const badRequests: Array<[unknown, string]> = [
      [{ data: { a: 'b' } }, 'message'], // no target
      [{ token: reg, topic: 'news' }, 'message'], // two targets
      [{ token: reg, data: { n: 1 } }, 'message.data[n]'],
      [{ token: reg, android: { ttl: '3000000s' } }, 'message.android.ttl'],
      [{ token: reg, android: { priority: 'high' } }, 'message.android.priority'],
      [{ token: reg, surprise: 1 }, 'message.surprise'],
      [{ token: reg, notification: { body: 'x'.repeat(4100) } }, 'message'],
      [{ token: 'not a token' }, 'message.token'],
    ];
    for (const [message, field] of badRequests) {
      const r = await send(message);
      const err = r.json.error as { status: string; details: Array<{ fieldViolations?: Array<{ field: string }> }> };
      assert.equal(r.status, 400, JSON.stringify(message));
      assert.equal(err.status, 'INVALID_ARGUMENT');
      assert.equal(err.details.find((d) => d.fieldViolations)?.fieldViolations?.[0].field, field, JSON.stringify(message));
    }
  });

  it('answers injected errors with Retry-After and counts mints', async () => {
    const token = (await grant(assertion({}))).json.access_token as string;
    store.inject('fcm', 'x'.repeat(30), { status: 429, reason: 'QUOTA_EXCEEDED', retryAfter: 9 });
    const r = await new Promise<{ status: number; retryAfter: string | undefined; json: Record<string, unknown> }>((resolve, reject) => {
      const s = http2.connect(standIn.baseUrl(), { ca: tls.caPem });
      s.on('error', reject);
      const st = s.request({ ':method': 'POST', ':path': '/v1/projects/stand-in-test/messages:send', authorization: `Bearer ${token}` });
      let status = 0;
      let retryAfter: string | undefined;
      const chunks: Buffer[] = [];
      st.on('response', (h) => {
        status = Number(h[':status']);
        retryAfter = h['retry-after'] as string | undefined;
      });
      st.on('data', (c: Buffer) => chunks.push(c));
      st.on('end', () => {
        s.close();
        resolve({ status, retryAfter, json: JSON.parse(Buffer.concat(chunks).toString()) });
      });
      st.end(JSON.stringify({ message: { token: 'x'.repeat(30) } }));
    });
    assert.equal(r.status, 429);
    assert.equal(r.retryAfter, '9');
    assert.deepEqual(r.json.error, {
      code: 429,
      message: "Quota exceeded for quota metric 'Send messages' and limit 'Send messages per minute'.",
      status: 'RESOURCE_EXHAUSTED',
      details: [{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'QUOTA_EXCEEDED' }],
    });
    const stats = (await ctl('GET', 'stats'))?.body as { mints: number; accounts: Array<{ mints: number }> };
    assert.equal(stats.mints, 3);
    assert.equal(stats.accounts[0].mints, 3);
  });

  it('validates control input', async () => {
    assert.equal((await ctl('POST', 'service-accounts', { projectId: 'X!' }))?.status, 400);
    assert.equal((await ctl('POST', 'service-accounts', { tokenTtlSeconds: 0 }))?.status, 400);
    assert.equal((await ctl('PATCH', 'service-accounts/nobody@x', { disabled: true }))?.status, 404);
    assert.equal(await ctl('GET', 'nothing-here'), null);
  });

  describe('service-wide faults', () => {
    const SEND = '/v1/projects/stand-in-test/messages:send';
    const body = JSON.stringify({ message: { token: `abc:APA91b${'x'.repeat(40)}`, data: { k: 'v' } } });
    let bearer = '';
    before(async () => {
      bearer = `Bearer ${String((await grant(assertion({}))).json.access_token)}`;
    });

    /** One HTTP/2 send: its answer, how its stream ended, or null when nothing came within `waitMs`. */
    const send = (session: http2.ClientHttp2Session, waitMs = 2000) =>
      new Promise<{ status?: number; retryAfter?: string; json?: Record<string, unknown>; rstCode?: number; error?: string } | null>((resolve) => {
        const st = session.request({ ':method': 'POST', ':path': SEND, 'content-type': 'application/json', authorization: bearer });
        const timer = setTimeout(() => {
          st.close(http2.constants.NGHTTP2_CANCEL);
          resolve(null);
        }, waitMs);
        let head: http2.IncomingHttpHeaders | null = null;
        const chunks: Buffer[] = [];
        st.on('response', (h) => (head = h));
        st.on('data', (c: Buffer) => chunks.push(c));
        st.on('error', (e: NodeJS.ErrnoException) => {
          clearTimeout(timer);
          resolve({ rstCode: st.rstCode, error: e.code });
        });
        st.on('close', () => {
          clearTimeout(timer);
          if (!head) return resolve({ rstCode: st.rstCode });
          const h = head as http2.IncomingHttpHeaders;
          resolve({ status: Number(h[':status']), retryAfter: h['retry-after'] as string | undefined, json: JSON.parse(Buffer.concat(chunks).toString() || '{}') });
        });
        st.end(body);
      });
    const session = () => {
      const s = http2.connect(standIn.baseUrl(), { ca: tls.caPem });
      s.on('error', () => undefined);
      return s;
    };

    it('answers 503 UNAVAILABLE with Retry-After for the period, then sends again; counts requests per project', async () => {
      const s = session();
      const counted = () => traffic.perSecond(0, Date.now() + 1000).filter((c) => c.credential === 'project:stand-in-test').reduce((n, c) => n + c.requests, 0);
      const before = counted();
      faults.set(['fcm'], { kind: 'status', status: 503, retryAfter: 5, durationMs: 300 });
      const a = await send(s);
      assert.equal(a?.status, 503);
      assert.equal(a?.retryAfter, '5');
      assert.equal((a?.json?.error as { status: string }).status, 'UNAVAILABLE');
      await new Promise((r) => setTimeout(r, 350));
      assert.equal((await send(s))?.status, 200);
      assert.equal(counted() - before, 2, 'two requests counted for this credential');
      s.close();
    });

    it('hang: never answers, in flight until the client cancels', async () => {
      const s = session();
      faults.set(['fcm'], { kind: 'hang' });
      assert.equal(await send(s, 300), null);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(traffic.snapshot().inFlight.fcm, 0);
      faults.clear();
      s.close();
    });

    it('reset: RST_STREAM, or a TCP reset over HTTP/2 and over HTTP/1.1', async () => {
      faults.set(['fcm'], { kind: 'reset', reset: 'stream' });
      const s = session();
      assert.equal((await send(s))?.rstCode, http2.constants.NGHTTP2_INTERNAL_ERROR);
      faults.clear();
      assert.equal((await send(s))?.status, 200, 'same connection still works');
      s.close();

      faults.set(['fcm'], { kind: 'reset', reset: 'tcp' });
      const c = http2.connect(standIn.baseUrl(), { ca: tls.caPem });
      const err = new Promise<string | undefined>((r) => c.once('error', (e: NodeJS.ErrnoException) => r(e.code)));
      await send(c);
      assert.equal(await err, 'ECONNRESET');
      const h1 = await new Promise<string | undefined>((resolve) => {
        const req = https.request(`${standIn.baseUrl()}${SEND}`, { method: 'POST', ca: tls.caPem, headers: { authorization: bearer, 'content-type': 'application/json' } });
        req.on('response', () => resolve('answered'));
        req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code));
        req.end(body);
      });
      assert.equal(h1, 'ECONNRESET');
      faults.clear();
    });
  });
});
