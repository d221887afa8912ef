import { createHash, createPublicKey, verify } from 'node:crypto';

/**
 * The push service's side of RFC 8292: checks `Authorization: vapid t=<jwt>, k=<key>`.
 * Written independently of the gateway's signer, so a test passing here means the
 * gateway speaks the protocol, not that it agrees with itself.
 */
export type VapidVerdict =
  | { ok: true; jwt: string; k: string; keyHash: Buffer; exp: number }
  | { ok: false; status: 401 | 403; reason: string };

const MAX_AHEAD_S = 24 * 3600;
const CACHE_LIMIT = 10_000;

function jsonPart(part: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** First 8 bytes of SHA-256 of the raw key: how a subscription remembers its applicationServerKey. */
export const keyHash = (raw: Buffer): Buffer => createHash('sha256').update(raw).digest().subarray(0, 8);

export class VapidChecker {
  /** Verified (jwt, k) pairs, so a reused header costs one signature check per window, as at real services. */
  private readonly verified = new Map<string, { exp: number; keyHash: Buffer }>();

  constructor(private readonly audience: () => string) {}

  check(authorization: string | undefined, nowMs: number): VapidVerdict {
    const fail = (reason: string): VapidVerdict => ({ ok: false, status: 401, reason });
    if (!authorization) return fail('missing Authorization');
    const m = /^vapid\s+(.+)$/i.exec(authorization.trim());
    if (!m) return fail('Authorization scheme must be "vapid"');
    const params = new Map<string, string>();
    for (const p of m[1].split(',')) {
      const eq = p.indexOf('=');
      if (eq > 0) params.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim());
    }
    const jwt = params.get('t');
    const k = params.get('k');
    if (!jwt || !k) return fail('vapid header needs t= and k=');
    const nowS = Math.floor(nowMs / 1000);
    const cacheKey = `${k} ${jwt}`;
    const hit = this.verified.get(cacheKey);
    if (hit) return hit.exp > nowS ? { ok: true, jwt, k, keyHash: hit.keyHash, exp: hit.exp } : fail('JWT expired');

    const raw = Buffer.from(k, 'base64url');
    if (raw.length !== 65 || raw[0] !== 4) return fail('k must be a 65-byte uncompressed P-256 key');
    const parts = jwt.split('.');
    if (parts.length !== 3) return fail('t must be a JWS compact serialization');
    const header = jsonPart(parts[0]);
    const claims = jsonPart(parts[1]);
    if (!header || header.alg !== 'ES256') return fail('JWT alg must be ES256');
    if (!claims) return fail('JWT claims are not JSON');
    let valid = false;
    try {
      const key = createPublicKey({
        key: { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33).toString('base64url') },
        format: 'jwk',
      });
      const sig = Buffer.from(parts[2], 'base64url');
      valid = sig.length === 64 && verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), { key, dsaEncoding: 'ieee-p1363' }, sig);
    } catch {
      return fail('k is not a P-256 public key');
    }
    if (!valid) return fail('JWT signature does not verify with k');
    if (claims.aud !== this.audience()) return fail(`JWT aud must be ${this.audience()}`);
    const exp = claims.exp;
    if (typeof exp !== 'number' || !Number.isInteger(exp) || exp <= nowS) return fail('JWT exp must be in the future');
    if (exp > nowS + MAX_AHEAD_S) return fail('JWT exp must be at most 24 hours ahead');
    const sub = claims.sub;
    if (typeof sub !== 'string' || !/^(mailto:|https:)/.test(sub)) return fail('JWT sub must be a mailto: or https: URI');

    if (this.verified.size >= CACHE_LIMIT) this.verified.clear();
    const hash = keyHash(raw);
    this.verified.set(cacheKey, { exp, keyHash: hash });
    return { ok: true, jwt, k, keyHash: hash, exp };
  }
}
