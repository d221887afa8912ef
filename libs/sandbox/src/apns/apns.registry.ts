import { generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import type { ApnsEnvironment } from '@app/providers';
import type { SandboxTls } from '../core/sandbox-ca';

/** Apple's key and team ids: 10 characters, upper-case letters and digits. */
function appleId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return Array.from(randomBytes(10), (b) => alphabet[b % alphabet.length]).join('');
}

interface MintedKey {
  teamId: string;
  publicKey: KeyObject;
}

export interface MintedCertificate {
  bundleId: string;
  environment: ApnsEnvironment;
}

export interface DeviceState {
  environment: ApnsEnvironment;
  /** Set when the "app was uninstalled": APNs answers 410 Unregistered from then on. */
  unregisteredAt?: number;
}

export type JwtCheck =
  | { ok: true; kid: string; teamId: string; iat: number }
  | { ok: false; reason: 'InvalidProviderToken' | 'ExpiredProviderToken' };

/** Apple refuses provider tokens older than one hour. */
const MAX_TOKEN_AGE_S = 3600;

/**
 * What the stand-in has minted: signing keys (per team, with the bundle ids they may
 * push to), client certificates and device tokens with the environment that issued them.
 */
export class ApnsRegistry {
  private readonly keys = new Map<string, MintedKey>();
  private readonly teamBundles = new Map<string, Set<string>>();
  private readonly certs = new Map<string, MintedCertificate>();
  private readonly devices = new Map<string, DeviceState>();

  mintKey(bundleId: string, teamId = appleId()): { keyId: string; teamId: string; p8: string } {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const keyId = appleId();
    this.keys.set(keyId, { teamId, publicKey });
    const bundles = this.teamBundles.get(teamId) ?? new Set<string>();
    bundles.add(bundleId);
    this.teamBundles.set(teamId, bundles);
    return { keyId, teamId, p8: String(privateKey.export({ type: 'pkcs8', format: 'pem' })) };
  }

  teamMayPush(teamId: string, bundleId: string): boolean {
    return this.teamBundles.get(teamId)?.has(bundleId) ?? false;
  }

  /** Issues a client certificate signed by the sandbox CA, named as Apple names its push certificates. */
  mintCertificate(tls: SandboxTls, bundleId: string, environment: ApnsEnvironment): { certPem: string; keyPem: string } {
    const kind = environment === 'sandbox' ? 'Apple Development IOS Push Services' : 'Apple Production IOS Push Services';
    const issued = tls.issueClientCert(`${kind}: ${bundleId}`, bundleId);
    const fingerprint = forge.md.sha256.create().update(
      forge.asn1.toDer(forge.pki.certificateToAsn1(forge.pki.certificateFromPem(issued.certPem))).getBytes(),
    ).digest().toHex();
    this.certs.set(fingerprint, { bundleId, environment });
    return issued;
  }

  /** A certificate presented on a TLS connection, by its DER bytes. */
  certificate(raw: Buffer): MintedCertificate | undefined {
    return this.certs.get(forge.md.sha256.create().update(raw.toString('binary')).digest().toHex());
  }

  mintDevice(environment: ApnsEnvironment): string {
    const token = randomBytes(32).toString('hex');
    this.devices.set(token, { environment });
    return token;
  }

  device(token: string): DeviceState | undefined {
    return this.devices.get(token);
  }

  unregister(token: string, at = Date.now()): boolean {
    const d = this.devices.get(token);
    if (!d) return false;
    d.unregisteredAt = at;
    return true;
  }

  /** Checks an ES256 provider token: known key id, its team as issuer, signature, age ≤ 1 h. */
  verifyJwt(jwt: string, nowMs = Date.now()): JwtCheck {
    const invalid: JwtCheck = { ok: false, reason: 'InvalidProviderToken' };
    const parts = jwt.split('.');
    if (parts.length !== 3) return invalid;
    let header: { alg?: unknown; kid?: unknown };
    let claims: { iss?: unknown; iat?: unknown };
    try {
      header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as typeof header;
      claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as typeof claims;
    } catch {
      return invalid;
    }
    if (header.alg !== 'ES256' || typeof header.kid !== 'string') return invalid;
    const key = this.keys.get(header.kid);
    if (!key || claims.iss !== key.teamId || typeof claims.iat !== 'number') return invalid;
    const signature = Buffer.from(parts[2], 'base64url');
    const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
    if (!verify('sha256', signed, { key: key.publicKey, dsaEncoding: 'ieee-p1363' }, signature)) return invalid;
    const age = nowMs / 1000 - claims.iat;
    if (age > MAX_TOKEN_AGE_S) return { ok: false, reason: 'ExpiredProviderToken' };
    // A token from the future beyond clock skew is not one Apple would accept either.
    if (age < -300) return invalid;
    return { ok: true, kid: header.kid, teamId: key.teamId, iat: claims.iat };
  }
}
