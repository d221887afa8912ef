import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { Injection } from '@app/sandbox';
import type { CredentialRecord, DeliveryOutcome, DeviceRef } from '../provider.interface';
import type { ApnsClient } from './apns.client';
import type { ApnsProvider } from './apns.provider';
import { notification, quietLogger, startHarness, type Harness } from './apns.spec-support';

const hex = () => randomBytes(32).toString('hex');
const dev = (token: string, environment: 'sandbox' | 'production' | null = 'production', id = token.slice(0, 8)): DeviceRef => ({ id, token, environment });
const internals = (p: ApnsProvider) => (p as unknown as { client: ApnsClient }).client;

describe('ApnsProvider against the APNs stand-in (token auth)', () => {
  let h: Harness;
  let provider: ApnsProvider;
  let cred: CredentialRecord;

  before(async () => {
    h = await startHarness();
    provider = h.provider();
    cred = await h.tokenCredential();
  });
  after(async () => h.close());

  async function injected(inj: Injection): Promise<{ outcome: DeliveryOutcome; requests: number; receipts: number }> {
    const token = await h.device('production');
    h.store.inject('apns', token, inj);
    const rejectedBefore = h.store.stats().rejected.apns;
    const [outcome] = await provider.send(cred, notification(), [dev(token)]);
    const receipts = h.store.forDevice('apns', token).length;
    return { outcome, requests: h.store.stats().rejected.apns - rejectedBefore + receipts, receipts };
  }

  it('delivers to a production device and keeps the apns-id', async () => {
    const token = await h.device('production');
    const [o] = await provider.send(cred, notification({ data: { k: 'v' } }), [dev(token)]);
    assert.equal(o.kind, 'delivered');
    assert.match((o as { providerMessageId: string }).providerMessageId, /^[0-9a-f-]{36}$/);
    const [r] = h.store.forDevice('apns', token);
    assert.equal(r.headers['x-environment'], 'production');
    assert.equal(r.headers['apns-topic'], 'com.example.app');
    assert.deepEqual(r.payload, { k: 'v', aps: { alert: { title: 'Hello', body: 'World' } } });
  });

  it('routes sandbox devices through the sandbox host and unset environments to production', async () => {
    const sb = await h.device('sandbox');
    const prod = await h.device('production');
    const out = await provider.send(cred, notification(), [dev(sb, 'sandbox'), dev(prod, null)]);
    assert.deepEqual(out.map((o) => o.kind), ['delivered', 'delivered']);
    assert.equal(h.store.forDevice('apns', sb)[0].headers['x-environment'], 'sandbox');
    assert.equal(h.store.forDevice('apns', prod)[0].headers['x-environment'], 'production');
  });

  it('a sandbox token registered as production is refused by production: invalid, environment recorded', async () => {
    const sb = await h.device('sandbox');
    const [o] = await provider.send(cred, notification(), [dev(sb, 'production')]);
    assert.deepEqual(o, { kind: 'invalid_token', reason: '400 BadDeviceToken (sent to production)' });
    assert.equal(h.store.forDevice('apns', sb).length, 0);
  });

  it('never sends a sandbox device through a production-only credential', async () => {
    const prodOnly = { ...cred, id: 'prod-only', environment: 'production' as const };
    const sb = await h.device('sandbox');
    const [o] = await provider.send(prodOnly, notification(), [dev(sb, 'sandbox')]);
    assert.equal(o.kind, 'failed');
    assert.match((o as { reason: string }).reason, /registered for sandbox.*serves production only/);
    assert.equal(h.store.forDevice('apns', sb).length, 0);
  });

  for (const [status, reason] of [[410, 'Unregistered'], [410, 'ExpiredToken'], [400, 'BadDeviceToken'], [400, 'DeviceTokenNotForTopic']] as const) {
    it(`${status} ${reason} → invalid_token`, async () => {
      const { outcome } = await injected({ status, reason });
      assert.equal(outcome.kind, 'invalid_token');
      assert.match((outcome as { reason: string }).reason, new RegExp(`^${status} ${reason}`));
    });
  }

  it('410 from a device the stand-in unregistered → invalid_token', async () => {
    const token = await h.device('production');
    await h.standIn.control({ method: 'DELETE', path: `devices/${token}`, query: new URLSearchParams(), body: undefined, raw: undefined as never });
    const [o] = await provider.send(cred, notification(), [dev(token)]);
    assert.deepEqual(o, { kind: 'invalid_token', reason: '410 Unregistered' });
  });

  it('429 with retry-after: 2 → retry after 2000 ms, sent exactly once', async () => {
    const { outcome, requests } = await injected({ status: 429, reason: 'TooManyRequests', retryAfter: 2 });
    assert.deepEqual(outcome, { kind: 'retry', reason: '429 TooManyRequests', retryAfterMs: 2000, throttled: true });
    assert.equal(requests, 1);
  });

  for (const [status, reason] of [[500, 'InternalServerError'], [503, 'ServiceUnavailable'], [429, 'TooManyProviderTokenUpdates']] as const) {
    it(`${status} ${reason} → retry, not resent by the client`, async () => {
      const { outcome, requests } = await injected({ status, reason });
      assert.equal(outcome.kind, 'retry');
      assert.equal((outcome as { reason: string }).reason, `${status} ${reason}`);
      assert.equal(requests, 1);
    });
  }

  it('503 with retry-after → retryAfterMs', async () => {
    const { outcome } = await injected({ status: 503, reason: 'ServiceUnavailable', retryAfter: 7 });
    assert.equal((outcome as { retryAfterMs?: number }).retryAfterMs, 7000);
  });

  for (const [status, reason] of [
    [413, 'PayloadTooLarge'], [400, 'BadTopic'], [400, 'MissingTopic'], [400, 'BadPriority'],
    [400, 'BadCollapseId'], [400, 'BadExpirationDate'], [403, 'Forbidden'],
  ] as const) {
    it(`${status} ${reason} → permanent failure with Apple's reason`, async () => {
      const { outcome } = await injected({ status, reason });
      assert.deepEqual(outcome, { kind: 'failed', reason: `${status} ${reason}` });
    });
  }

  it('403 InvalidProviderToken (injected) → permanent with alarm', async () => {
    const { outcome } = await injected({ status: 403, reason: 'InvalidProviderToken' });
    assert.deepEqual(outcome, { kind: 'failed', reason: '403 InvalidProviderToken', alarm: true });
  });

  it('GOAWAY → retry (transport), and the next send reconnects and delivers', async () => {
    const { outcome, receipts } = await injected({ status: 200, goaway: true });
    assert.equal(outcome.kind, 'retry');
    assert.match((outcome as { reason: string }).reason, /^transport: /);
    assert.equal(receipts, 0);
    const token = await h.device('production');
    const [o] = await provider.send(cred, notification(), [dev(token)]);
    assert.equal(o.kind, 'delivered');
  });

  it('a stalled answer past the request timeout → retry (transport)', async () => {
    const { outcome } = await injected({ status: 200, stallMs: 5000 });
    assert.equal(outcome.kind, 'retry');
    assert.match((outcome as { reason: string }).reason, /^transport: /);
  });

  it('a payload over 4096 bytes is never sent', async () => {
    const token = await h.device('production');
    const before = h.store.stats().rejected.apns;
    const [o] = await provider.send(cred, notification({ body: 'x'.repeat(5000) }), [dev(token)]);
    assert.equal(o.kind, 'failed');
    assert.match((o as { reason: string }).reason, /more than the 4096/);
    assert.equal(h.store.stats().rejected.apns, before);
    assert.equal(h.store.forDevice('apns', token).length, 0);
  });

  it('sends the same token once per batch and answers every device', async () => {
    const token = await h.device('production');
    const out = await provider.send(cred, notification(), [dev(token, 'production', 'a'), dev(token, 'production', 'b')]);
    assert.deepEqual(out.map((o) => o.kind), ['delivered', 'delivered']);
    assert.equal(h.store.forDevice('apns', token).length, 1);
  });

  it('a key Apple does not know → every device failed with alarm, only one request made', async () => {
    const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    const n = provider.normalizeCredential({ key: String(key), keyId: 'ZZZZZZZZZZ', teamId: 'YYYYYYYYYY', bundleId: 'com.example.app' });
    const bad: CredentialRecord = { id: 'bad-key', appId: 'app1', provider: 'apns', name: 'x', environment: null, secret: n.secret, version: 1 };
    const before = h.store.stats().rejected.apns;
    const out = await provider.send(bad, notification(), [dev(hex()), dev(hex()), dev(hex()), dev(hex())]);
    for (const o of out) assert.deepEqual(o, { kind: 'failed', reason: '403 InvalidProviderToken', alarm: true });
    assert.equal(h.store.stats().rejected.apns - before, 1);
    assert.ok(quietLogger.errors.some((e) => e.includes('bad-key') && !e.includes(String(key))));
  });

  it('keeps one pooled connection per credential and environment, rebuilt on a new version', async () => {
    const c = await h.tokenCredential('com.example.app', 'pooled');
    const t = await h.device('production');
    await provider.send(c, notification(), [dev(t)]);
    const first = internals(provider).clientsFor(c);
    await provider.send(c, notification(), [dev(t)]);
    assert.equal(internals(provider).clientsFor(c), first);
    assert.equal(first.connections.size, 1);
    const v2 = { ...c, version: 2 };
    await provider.send(v2, notification(), [dev(t)]);
    assert.notEqual(internals(provider).clientsFor(v2), first);
  });
});

