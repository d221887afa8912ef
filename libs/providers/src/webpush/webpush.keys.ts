import { ECDH } from 'node:crypto';

/**
 * Base64url helpers shared by the credential and subscription checks. Browsers and
 * web-push produce unpadded base64url; padding and the standard alphabet (+/) are
 * tolerated on input and normalised away.
 */
const B64 = /^[A-Za-z0-9_\-+/]+={0,2}$/;

/** Decodes base64url (or base64) into bytes; null when the text is not base64 at all. */
export function decodeB64(value: unknown): Buffer | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024 || !B64.test(value)) return null;
  return Buffer.from(value.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_'), 'base64url');
}

export const b64url = (buf: Buffer): string => buf.toString('base64url');

/**
 * A P-256 public key as Web Push uses it: the 65-byte uncompressed point (0x04 | X | Y),
 * and on the curve (ECDH.convertKey decodes and checks the point). Returns a problem
 * or null.
 */
export function p256PointProblem(raw: Buffer | null): string | null {
  if (!raw) return 'must be base64url';
  if (raw.length !== 65 || raw[0] !== 0x04) return 'must be a 65-byte uncompressed P-256 point';
  try {
    ECDH.convertKey(raw, 'prime256v1');
  } catch {
    return 'is not a point on the P-256 curve';
  }
  return null;
}

/** The JWK form of a P-256 key pair (what crypto.createPrivateKey / createPublicKey accept). */
export function p256Jwk(publicKey: Buffer, privateKey?: Buffer): { kty: 'EC'; crv: 'P-256'; x: string; y: string; d?: string } {
  const jwk = { kty: 'EC' as const, crv: 'P-256' as const, x: b64url(publicKey.subarray(1, 33)), y: b64url(publicKey.subarray(33, 65)) };
  return privateKey ? { ...jwk, d: b64url(privateKey) } : jwk;
}
