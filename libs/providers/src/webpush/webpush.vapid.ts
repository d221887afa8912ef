import { sign, type KeyObject } from 'node:crypto';
import { vapidKeyObject, type VapidSecret } from './webpush.credentials';

/** RFC 8292 §2: the JWT's `exp` must not be more than 24 hours after the request. */
export const VAPID_MAX_TTL_SECONDS = 24 * 3600;
/** Origins remembered per credential; endpoints come from a short allowlist, so this is generous. */
const MAX_ORIGINS = 1024;
const JWT_HEADER = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'ES256' })).toString('base64url');

interface CachedHeader {
  value: string;
  /** Epoch ms after which a new JWT is signed (shortly before `exp`). */
  refreshAt: number;
}

/**
 * The VAPID `Authorization` header of one credential, cached per push-service origin.
 *
 * The JWT binds only the audience (the push service's origin), an expiry and the
 * subject, so one signature serves every message to that origin until it nears `exp`.
 * web-push signs a new JWT for every message (and re-encodes the key as PEM each
 * time); ES256 signing is ~1/4 of a send's CPU, so caching it is the largest single
 * gain on the send path.
 */
export class VapidHeaderCache {
  private readonly key: KeyObject;
  private readonly cache = new Map<string, CachedHeader>();
  private readonly ttlSeconds: number;
  /** Re-sign this long before `exp` so a header is never sent in its last moments. */
  private readonly marginSeconds: number;
  /** How many JWTs this cache has signed (tests and stats read it). */
  signatures = 0;

  constructor(
    private readonly secret: VapidSecret,
    ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {
    this.key = vapidKeyObject(secret);
    this.ttlSeconds = Math.min(Math.max(ttlSeconds, 60), VAPID_MAX_TTL_SECONDS);
    this.marginSeconds = Math.min(300, Math.floor(this.ttlSeconds / 4));
  }

  /** `vapid t=<jwt>, k=<publicKey>` for a push service origin such as "https://fcm.googleapis.com". */
  header(origin: string): string {
    const nowMs = this.now();
    const hit = this.cache.get(origin);
    if (hit && nowMs < hit.refreshAt) return hit.value;
    const exp = Math.floor(nowMs / 1000) + this.ttlSeconds;
    const value = `vapid t=${this.jwt(origin, exp)}, k=${this.secret.publicKey}`;
    if (!hit && this.cache.size >= MAX_ORIGINS) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(origin, { value, refreshAt: (exp - this.marginSeconds) * 1000 });
    return value;
  }

  private jwt(aud: string, exp: number): string {
    const claims = Buffer.from(JSON.stringify({ aud, exp, sub: this.secret.subject })).toString('base64url');
    const input = `${JWT_HEADER}.${claims}`;
    // JWS ES256 wants the raw r||s signature (RFC 7518 §3.4), not DER.
    const sig = sign('sha256', Buffer.from(input), { key: this.key, dsaEncoding: 'ieee-p1363' });
    this.signatures += 1;
    return `${input}.${sig.toString('base64url')}`;
  }
}