describe('ApnsProvider: ExpiredProviderToken and the 20-minute re-sign floor', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => h.close());

  it('re-signs once (token old enough) and the resend is delivered', async () => {
    let offset = -30 * 60_000;
    const provider = h.provider({ now: () => Date.now() + offset });
    const cred = await h.tokenCredential();
    const warm = await h.device('production');
    assert.equal((await provider.send(cred, notification(), [dev(warm)]))[0].kind, 'delivered');
    const signer = internals(provider).clientsFor(cred).signer;
    const generation = signer?.generation;
    offset = 0;
    const token = await h.device('production');
    h.store.inject('apns', token, { status: 403, reason: 'ExpiredProviderToken' });
    const [o] = await provider.send(cred, notification(), [dev(token)]);
    assert.equal(o.kind, 'delivered');
    assert.equal(signer?.generation, (generation ?? 0) + 1);
    assert.equal(h.store.forDevice('apns', token).length, 1);
  });

  it('still expired after re-signing → permanent with alarm (clock)', async () => {
    let offset = -30 * 60_000;
    const provider = h.provider({ now: () => Date.now() + offset });
    const cred = await h.tokenCredential();
    internals(provider).clientsFor(cred);
    offset = 0;
    const token = await h.device('production');
    h.store.inject('apns', token, { status: 403, reason: 'ExpiredProviderToken', times: 2 });
    const [o] = await provider.send(cred, notification(), [dev(token)]);
    assert.equal(o.kind, 'failed');
    assert.equal((o as { alarm?: boolean }).alarm, true);
  });

  it('a token younger than 20 minutes is not re-signed: retry when Apple allows it', async () => {
    const provider = h.provider();
    const cred = await h.tokenCredential();
    const token = await h.device('production');
    h.store.inject('apns', token, { status: 403, reason: 'ExpiredProviderToken' });
    const before = h.store.stats().rejected.apns;
    const [o] = await provider.send(cred, notification(), [dev(token)]);
    assert.equal(o.kind, 'retry');
    const ms = (o as { retryAfterMs: number }).retryAfterMs;
    assert.ok(ms > 19 * 60_000 && ms <= 20 * 60_000, `retryAfterMs ${ms}`);
    assert.equal(internals(provider).clientsFor(cred).signer?.generation, 0);
    assert.equal(h.store.stats().rejected.apns - before, 1);
  });
});

