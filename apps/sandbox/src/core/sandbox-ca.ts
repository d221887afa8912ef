import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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

/**
 * The sandbox's own CA and a server certificate for "localhost" (and 127.0.0.1),
 * kept in a folder so the api and worker can trust the same CA
 * (PROVIDER_EXTRA_CA_FILE=<dir>/ca.pem). Created once, reused across restarts.
 */
export function loadOrCreateTls(dir: string): SandboxTls {
  mkdirSync(dir, { recursive: true });
  const files = { ca: join(dir, 'ca.pem'), caKey: join(dir, 'ca-key.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server-key.pem') };
  if (!existsSync(files.ca) || !existsSync(files.caKey) || !existsSync(files.cert) || !existsSync(files.key)) {
    const caKeys = keyPair();
    const ca = forge.pki.createCertificate();
    ca.publicKey = caKeys.publicKey;
    ca.serialNumber = serial();
    ca.validity.notBefore = new Date(Date.now() - 86400_000);
    ca.validity.notAfter = new Date(Date.now() + 10 * 365 * 86400_000);
    const caName = [{ name: 'commonName', value: 'Push Gateway Sandbox CA' }];
    ca.setSubject(caName);
    ca.setIssuer(caName);
    ca.setExtensions([{ name: 'basicConstraints', cA: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true }]);
    ca.sign(caKeys.privateKey, forge.md.sha256.create());

    const srvKeys = keyPair();
    const srv = forge.pki.createCertificate();
    srv.publicKey = srvKeys.publicKey;
    srv.serialNumber = serial();
    srv.validity.notBefore = new Date(Date.now() - 86400_000);
    srv.validity.notAfter = new Date(Date.now() + 5 * 365 * 86400_000);
    srv.setSubject([{ name: 'commonName', value: 'localhost' }]);
    srv.setIssuer(caName);
    srv.setExtensions([
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
    ]);
    srv.sign(caKeys.privateKey, forge.md.sha256.create());
    writeFileSync(files.ca, forge.pki.certificateToPem(ca));
    writeFileSync(files.caKey, forge.pki.privateKeyToPem(caKeys.privateKey), { mode: 0o600 });
    writeFileSync(files.cert, forge.pki.certificateToPem(srv));
    writeFileSync(files.key, forge.pki.privateKeyToPem(srvKeys.privateKey), { mode: 0o600 });
  }
  const caPem = readFileSync(files.ca, 'utf8');
  const caCert = forge.pki.certificateFromPem(caPem);
  const caKey = forge.pki.privateKeyFromPem(readFileSync(files.caKey, 'utf8'));
  return {
    caPem,
    certPem: readFileSync(files.cert, 'utf8'),
    keyPem: readFileSync(files.key, 'utf8'),
    issueClientCert(commonName: string, uid: string) {
      const keys = keyPair();
      const c = forge.pki.createCertificate();
      c.publicKey = keys.publicKey;
      c.serialNumber = serial();
      c.validity.notBefore = new Date(Date.now() - 86400_000);
      c.validity.notAfter = new Date(Date.now() + 365 * 86400_000);
      // Apple puts the bundle id in the certificate's UID attribute
      c.setSubject([{ name: 'commonName', value: commonName }, { type: '0.9.2342.19200300.100.1.1', value: uid }]);
      c.setIssuer(caCert.subject.attributes);
      c.setExtensions([{ name: 'basicConstraints', cA: false }, { name: 'extKeyUsage', clientAuth: true }]);
      c.sign(caKey, forge.md.sha256.create());
      return { certPem: forge.pki.certificateToPem(c), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
    },
  };
}
