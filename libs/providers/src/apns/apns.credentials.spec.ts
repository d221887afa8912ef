import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { loadOrCreateTls, type SandboxTls } from '@app/sandbox';
import { CredentialRejected, TokenRejected } from '../provider.interface';
import { routeEnvironment } from './apns.client';
import { normalizeApnsCredential, normalizeApnsToken, readApnsSecret, type ApnsSecret } from './apns.credentials';
import { ProviderTokenSigner, TOKEN_MIN_REFRESH_MS } from './apns.signer';

const p8 = () => String(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
const rejects = (input: unknown, re: RegExp) => assert.throws(() => normalizeApnsCredential(input), (e: Error) => e instanceof CredentialRejected && re.test(e.message));

describe('normalizeApnsToken', () => {
  it('lower-cases hex and accepts the <…> NSData form', () => {
    const hex = 'AB'.repeat(32);
    assert.equal(normalizeApnsToken(hex).token, 'ab'.repeat(32));
    assert.equal(normalizeApnsToken(`<${'abcd1234 '.repeat(8).trim()}>`).token, 'abcd1234'.repeat(8));
  });
  it('refuses non-hex, short, odd and non-string tokens naming the rule', () => {
    for (const bad of ['zz'.repeat(32), 'ab'.repeat(10), 'a'.repeat(65), 42]) {
      assert.throws(() => normalizeApnsToken(bad), (e: Error) => e instanceof TokenRejected && /^token: /.test(e.message));
    }
  });
});

describe('normalizeApnsCredential: token auth', () => {
  it('keeps the key in the secret and only ids in the summary', () => {
    const key = p8();
    const n = normalizeApnsCredential({ key, keyId: 'ABCDE12345', teamId: 'TEAM123456', bundleId: 'com.example.app' });
    assert.deepEqual(n.summary, { authType: 'token', keyId: 'ABCDE12345', teamId: 'TEAM123456', bundleId: 'com.example.app' });
    assert.equal(n.environment, null);
    assert.ok(!JSON.stringify(n.summary).includes('PRIVATE KEY'));
    assert.equal(readApnsSecret(n.secret).authType, 'token');
  });
  it('names the bad field', () => {
    const ok = { key: p8(), keyId: 'ABCDE12345', teamId: 'TEAM123456', bundleId: 'com.example.app' };
    rejects({ ...ok, key: 'nope' }, /^key: /);
    const rsa = String(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    rejects({ ...ok, key: rsa }, /^key: must be an EC P-256/);
    rejects({ ...ok, keyId: 'short' }, /^keyId: /);
    rejects({ ...ok, teamId: undefined }, /^teamId: is required/);
    rejects({ ...ok, bundleId: 'has space' }, /^bundleId: /);
    rejects({ ...ok, extra: 1 }, /^extra: unknown field/);
    rejects('x', /^config: /);
  });
});

describe('normalizeApnsCredential: certificate auth', () => {
  let tls: SandboxTls;
  before(() => {
    tls = loadOrCreateTls(mkdtempSync(join(tmpdir(), 'apns-cred-')));
  });

  it('PEM: bundle id from the certificate UID, environment as declared, no secret in the summary', () => {
    const c = tls.issueClientCert('Apple Production IOS Push Services: com.example.app', 'com.example.app');
    const n = normalizeApnsCredential({ certificate: c.certPem, privateKey: c.keyPem, environment: 'production' });
    assert.equal(n.environment, 'production');
    assert.equal(n.summary.bundleId, 'com.example.app');
    assert.ok(!JSON.stringify(n.summary).includes('PRIVATE KEY'));
    const s = readApnsSecret(n.secret) as Extract<ApnsSecret, { authType: 'certificate' }>;
    assert.equal(s.environment, 'production');
  });

  it('.p12 with a passphrase becomes PEM', () => {
    const c = tls.issueClientCert('Apple Development IOS Push Services: com.example.app', 'com.example.app');
    const asn1 = forge.pkcs12.toPkcs12Asn1(forge.pki.privateKeyFromPem(c.keyPem), [forge.pki.certificateFromPem(c.certPem)], 'pw', { algorithm: '3des' });
    const p12 = forge.util.encode64(forge.asn1.toDer(asn1).getBytes());
    const n = normalizeApnsCredential({ p12, passphrase: 'pw', environment: 'sandbox' });
    const s = readApnsSecret(n.secret) as Extract<ApnsSecret, { authType: 'certificate' }>;
    assert.match(s.certificate, /BEGIN CERTIFICATE/);
    assert.ok(createPrivateKey(s.privateKey));
    rejects({ p12, passphrase: 'wrong' }, /^p12: cannot be read/);
  });

  it('refuses a key that does not match, a wrong bundle id, a bad environment', () => {
    const c = tls.issueClientCert('x', 'com.example.app');
    const other = tls.issueClientCert('y', 'com.example.app');
    rejects({ certificate: c.certPem, privateKey: other.keyPem }, /^privateKey: does not match/);
    rejects({ certificate: c.certPem, privateKey: c.keyPem, bundleId: 'com.other' }, /^bundleId: .* not the certificate's/);
    rejects({ certificate: c.certPem, privateKey: c.keyPem, environment: 'staging' }, /^environment: /);
    rejects({ certificate: 'x', privateKey: c.keyPem }, /^certificate: /);
  });
});

describe('routeEnvironment', () => {
  const token = { authType: 'token', key: '', keyId: '', teamId: '', bundleId: 'b' } as const;
  const cert = (environment: 'sandbox' | 'production' | null) => ({ authType: 'certificate', certificate: '', privateKey: '', bundleId: 'b', environment }) as const;
  it('token credential serving both: the device decides, production by default', () => {
    assert.deepEqual(routeEnvironment(token, { environment: null }, { environment: 'sandbox' }), { environment: 'sandbox' });
    assert.deepEqual(routeEnvironment(token, { environment: null }, { environment: null }), { environment: 'production' });
  });
  it('a credential for one environment refuses devices of the other', () => {
    assert.ok('failure' in routeEnvironment(token, { environment: 'production' }, { environment: 'sandbox' }));
    assert.ok('failure' in routeEnvironment(cert('sandbox'), { environment: null }, { environment: 'production' }));
    assert.deepEqual(routeEnvironment(cert('sandbox'), { environment: null }, { environment: null }), { environment: 'sandbox' });
    const none = routeEnvironment(cert(null), { environment: null }, { environment: 'production' });
    assert.ok('failure' in none && none.failure.kind === 'failed' && none.failure.alarm === true);
  });
});

describe('ProviderTokenSigner', () => {
  it('signs ES256 with kid and iss, verifiable with the public key', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const s = new ProviderTokenSigner(privateKey, 'KEY1234567', 'TEAM123456', () => 1_700_000_000_000);
    const [h, c, sig] = s.current.split('.');
    assert.deepEqual(JSON.parse(Buffer.from(h, 'base64url').toString()), { alg: 'ES256', kid: 'KEY1234567' });
    assert.deepEqual(JSON.parse(Buffer.from(c, 'base64url').toString()), { iss: 'TEAM123456', iat: 1_700_000_000 });
    assert.ok(verify('sha256', Buffer.from(`${h}.${c}`), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(sig, 'base64url')));
  });

  it('re-signs no more often than every 20 minutes, and only for the current generation', () => {
    let now = 0;
    const s = new ProviderTokenSigner(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey, 'K', 'T', () => now);
    const first = s.current;
    now = TOKEN_MIN_REFRESH_MS - 1;
    s.regenerate(0);
    assert.equal(s.generation, 0);
    assert.equal(s.msUntilRefreshAllowed(), 1);
    now = TOKEN_MIN_REFRESH_MS;
    s.regenerate(0);
    assert.equal(s.generation, 1);
    assert.notEqual(s.current, first);
    now += TOKEN_MIN_REFRESH_MS;
    s.regenerate(0);
    assert.equal(s.generation, 1);
  });

  it('isExpired follows its own clock (node-apn asks with 3300 s)', () => {
    let now = 0;
    const s = new ProviderTokenSigner(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey, 'K', 'T', () => now);
    now = 3299_000;
    assert.equal(s.isExpired(3300), false);
    now = 3300_000;
    assert.equal(s.isExpired(3300), true);
  });
});
