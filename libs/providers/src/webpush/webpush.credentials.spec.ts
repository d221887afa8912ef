import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createECDH, createPublicKey, randomBytes, verify } from 'node:crypto';
import { generateVAPIDKeys } from 'web-push';
import { CredentialRejected, TokenRejected } from '../provider.interface';
import { generateVapidCredential, normalizeVapidCredential, type VapidSecret } from './webpush.credentials';
import { normalizeSubscription } from './webpush.subscription';
import { VapidHeaderCache } from './webpush.vapid';

const rejects = (fn: () => unknown, re: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof CredentialRejected && re.test(e.message));

function uaKeys() {
  const ua = createECDH('prime256v1');
  ua.generateKeys();
  return { p256dh: ua.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') };
}

describe('webpush credential', () => {
  it('accepts web-push generated keys and returns a summary without the private key', () => {
    const keys = generateVAPIDKeys();
    const c = normalizeVapidCredential({ subject: 'mailto:ops@example.com', ...keys });
    assert.deepEqual(c.summary, { subject: 'mailto:ops@example.com', publicKey: keys.publicKey });
    assert.deepEqual(c.secret, { subject: 'mailto:ops@example.com', ...keys });
    assert.equal(c.environment, null);
    assert.ok(!JSON.stringify(c.summary).includes(keys.privateKey));
  });

  it('accepts an https subject and padded or standard base64', () => {
    const keys = generateVAPIDKeys();
    const std = Buffer.from(keys.publicKey, 'base64url').toString('base64');
    const c = normalizeVapidCredential({ subject: 'https://example.com/contact', publicKey: std, privateKey: `${keys.privateKey}=` });
    assert.equal(c.summary.publicKey, keys.publicKey);
  });

  it('rejects keys that are not one pair', () => {
    const a = generateVAPIDKeys();
    const b = generateVAPIDKeys();
    rejects(() => normalizeVapidCredential({ subject: 'mailto:a@b.c', publicKey: a.publicKey, privateKey: b.privateKey }), /^config\.publicKey: does not match config\.privateKey/);
  });

  it('rejects malformed keys naming the field', () => {
    const k = generateVAPIDKeys();
    const s = 'mailto:a@b.c';
    rejects(() => normalizeVapidCredential({ subject: s, privateKey: k.privateKey }), /^config\.publicKey: is required/);
    rejects(() => normalizeVapidCredential({ subject: s, publicKey: 'not base64!', privateKey: k.privateKey }), /^config\.publicKey: must be base64url/);
    rejects(() => normalizeVapidCredential({ subject: s, publicKey: randomBytes(33).toString('base64url'), privateKey: k.privateKey }), /65-byte uncompressed/);
    const offCurve = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]).toString('base64url');
    rejects(() => normalizeVapidCredential({ subject: s, publicKey: offCurve, privateKey: k.privateKey }), /not a point on the P-256 curve/);
    rejects(() => normalizeVapidCredential({ subject: s, publicKey: k.publicKey }), /^config\.privateKey: is required/);
    rejects(() => normalizeVapidCredential({ subject: s, publicKey: k.publicKey, privateKey: randomBytes(31).toString('base64url') }), /^config\.privateKey: must be a 32-byte/);
    rejects(() => normalizeVapidCredential({ subject: s, publicKey: k.publicKey, privateKey: Buffer.alloc(32).toString('base64url') }), /^config\.privateKey: is not a valid P-256/);
  });

  it('rejects a subject that is not mailto: or https:, unknown fields and non-objects', () => {
    const k = generateVAPIDKeys();
    for (const subject of [undefined, '', 'ops@example.com', 'http://example.com', 'mailto:', 'https://localhost/x', 'ftp://x']) {
      rejects(() => normalizeVapidCredential({ subject, ...k }), /^config\.subject: /);
    }
    rejects(() => normalizeVapidCredential({ subject: 'mailto:a@b.c', ...k, gcmKey: 'x' }), /^config\.gcmKey: unknown field/);
    rejects(() => normalizeVapidCredential('keys'), /^config: must be an object/);
  });

  it('generateVapidCredential makes a valid, fresh pair every time', () => {
    const a = generateVapidCredential('mailto:ops@example.com');
    const b = generateVapidCredential('mailto:ops@example.com');
    assert.notEqual(a.summary.publicKey, b.summary.publicKey);
    assert.deepEqual(normalizeVapidCredential(a.secret).summary, a.summary);
    assert.throws(() => generateVapidCredential('nobody'), CredentialRejected);
  });
});

