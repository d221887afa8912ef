import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import type { ApnsEnvironment } from '../canonical';
import { CredentialRejected, TokenRejected, type NormalizedCredential, type NormalizedToken } from '../provider.interface';

/**
 * APNs credentials. Token auth: a .p8 signing key with its key id and team id (one key
 * serves every app of the team, both environments). Certificate auth: an "Apple Push
 * Services" client certificate for one bundle id and one environment, as PEM or .p12.
 */
export type ApnsSecret =
  | { authType: 'token'; key: string; keyId: string; teamId: string; bundleId: string }
  | { authType: 'certificate'; certificate: string; privateKey: string; bundleId: string; environment: ApnsEnvironment | null };

/** Apple's extension OIDs on push certificates (node-apn lib/credentials/certificate/oids.js). */
const OID_SANDBOX = '1.2.840.113635.100.6.3.1';
const OID_PRODUCTION = '1.2.840.113635.100.6.3.2';
/** The subject attribute Apple puts the bundle id in. */
const OID_UID = '0.9.2342.19200300.100.1.1';

const APPLE_ID_RE = /^[A-Z0-9]{10}$/;
const BUNDLE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9.\-_]{0,154}$/;
const TOKEN_FIELDS = new Set(['authType', 'key', 'keyId', 'teamId', 'bundleId']);
const CERT_FIELDS = new Set(['authType', 'certificate', 'privateKey', 'p12', 'passphrase', 'bundleId', 'environment']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Apple device tokens are hex (32 bytes today; Apple warns the length may grow). */
export function normalizeApnsToken(token: unknown): NormalizedToken {
  if (typeof token !== 'string') throw new TokenRejected('token: must be a string of hexadecimal characters');
  // Accept the old NSData description form "<abcd 1234 …>" apps still log and paste.
  const t = token.replace(/[<>\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]+$/.test(t)) throw new TokenRejected('token: must be hexadecimal (0-9, a-f)');
  if (t.length % 2 !== 0 || t.length < 64 || t.length > 200) {
    throw new TokenRejected('token: must be 32 to 100 bytes of hex (64 to 200 characters, even length)');
  }
  return { token: t, tokenData: null };
}

function str(input: Record<string, unknown>, field: string, re?: RegExp, rule?: string): string {
  const v = input[field];
  if (typeof v !== 'string' || v.trim() === '') throw new CredentialRejected(`${field}: is required`);
  const s = v.trim();
  if (re && !re.test(s)) throw new CredentialRejected(`${field}: ${rule}`);
  return s;
}

/** Parses the .p8 key: an EC P-256 private key in PKCS#8 PEM, as Apple issues it. */
export function parseSigningKey(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new CredentialRejected('key: must be the .p8 file contents (PEM "BEGIN PRIVATE KEY")');
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new CredentialRejected('key: must be an EC P-256 key (ES256), as in the .p8 file');
  }
  return key;
}

export function normalizeApnsCredential(input: unknown): NormalizedCredential {
  if (!isObject(input)) throw new CredentialRejected('config: must be an object');
  const authType = input.authType ?? (input.key !== undefined ? 'token' : 'certificate');
  if (authType === 'token') return normalizeTokenCredential(input);
  if (authType === 'certificate') return normalizeCertificateCredential(input);
  throw new CredentialRejected('authType: must be "token" or "certificate"');
}

function normalizeTokenCredential(input: Record<string, unknown>): NormalizedCredential {
  for (const k of Object.keys(input)) if (!TOKEN_FIELDS.has(k)) throw new CredentialRejected(`${k}: unknown field for token auth`);
  const key = str(input, 'key');
  parseSigningKey(key);
  const keyId = str(input, 'keyId', APPLE_ID_RE, 'must be the 10-character key id');
  const teamId = str(input, 'teamId', APPLE_ID_RE, 'must be the 10-character team id');
  const bundleId = str(input, 'bundleId', BUNDLE_ID_RE, 'must be the app bundle id (reverse DNS)');
  const secret: ApnsSecret = { authType: 'token', key, keyId, teamId, bundleId };
  // A token key works for both environments: the device decides.
  return { secret, summary: { authType: 'token', keyId, teamId, bundleId }, environment: null };
}

function certificateEnvironments(cert: forge.pki.Certificate): { sandbox: boolean; production: boolean } {
  const has = (oid: string) => (cert.extensions as Array<{ id?: string }>).some((e) => e.id === oid);
  return { sandbox: has(OID_SANDBOX), production: has(OID_PRODUCTION) };
}

/**
 * Reads PEM or .p12 material into PEM certificate + unencrypted PKCS#8 key (the secret is
 * encrypted at rest). Converting .p12 here keeps TLS away from the legacy RC2/3DES
 * encryption Keychain exports use, which OpenSSL 3 refuses.
 */