describe('ApnsProvider: cold bursts', () => {
  let h: Harness;
  before(async () => {
    // A generous request timeout: the machine running the suite may be busy, and a timeout here would be a retry, not a loss.
    h = await startHarness({ APNS_REQUEST_TIMEOUT_MS: '60000' });
  });
  after(async () => h.close());

  it('delivers a cold burst of 2,000 devices: none lost, none duplicated', async () => {
    const provider = h.provider();
    const cred = await h.tokenCredential();
    const tokens = Array.from({ length: 2000 }, hex);
    const out = await provider.send(cred, notification(), tokens.map((t) => dev(t)));
    assert.equal(out.length, 2000);
    assert.deepEqual(out.filter((o) => o.kind !== 'delivered'), []);
    const counts = tokens.map((t) => h.store.forDevice('apns', t).length);
    assert.equal(new Set(tokens).size, 2000);
    assert.ok(counts.every((c) => c === 1), 'each device received exactly one notification');
  });

  it('four concurrent jobs of 500 on one cold connection: all delivered exactly once', async () => {
    const provider = h.provider();
    const cred = await h.tokenCredential();
    const jobs = Array.from({ length: 4 }, () => Array.from({ length: 500 }, hex));
    const results = await Promise.all(jobs.map((tokens) => provider.send(cred, notification(), tokens.map((t) => dev(t)))));
    assert.deepEqual(results.flat().filter((o) => o.kind !== 'delivered'), []);
    for (const t of jobs.flat()) assert.equal(h.store.forDevice('apns', t).length, 1);
    assert.equal(internals(provider).clientsFor(cred).connections.size, 1);
  });
});

