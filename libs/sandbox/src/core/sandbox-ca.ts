import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';

export interface SandboxTls {
  caPem: string;
  certPem: string;
  keyPem: string;
  /** Issues a client certificate (APNs certificate auth) signed by the sandbox CA. */
  issueClientCert(commonName: string, uid: string): { certPem: string; keyPem: string };
}

function serial(): string {
  return forge.util.bytesToHex(forge.random.getBytesSync(16)).replace(/^[89a-f]/, '1');
}

function keyPair() {
  return forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
}

/** An unsigned certificate for `publicKey`, valid from yesterday for `years`. */
function certificate(publicKey: forge.pki.PublicKey, years: number): forge.pki.Certificate {
  const c = forge.pki.createCertificate();
  c.publicKey = publicKey;
  c.serialNumber = serial();
  c.validity.notBefore = new Date(Date.now() - 86400_000);
  c.validity.notAfter = new Date(Date.now() + years * 365 * 86400_000);
  return c;
}

interface TlsFiles {
  ca: string;
  caKey: string;
  cert: string;
  key: string;
}

function generate(): TlsFiles {
  const caKeys = keyPair();
  const ca = certificate(caKeys.publicKey, 10);
  const caName = [{ name: 'commonName', value: 'Push Gateway Sandbox CA' }];
  ca.setSubject(caName);
  ca.setIssuer(caName);
  ca.setExtensions([{ name: 'basicConstraints', cA: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true }]);
  ca.sign(caKeys.privateKey, forge.md.sha256.create());

  const srvKeys = keyPair();
  const srv = certificate(srvKeys.publicKey, 5);
  srv.setSubject([{ name: 'commonName', value: 'localhost' }]);
  srv.setIssuer(caName);
  srv.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
  ]);
  srv.sign(caKeys.privateKey, forge.md.sha256.create());
  return {
    ca: forge.pki.certificateToPem(ca),
    caKey: forge.pki.privateKeyToPem(caKeys.privateKey),
    cert: forge.pki.certificateToPem(srv),
    key: forge.pki.privateKeyToPem(srvKeys.privateKey),
  };
}

const tmpName = (path: string) => `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;

/** Creates `path` with `content` unless another process did first; returns what is there. */
function publishOnce(path: string, content: string): string {
  const tmp = tmpName(path);
  writeFileSync(tmp, content, { mode: 0o600 });
  try {
    linkSync(tmp, path); // atomic: fails if the file exists
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
  return readFileSync(path, 'utf8');
}

/** Replaces `path` atomically (readers see the old or the new file, never half of one). */
function writeAtomic(path: string, content: string, mode: number): void {
  if (existsSync(path) && readFileSync(path, 'utf8') === content) return;
  const tmp = tmpName(path);
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, path);
}

/**
 * The sandbox's own CA and a server certificate for "localhost" (and 127.0.0.1),
 * kept in a folder so the api and worker can trust the same CA
 * (PROVIDER_EXTRA_CA_FILE=<dir>/ca.pem). Created once, reused across restarts, and safe
 * when several processes start on an empty folder at once (the test runner's parallel
 * files): the first to publish tls.json wins, and everyone writes the PEM files from it.
 */
export function loadOrCreateTls(dir: string): SandboxTls {
  mkdirSync(dir, { recursive: true });
  const files: TlsFiles = { ca: join(dir, 'ca.pem'), caKey: join(dir, 'ca-key.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server-key.pem') };
  const bundlePath = join(dir, 'tls.json');
  let bundle: TlsFiles;
  if (existsSync(bundlePath)) {
    bundle = JSON.parse(readFileSync(bundlePath, 'utf8')) as TlsFiles;
  } else {
    // a folder from before tls.json keeps its CA
    const existing = Object.values(files).every((f) => existsSync(f))
      ? { ca: readFileSync(files.ca, 'utf8'), caKey: readFileSync(files.caKey, 'utf8'), cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8') }
      : generate();
    bundle = JSON.parse(publishOnce(bundlePath, JSON.stringify(existing))) as TlsFiles;
  }
  writeAtomic(files.ca, bundle.ca, 0o644);
  writeAtomic(files.caKey, bundle.caKey, 0o600);
  writeAtomic(files.cert, bundle.cert, 0o644);
  writeAtomic(files.key, bundle.key, 0o600);
  const caCert = forge.pki.certificateFromPem(bundle.ca);
  const caKey = forge.pki.privateKeyFromPem(bundle.caKey);
  return {
    caPem: bundle.ca,
    certPem: bundle.cert,
    keyPem: bundle.key,
    issueClientCert(commonName: string, uid: string) {
      const keys = keyPair();
      const c = certificate(keys.publicKey, 1);
      // Apple puts the bundle id in the certificate's UID attribute
      c.setSubject([{ name: 'commonName', value: commonName }, { type: '0.9.2342.19200300.100.1.1', value: uid }]);
      c.setIssuer(caCert.subject.attributes);
      c.setExtensions([{ name: 'basicConstraints', cA: false }, { name: 'extKeyUsage', clientAuth: true }]);
      c.sign(caKey, forge.md.sha256.create());
      return { certPem: forge.pki.certificateToPem(c), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
    },
  };
}
