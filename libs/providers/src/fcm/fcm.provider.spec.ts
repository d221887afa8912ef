import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LoggerService } from '@nestjs/common';
import { loadConfig } from '@app/common';
import { ReceiptStore, loadOrCreateTls, type SandboxTls, FcmStandIn } from '@app/sandbox';
import type { CanonicalNotification } from '../canonical';
import type { CredentialRecord, DeviceRef } from '../provider.interface';
import type { ProviderContext } from '../provider-context';
import { FcmProvider } from './fcm.provider';

class CapturingLogger implements LoggerService {
  readonly errors: string[] = [];
  log(): void {}
  warn(): void {}
  debug(): void {}
  error(message: unknown): void {
    this.errors.push(String(message));
  }
}

const note = (over: Partial<CanonicalNotification> = {}): CanonicalNotification => ({
  id: randomUUID(), appId: 'app-1', title: 'Hello', body: 'World', data: { orderId: '42' },
  priority: 'high', silent: false, acceptedAt: Date.now(), ...over,
});

describe('fcm provider against the sandbox stand-in (HTTP/2, OAuth JWT-bearer)', () => {
  let tls: SandboxTls;
  let store: ReceiptStore;
  let standIn: FcmStandIn;
  const opened: FcmProvider[] = [];

  const ctl = async (method: string, path: string, body?: unknown): Promise<Record<string, unknown>> => {
    const a = await standIn.control({ method, path, body, query: new URLSearchParams(), raw: {} as IncomingMessage });
    assert.ok(a && a.status < 300, `control ${method} ${path} failed: ${JSON.stringify(a)}`);
    return a.body as Record<string, unknown>;
  };

  function provider(env: Record<string, string> = {}): { p: FcmProvider; logger: CapturingLogger } {
    const config = loadConfig({
      DATABASE_URL: 'postgres://x', ADMIN_API_KEY: 'k'.repeat(24), MASTER_KEY: 'a'.repeat(64), SANDBOX_ENABLED: 'true',
      FCM_BASE_URL: standIn.baseUrl(), FCM_REQUEST_TIMEOUT_MS: '800', ...env,
    });
    const logger = new CapturingLogger();
    const ctx: ProviderContext = {
      config, logger, extraCa: tls.caPem,
      urlGuard: { wns: { allowlist: [], sandboxEnabled: true }, webpush: { allowlist: [], sandboxEnabled: true } },
    };
    const p = new FcmProvider(ctx);
    opened.push(p);
    return { p, logger };
  }

  async function credential(p: FcmProvider, opts: { projectId?: string; tokenTtlSeconds?: number } = {}) {
    const sa = await ctl('POST', 'service-accounts', opts);
    const n = p.normalizeCredential(sa);
    const cred: CredentialRecord = {
      id: randomUUID(), appId: 'app-1', provider: 'fcm', name: 'default', environment: null, secret: n.secret, version: 1,
    };
    return { cred, email: sa.client_email as string, projectId: sa.project_id as string };
  }

  const device = async (projectId?: string): Promise<DeviceRef> => ({ id: randomUUID(), token: (await ctl('POST', 'tokens', { projectId })).token as string });
  const mints = (email: string): number =>
    standIn.oauth.stats().accounts.find((a) => a.clientEmail === email)?.mints ?? -1;

  before(async () => {
    tls = loadOrCreateTls(mkdtempSync(join(tmpdir(), 'fcm-sandbox-')));
    store = new ReceiptStore({ countOnly: false, perDeviceLimit: 50 });
    standIn = new FcmStandIn({ store, tls, host: 'localhost' });
    await standIn.listen(0);
  });
  after(async () => {
    await Promise.all(opened.map((p) => p.close()));
    await standIn.close();
  });

  it('delivers over HTTP v1 and the device receives the translated message', async () => {
    const { p } = provider();
    const { cred, projectId } = await credential(p);
    const d = await device(projectId);
    const [o] = await p.send(cred, note({ collapseId: 'score', ttlSeconds: 60 }), [d]);
    assert.equal(o.kind, 'delivered');
    assert.match(o.kind === 'delivered' ? (o.providerMessageId ?? '') : '', new RegExp(`^projects/${projectId}/messages/0:`));
    const [r] = store.forDevice('fcm', d.token);
    const payload = r.payload as Record<string, Record<string, unknown>>;
    assert.deepEqual(payload.notification, { title: 'Hello', body: 'World' });
    assert.deepEqual(payload.data, { orderId: '42' });
    assert.equal(payload.android.priority, 'HIGH');
    assert.equal(payload.android.ttl, '60s');
    assert.equal(payload.android.collapse_key, 'score');
    assert.equal(r.headers.project, projectId);
  });

  it('maps every FCM answer to its outcome, one per device, in order', async () => {
    const { p, logger } = provider();
    const { cred, projectId } = await credential(p);
    const rows: Array<[Record<string, unknown> | null, Record<string, unknown>]> = [
      [null, { kind: 'delivered' }],
      [{ status: 404, reason: 'UNREGISTERED' }, { kind: 'invalid_token', reason: 'UNREGISTERED' }],
      [{ status: 404, reason: 'NOT_FOUND' }, { kind: 'invalid_token', reason: 'NOT_FOUND' }],
      [{ status: 403, reason: 'SENDER_ID_MISMATCH' }, { kind: 'invalid_token', reason: 'SENDER_ID_MISMATCH' }],
      [{ status: 400, reason: 'INVALID_ARGUMENT' }, { kind: 'invalid_token', reason: 'INVALID_ARGUMENT: message.token' }],
      [{ status: 400, reason: 'INVALID_ARGUMENT:message.data[x]' }, { kind: 'failed', reason: 'INVALID_ARGUMENT: Request contains an invalid argument.' }],
      [{ status: 429, reason: 'QUOTA_EXCEEDED', retryAfter: 7 }, { kind: 'retry', reason: 'QUOTA_EXCEEDED', retryAfterMs: 7000, throttled: true }],
      [{ status: 503, reason: 'UNAVAILABLE', retryAfter: 3 }, { kind: 'retry', reason: 'UNAVAILABLE', retryAfterMs: 3000 }],
      [{ status: 500, reason: 'INTERNAL' }, { kind: 'retry', reason: 'INTERNAL' }],
      [{ status: 401, reason: 'THIRD_PARTY_AUTH_ERROR' }, { kind: 'failed', reason: 'THIRD_PARTY_AUTH_ERROR: Auth error from APNS or Web Push Service', alarm: true }],
      [{ status: 403, reason: 'PERMISSION_DENIED' }, { kind: 'failed', alarm: true }],
      [{ status: 200, stallMs: 1500 }, { kind: 'retry', reason: 'transport: ETIMEDOUT' }],
    ];
    const devices: DeviceRef[] = [];
    for (const [inj] of rows) {
      const d = await device(projectId);
      if (inj) store.inject('fcm', d.token, inj as never);
      devices.push(d);
    }
    const outcomes = await p.send(cred, note(), devices);
    assert.equal(outcomes.length, rows.length);
    rows.forEach(([inj, expected], i) => {
      const got = outcomes[i] as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(expected)) assert.deepEqual(got[k], v, `row ${i} ${JSON.stringify(inj)}: ${JSON.stringify(got)}`);
      if (expected.kind === 'delivered') assert.match(String(got.providerMessageId), /^projects\//);
    });
    assert.ok(logger.errors.some((e) => e.includes('"alarm":true') && e.includes(cred.id)), 'credential alarm logged');
    assert.ok(logger.errors.every((e) => !e.includes(devices[0].token)), 'tokens never logged in full');
  });

  it('classifies organic answers: unregistered token, another project\'s token, malformed token', async () => {
    const { p } = provider();
    const { cred, projectId } = await credential(p);
    const gone = await device(projectId);
    await ctl('DELETE', `tokens/${encodeURIComponent(gone.token)}`);
    const foreign = await device('some-other-project');
    const malformed: DeviceRef = { id: 'm', token: 'this token has spaces and is not FCM' };
    const outcomes = await p.send(cred, note(), [gone, foreign, malformed]);
    assert.deepEqual(outcomes.map((o) => o.kind), ['invalid_token', 'invalid_token', 'invalid_token']);
    assert.deepEqual(outcomes.map((o) => (o.kind === 'invalid_token' ? o.reason : '')), ['UNREGISTERED', 'SENDER_ID_MISMATCH', 'INVALID_ARGUMENT: message.token']);
  });

  it('reconnects after the session is dropped with GOAWAY (that send is retried)', async () => {
    const { p } = provider();
    const { cred, projectId } = await credential(p);
    const d = await device(projectId);
    store.inject('fcm', d.token, { status: 200, goaway: true });
    const [first] = await p.send(cred, note(), [d]);
    assert.equal(first.kind, 'retry');
    assert.match(first.kind === 'retry' ? first.reason : '', /^transport: /);
    const [second] = await p.send(cred, note(), [d]);
    assert.equal(second.kind, 'delivered');
  });

  it('retries when FCM or the token endpoint cannot be reached', async () => {
    const closed = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, () => {
        const port = (srv.address() as AddressInfo).port;
        srv.close(() => resolve(port));
      });
    });
    const down = provider({ FCM_BASE_URL: `https://localhost:${closed}` }).p;
    const { cred, projectId } = await credential(down);
    const d = await device(projectId);
    const [a] = await down.send(cred, note(), [d]);
    assert.equal(a.kind, 'retry');
    assert.match(a.kind === 'retry' ? a.reason : '', /^transport: /);

    const { p } = provider();
    const noTokenEndpoint = { ...cred, id: randomUUID(), secret: { ...cred.secret, tokenUri: `https://localhost:${closed}/token` } };
    const [b] = await p.send(noTokenEndpoint, note(), [d]);
    assert.equal(b.kind, 'retry');
    assert.match(b.kind === 'retry' ? b.reason : '', /^token endpoint unreachable/);
  });

  it('mints one access token for many concurrent sends, and one more after it expires', async () => {
    const { p } = provider();
    const { cred, email, projectId } = await credential(p, { tokenTtlSeconds: 2 });
    const devices = await Promise.all(Array.from({ length: 30 }, () => device(projectId)));
    const sendAll = () => Promise.all(devices.map((d) => p.send(cred, note(), [d])));
    const first = (await sendAll()).flat();
    assert.ok(first.every((o) => o.kind === 'delivered'));
    assert.equal(mints(email), 1, 'one mint for 30 concurrent sends');
    await new Promise((r) => setTimeout(r, 2100)); // the stand-in now refuses the old token
    const unauthBefore = standIn.stats().unauthenticated;
    const second = (await sendAll()).flat();
    assert.ok(second.every((o) => o.kind === 'delivered'));
    assert.equal(mints(email), 2, 'refreshed before expiry, once');
    assert.equal(standIn.stats().unauthenticated, unauthBefore, 'the client refreshed before FCM had to refuse the token');
  });

  it('on 401 mints a new token once for all concurrent sends and resends', async () => {
    const { p } = provider();
    const { cred, email, projectId } = await credential(p);
    const devices = await Promise.all(Array.from({ length: 20 }, () => device(projectId)));
    assert.ok((await p.send(cred, note(), devices.slice(0, 1)))[0].kind === 'delivered');
    assert.equal(mints(email), 1);
    await ctl('POST', `service-accounts/${encodeURIComponent(email)}/revoke-tokens`);
    const outcomes = await p.send(cred, note(), devices);
    assert.deepEqual(new Set(outcomes.map((o) => o.kind)), new Set(['delivered']));
    assert.equal(mints(email), 2, 'one refresh for 20 concurrent 401s');
  });

  it('refreshes once on UNAUTHENTICATED, then fails permanently with an alarm', async () => {
    const { p, logger } = provider();
    const { cred, email, projectId } = await credential(p);
    const once = await device(projectId);
    const always = await device(projectId);
    store.inject('fcm', once.token, { status: 401, reason: 'UNAUTHENTICATED', times: 1 });
    store.inject('fcm', always.token, { status: 401, reason: 'UNAUTHENTICATED', times: 5 });
    const [a] = await p.send(cred, note(), [once]);
    assert.equal(a.kind, 'delivered');
    assert.equal(mints(email), 2);
    const [b] = await p.send(cred, note(), [always]);
    assert.equal(b.kind, 'failed');
    assert.equal(b.kind === 'failed' && b.alarm, true);
    assert.equal(mints(email), 3, 'exactly one refresh per send, no loop');
    assert.ok(logger.errors.some((e) => e.includes('UNAUTHENTICATED')));
  });

  it('fails with a credential alarm when the token endpoint refuses the service account', async () => {
    const { p, logger } = provider();
    const { cred, email, projectId } = await credential(p);
    await ctl('PATCH', `service-accounts/${encodeURIComponent(email)}`, { disabled: true });
    const outcomes = await p.send(cred, note(), [await device(projectId), await device(projectId)]);
    for (const o of outcomes) {
      assert.equal(o.kind, 'failed');
      assert.equal(o.kind === 'failed' && o.alarm, true);
      assert.match(o.kind === 'failed' ? o.reason : '', /invalid_grant/);
    }
    assert.equal(logger.errors.filter((e) => e.includes('fcm credential alarm')).length, 1, 'one alarm per batch');
  });

  it('fails with an alarm, without throwing, when a stored credential is unusable', async () => {
    const { p, logger } = provider();
    const { cred, projectId } = await credential(p);
    const d = await device(projectId);
    const broken = { ...cred, id: randomUUID(), secret: { ...cred.secret, privateKeyPem: '-----BEGIN PRIVATE KEY-----\nAA\n-----END PRIVATE KEY-----\n' } };
    const incomplete = { ...cred, id: randomUUID(), secret: { projectId } };
    for (const c of [broken, incomplete]) {
      const [o] = await p.send(c, note(), [d]);
      assert.equal(o.kind, 'failed');
      assert.equal(o.kind === 'failed' && o.alarm, true);
    }
    assert.equal(logger.errors.length, 2);
    assert.ok(logger.errors.every((e) => !e.includes('PRIVATE KEY')));
  });

  it('keeps one client per credential version', async () => {
    const { p } = provider();
    const { cred, email, projectId } = await credential(p);
    const d = await device(projectId);
    await p.send(cred, note(), [d]);
    await p.send(cred, note(), [d]);
    assert.equal(mints(email), 1, 'the pooled client and its token were reused');
    await p.send({ ...cred, version: 2 }, note(), [d]);
    assert.equal(mints(email), 2, 'a replaced credential gets a new client');
  });

  it('never sends a message over 4096 bytes', async () => {
    const { p } = provider();
    const { cred, projectId } = await credential(p);
    const d = await device(projectId);
    const before = standIn.stats().sends;
    const [o] = await p.send(cred, note({ body: 'x'.repeat(5000) }), [d]);
    assert.equal(o.kind, 'failed');
    assert.match(o.kind === 'failed' ? o.reason : '', /^payload: /);
    assert.equal(standIn.stats().sends, before);
    assert.equal(store.forDevice('fcm', d.token).length, 0);
  });

  it('validate_only is checked by FCM but not delivered', async () => {
    const { p } = provider();
    const { cred, projectId } = await credential(p);
    const d = await device(projectId);
    const [o] = await p.send(cred, note({ fcm: { validate_only: true } }), [d]);
    assert.equal(o.kind, 'delivered');
    assert.equal(store.forDevice('fcm', d.token).length, 0);
  });

  it('holds the configured per-project rate across a fan-out', async () => {
    // 6000/min = 100/s with a one-second burst: 250 sends need at least 1.5 s
    const { p } = provider({ FCM_RATE_PER_MINUTE: '6000', FCM_MAX_CONCURRENT_STREAMS: '50' });
    const { cred, projectId } = await credential(p);
    const devices = Array.from({ length: 250 }, (_, i) => ({ id: String(i), token: `${'t'.repeat(30)}-${projectId}-${i}` }));
    const started = Date.now();
    const outcomes = await p.send(cred, note(), devices);
    const elapsed = Date.now() - started;
    assert.equal(outcomes.filter((o) => o.kind === 'delivered').length, 250);
    assert.ok(elapsed >= 1450, `250 sends at 100/s (burst 100) took ${elapsed} ms`);
  });
});