describe('ApnsProvider: certificate auth', () => {
  let h: Harness;
  let provider: ApnsProvider;
  before(async () => {
    h = await startHarness();
    provider = h.provider();
  });
  after(async () => h.close());

  for (const format of ['pem', 'p12'] as const) {
    it(`delivers with a ${format} certificate to its environment`, async () => {
      const cred = await h.certCredential('sandbox', format);
      const token = await h.device('sandbox');
      const [o] = await provider.send(cred, notification(), [dev(token, 'sandbox')]);
      assert.equal(o.kind, 'delivered');
      const [r] = h.store.forDevice('apns', token);
      assert.equal(r.headers['x-environment'], 'sandbox');
      assert.equal(r.headers['apns-topic'], 'com.example.app');
    });
  }

  it('a production certificate delivers to production devices and refuses sandbox ones without sending', async () => {
    const cred = await h.certCredential('production', 'pem');
    const prod = await h.device('production');
    const sb = await h.device('sandbox');
    const out = await provider.send(cred, notification(), [dev(prod, 'production'), dev(sb, 'sandbox')]);
    assert.equal(out[0].kind, 'delivered');
    assert.equal(out[1].kind, 'failed');
    assert.equal(h.store.forDevice('apns', sb).length, 0);
  });

  it('a sandbox certificate declared as production → 403 BadCertificateEnvironment, alarm', async () => {
    const cred = await h.certCredential('sandbox', 'pem', 'production');
    const [o] = await provider.send(cred, notification(), [dev(await h.device('production'))]);
    assert.deepEqual(o, { kind: 'failed', reason: '403 BadCertificateEnvironment', alarm: true });
  });

  it('VoIP pushes go to the .voip topic of the certificate bundle', async () => {
    const cred = await h.certCredential('production', 'pem');
    const token = await h.device('production');
    const [o] = await provider.send(cred, notification({ apns: { pushType: 'voip', payload: { call: 'x'.repeat(4500) } } }), [dev(token)]);
    assert.equal(o.kind, 'delivered');
    assert.equal(h.store.forDevice('apns', token)[0].headers['apns-topic'], 'com.example.app.voip');
  });
});