describe('webpush VAPID header cache', () => {
  const secret = generateVapidCredential('mailto:ops@example.com').secret as unknown as VapidSecret;

  function decode(header: string) {
    const m = /^vapid t=([^,]+), k=(.+)$/.exec(header);
    assert.ok(m, header);
    const [h, c, s] = m[1].split('.');
    return { jwt: m[1], k: m[2], header: JSON.parse(Buffer.from(h, 'base64url').toString()), claims: JSON.parse(Buffer.from(c, 'base64url').toString()), input: `${h}.${c}`, sig: Buffer.from(s, 'base64url') };
  }

  it('signs an ES256 JWT (raw r||s) that verifies with the public key, aud = origin', () => {
    let now = 1_700_000_000_000;
    const cache = new VapidHeaderCache(secret, 3600, () => now);
    const d = decode(cache.header('https://fcm.googleapis.com'));
    assert.deepEqual(d.header, { typ: 'JWT', alg: 'ES256' });
    assert.deepEqual(d.claims, { aud: 'https://fcm.googleapis.com', exp: 1_700_000_000 + 3600, sub: 'mailto:ops@example.com' });
    assert.equal(d.k, secret.publicKey);
    const raw = Buffer.from(secret.publicKey, 'base64url');
    const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33).toString('base64url') }, format: 'jwk' });
    assert.equal(d.sig.length, 64);
    assert.ok(verify('sha256', Buffer.from(d.input), { key, dsaEncoding: 'ieee-p1363' }, d.sig));
    now += 1;
  });

  it('reuses one header per origin until shortly before exp, then re-signs', () => {
    let now = 1_700_000_000_000;
    const cache = new VapidHeaderCache(secret, 3600, () => now);
    const first = cache.header('https://a.example');
    assert.equal(cache.header('https://a.example'), first);
    const other = cache.header('https://b.example');
    assert.notEqual(other, first);
    assert.equal(cache.signatures, 2);
    now += (3600 - 300 - 1) * 1000; // margin is min(300 s, ttl/4)
    assert.equal(cache.header('https://a.example'), first);
    now += 1000;
    const renewed = cache.header('https://a.example');
    assert.notEqual(renewed, first);
    assert.equal(decode(renewed).claims.exp, Math.floor(now / 1000) + 3600);
    assert.equal(cache.signatures, 3);
  });

  it('never signs an exp more than 24 h ahead', () => {
    const now = 1_700_000_000_000;
    const cache = new VapidHeaderCache(secret, 7 * 24 * 3600, () => now);
    assert.equal(decode(cache.header('https://a.example')).claims.exp, now / 1000 + 24 * 3600);
  });
});

describe('webpush subscription (normalizeToken)', () => {
  const guard = { allowlist: ['fcm.googleapis.com', '*.push.services.mozilla.com', 'web.push.apple.com', '*.notify.windows.com'], sandboxEnabled: false };
  const keys = uaKeys();
  const tokenRejects = (input: unknown, re: RegExp, g = guard) =>
    assert.throws(() => normalizeSubscription(input, g), (e: unknown) => e instanceof TokenRejected && re.test(e.message), String(JSON.stringify(input)));

  it('accepts a browser subscription as an object or JSON text, ignoring expirationTime', () => {
    const sub = { endpoint: 'https://fcm.googleapis.com/fcm/send/abc:APA91b', expirationTime: null, keys };
    const expected = { token: 'https://fcm.googleapis.com/fcm/send/abc:APA91b', tokenData: keys };
    assert.deepEqual(normalizeSubscription(sub, guard), expected);
    assert.deepEqual(normalizeSubscription(JSON.stringify(sub), guard), expected);
    assert.deepEqual(normalizeSubscription({ endpoint: 'https://updates.push.services.mozilla.com/wpush/v2/gAAA', keys }, guard).tokenData, keys);
    assert.ok(normalizeSubscription({ endpoint: 'https://wns2-by3p.notify.windows.com/w/?token=x', keys }, guard));
  });

  it('refuses SSRF-shaped endpoints', () => {
    const cases: Array<[string, RegExp]> = [
      ['http://fcm.googleapis.com/fcm/send/x', /must use https/],
      ['https://127.0.0.1/push/x', /IP address/],
      ['https://169.254.169.254/latest/meta-data', /IP address/],
      ['https://[::1]/push/x', /IP address/],
      ['https://2130706433/push/x', /IP address|allowlist/],
      ['https://fcm.googleapis.com.evil.example/fcm/send/x', /not on the allowlist/],
      ['https://evilfcm.googleapis.com/fcm/send/x', /not on the allowlist/],
      ['https://fcm.googleapis.com@evil.example/', /userinfo/],
      ['https://user:pw@fcm.googleapis.com/fcm/send/x', /userinfo/],
      ['https://fcm.googleapis.com:8443/fcm/send/x', /default https port/],
      ['https://localhost:4443/push/x', /default https port/],
      ['https://localhost/push/x', /not on the allowlist/],
      ['https://push.services.mozilla.com/x', /not on the allowlist/],
      ['not a url', /absolute URL/],
    ];
    for (const [endpoint, re] of cases) tokenRejects({ endpoint, keys }, new RegExp(`^token\\.endpoint: .*(${re.source})`));
  });

  it('allows localhost only when the sandbox is enabled', () => {
    const sub = { endpoint: 'https://localhost:4443/push/abc', keys };
    assert.equal(normalizeSubscription(sub, { ...guard, sandboxEnabled: true }).token, sub.endpoint);
    tokenRejects(sub, /default https port/);
    tokenRejects({ ...sub, endpoint: 'https://localhost/push/abc' }, /host localhost is not on the allowlist/);
  });

  it('validates the keys naming the field', () => {
    const endpoint = 'https://fcm.googleapis.com/fcm/send/x';
    tokenRejects({ endpoint }, /^token\.keys: must be an object/);
    tokenRejects({ endpoint, keys: { auth: keys.auth } }, /^token\.keys\.p256dh: is required/);
    tokenRejects({ endpoint, keys: { p256dh: randomBytes(65).toString('base64url'), auth: keys.auth } }, /^token\.keys\.p256dh: /);
    tokenRejects({ endpoint, keys: { p256dh: keys.p256dh.slice(0, 40), auth: keys.auth } }, /65-byte uncompressed/);
    tokenRejects({ endpoint, keys: { p256dh: keys.p256dh } }, /^token\.keys\.auth: is required/);
    tokenRejects({ endpoint, keys: { p256dh: keys.p256dh, auth: randomBytes(12).toString('base64url') } }, /^token\.keys\.auth: must be 16 bytes/);
  });

  it('rejects what is not a subscription', () => {
    tokenRejects('fcm-registration-token', /PushSubscription/);
    tokenRejects('{not json', /not valid JSON/);
    tokenRejects(42, /PushSubscription/);
    tokenRejects(null, /PushSubscription/);
  });
});