function readCertificateMaterial(input: Record<string, unknown>): { certPem: string; keyPem: string } {
  const passphrase = input.passphrase === undefined ? undefined : input.passphrase;
  if (passphrase !== undefined && typeof passphrase !== 'string') throw new CredentialRejected('passphrase: must be a string');
  if (input.p12 !== undefined) {
    if (input.certificate !== undefined || input.privateKey !== undefined) {
      throw new CredentialRejected('p12: give either p12 or certificate + privateKey, not both');
    }
    const b64 = str(input, 'p12', /^[A-Za-z0-9+/=\s]+$/, 'must be the .p12 file in base64');
    let p12: forge.pkcs12.Pkcs12Pfx;
    try {
      const der = forge.util.decode64(b64.replace(/\s/g, ''));
      p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(der), false, passphrase ?? '');
    } catch {
      throw new CredentialRejected('p12: cannot be read (not a PKCS#12 file, or wrong passphrase)');
    }
    const keyBag = [
      ...(p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag })[forge.pki.oids.pkcs8ShroudedKeyBag] ?? []),
      ...(p12.getBags({ bagType: forge.pki.oids.keyBag })[forge.pki.oids.keyBag] ?? []),
    ][0];
    const certBag = (p12.getBags({ bagType: forge.pki.oids.certBag })[forge.pki.oids.certBag] ?? [])[0];
    if (!keyBag?.key) throw new CredentialRejected('p12: contains no private key');
    if (!certBag?.cert) throw new CredentialRejected('p12: contains no certificate');
    return { certPem: forge.pki.certificateToPem(certBag.cert), keyPem: forge.pki.privateKeyToPem(keyBag.key) };
  }
  const certPem = str(input, 'certificate', /-----BEGIN CERTIFICATE-----/, 'must be a PEM certificate');
  const rawKey = str(input, 'privateKey', /-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'must be a PEM private key');
  try {
    const keyPem = createPrivateKey({ key: rawKey, format: 'pem', passphrase }).export({ type: 'pkcs8', format: 'pem' });
    return { certPem, keyPem: String(keyPem) };
  } catch {
    throw new CredentialRejected('privateKey: cannot be read (not a PEM key, or wrong passphrase)');
  }
}

function normalizeCertificateCredential(input: Record<string, unknown>): NormalizedCredential {
  for (const k of Object.keys(input)) if (!CERT_FIELDS.has(k)) throw new CredentialRejected(`${k}: unknown field for certificate auth`);
  const { certPem, keyPem } = readCertificateMaterial(input);
  let x509: X509Certificate;
  let fcert: forge.pki.Certificate;
  try {
    x509 = new X509Certificate(certPem);
    fcert = forge.pki.certificateFromPem(certPem);
  } catch {
    throw new CredentialRejected('certificate: cannot be parsed');
  }
  if (!x509.checkPrivateKey(createPrivateKey(keyPem))) throw new CredentialRejected('privateKey: does not match the certificate');
  if (new Date(x509.validTo).getTime() < Date.now()) throw new CredentialRejected(`certificate: expired on ${new Date(x509.validTo).toISOString()}`);
  const uid = fcert.subject.getField({ type: OID_UID })?.value as string | undefined;
  const given = input.bundleId === undefined ? undefined : str(input, 'bundleId', BUNDLE_ID_RE, 'must be the app bundle id (reverse DNS)');
  if (given && uid && given !== uid) throw new CredentialRejected(`bundleId: "${given}" is not the certificate's bundle id "${uid}"`);
  const bundleId = given ?? uid;
  if (!bundleId) throw new CredentialRejected('bundleId: is required (the certificate has no UID attribute)');

  const envs = certificateEnvironments(fcert);
  let environment: ApnsEnvironment | null = null;
  if (input.environment !== undefined) {
    if (input.environment !== 'sandbox' && input.environment !== 'production') {
      throw new CredentialRejected('environment: must be "sandbox" or "production"');
    }
    environment = input.environment;
    // A certificate Apple issued says which environments it serves; one that names none is trusted as declared.
    if ((envs.sandbox || envs.production) && !envs[environment]) {
      throw new CredentialRejected(`environment: this certificate is not valid for ${environment}`);
    }
  } else if (envs.sandbox !== envs.production) {
    environment = envs.sandbox ? 'sandbox' : 'production';
  }
  const secret: ApnsSecret = { authType: 'certificate', certificate: certPem, privateKey: keyPem, bundleId, environment };
  const summary: Record<string, string> = {
    authType: 'certificate',
    bundleId,
    subject: x509.subject.replace(/\n/g, ', '),
    notAfter: new Date(x509.validTo).toISOString(),
    fingerprint256: x509.fingerprint256,
  };
  if (environment) summary.environment = environment;
  return { secret, summary, environment };
}

/** Reads a stored secret back, re-checking its shape (it was written by normalizeApnsCredential). */
export function readApnsSecret(secret: Record<string, unknown>): ApnsSecret {
  const s = secret as Partial<Record<string, unknown>>;
  if (s.authType === 'token' && typeof s.key === 'string' && typeof s.keyId === 'string'
    && typeof s.teamId === 'string' && typeof s.bundleId === 'string') {
    return { authType: 'token', key: s.key, keyId: s.keyId, teamId: s.teamId, bundleId: s.bundleId };
  }
  if (s.authType === 'certificate' && typeof s.certificate === 'string' && typeof s.privateKey === 'string'
    && typeof s.bundleId === 'string') {
    const env = s.environment === 'sandbox' || s.environment === 'production' ? s.environment : null;
    return { authType: 'certificate', certificate: s.certificate, privateKey: s.privateKey, bundleId: s.bundleId, environment: env };
  }
  throw new CredentialRejected('stored apns credential is malformed: upload it again');
}
