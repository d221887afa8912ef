import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { CredentialRejected } from '../provider.interface';
import { normalizeServiceAccount, serviceAccountFromSecret, tokenUrlGuard } from './fcm.credentials';

const rsaPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const ecPem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

const account = (over: Record<string, unknown> = {}) => ({
  type: 'service_account',
  project_id: 'my-app-12345',
  private_key_id: 'abc123def456',
  private_key: rsaPem,
  client_email: 'firebase-adminsdk-x1y2z@my-app-12345.iam.gserviceaccount.com',
  client_id: '1234567890',
  auth_uri: 'https://accounts.google.com/o/oauth2/auth',
  token_uri: 'https://oauth2.googleapis.com/token',
  auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
  client_x509_cert_url: 'https://www.googleapis.com/robot/v1/metadata/x509/x',
  universe_domain: 'googleapis.com',
  ...over,
});

const production = tokenUrlGuard('https://oauth2.googleapis.com/token', false);
const sandbox = tokenUrlGuard('https://oauth2.googleapis.com/token', true);

function rejects(input: unknown, pattern: RegExp, guard = production): void {
  assert.throws(() => normalizeServiceAccount(input, guard), (e: unknown) => e instanceof CredentialRejected && pattern.test(e.message));
}

describe('fcm credentials (service-account JSON)', () => {
  it('accepts the JSON as Google issues it, as an object or as text, and summarises without secrets', () => {
    for (const input of [account(), JSON.stringify(account())]) {
      const n = normalizeServiceAccount(input, production);
      assert.deepEqual(n.summary, {
        projectId: 'my-app-12345',
        clientEmail: 'firebase-adminsdk-x1y2z@my-app-12345.iam.gserviceaccount.com',
        privateKeyId: 'abc123def456',
        tokenUri: 'https://oauth2.googleapis.com/token',
      });
      assert.ok(!JSON.stringify(n.summary).includes('PRIVATE KEY'));
      const sa = serviceAccountFromSecret(n.secret);
      assert.equal(sa.privateKeyPem, rsaPem);
      assert.equal(sa.tokenUri, 'https://oauth2.googleapis.com/token');
    }
  });

  it('treats token_uri as optional (config fcm.tokenUrl is the default)', () => {
    const n = normalizeServiceAccount(account({ token_uri: undefined, private_key_id: undefined }), production);
    assert.equal(serviceAccountFromSecret(n.secret).tokenUri, null);
    assert.equal(n.summary.tokenUri, undefined);
  });

  it('accepts a key pasted with literal \\n escapes', () => {
    const n = normalizeServiceAccount(account({ private_key: rsaPem.replace(/\n/g, '\\n') }), production);
    assert.equal(serviceAccountFromSecret(n.secret).privateKeyPem, rsaPem);
  });

  it('names the field it refuses', () => {
    rejects(null, /^config: must be the service-account JSON object$/);
    rejects('{not json', /^config: /);
    rejects([], /^config: /);
    rejects(account({ type: 'authorized_user' }), /^config\.type: /);
    rejects(account({ project_id: undefined }), /^config\.project_id: is required/);
    rejects(account({ project_id: 'Bad Project' }), /^config\.project_id: /);
    rejects(account({ project_id: 42 }), /^config\.project_id: must be a string/);
    rejects(account({ client_email: 'nope' }), /^config\.client_email: /);
    rejects(account({ private_key: undefined }), /^config\.private_key: is required/);
    rejects(account({ private_key: 'abc' }), /^config\.private_key: must be a PEM/);
    rejects(account({ private_key: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' }), /^config\.private_key: the PEM key does not parse/);
    rejects(account({ private_key: ecPem }), /^config\.private_key: must be an RSA key/);
    rejects(account({ private_key_id: 'has spaces' }), /^config\.private_key_id: /);
  });

  it('only lets token_uri point at Google (or localhost with the sandbox)', () => {
    rejects(account({ token_uri: 'http://oauth2.googleapis.com/token' }), /^config\.token_uri: must use https/);
    rejects(account({ token_uri: 'https://169.254.169.254/token' }), /^config\.token_uri: /);
    rejects(account({ token_uri: 'https://evil.example/token' }), /^config\.token_uri: host evil\.example is not on the allowlist/);
    rejects(account({ token_uri: 'https://localhost:4002/token' }), /^config\.token_uri: /);
    assert.doesNotThrow(() => normalizeServiceAccount(account({ token_uri: 'https://localhost:4002/token' }), sandbox));
    const custom = tokenUrlGuard('https://oauth.corp.example/token', false);
    assert.doesNotThrow(() => normalizeServiceAccount(account({ token_uri: 'https://oauth.corp.example/token' }), custom));
  });

  it('refuses an incomplete stored secret', () => {
    assert.throws(() => serviceAccountFromSecret({ projectId: 'p' }), CredentialRejected);
  });
});
