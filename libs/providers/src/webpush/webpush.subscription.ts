import { checkUrl, UrlRejected, type UrlGuardOptions } from '@app/common';
import { TokenRejected, type NormalizedToken } from '../provider.interface';
import { b64url, decodeB64, p256PointProblem } from './webpush.keys';

/** RFC 8291 §3.2: the user agent's authentication secret is 16 random bytes. */
export const AUTH_SECRET_BYTES = 16;

export interface SubscriptionKeys {
  p256dh: string;
  auth: string;
}

/**
 * A browser's PushSubscription (`subscription.toJSON()`: `{endpoint, expirationTime,
 * keys: {p256dh, auth}}`), as an object or its JSON text. The endpoint is a URL the
 * client chose, so it goes through the SSRF guard: https, allowlisted push-service
 * host, no userinfo, no IP literal. Other top-level fields (expirationTime) are ignored.
 */
export function normalizeSubscription(input: unknown, guard: UrlGuardOptions): NormalizedToken {
  let sub = input;
  if (typeof sub === 'string') {
    const text = sub.trim();
    if (!text.startsWith('{')) throw new TokenRejected('token: must be a PushSubscription {endpoint, keys: {p256dh, auth}}');
    if (text.length > 8192) throw new TokenRejected('token: subscription JSON must be at most 8192 characters');
    try {
      sub = JSON.parse(text);
    } catch {
      throw new TokenRejected('token: subscription is not valid JSON');
    }
  }
  if (typeof sub !== 'object' || sub === null || Array.isArray(sub)) {
    throw new TokenRejected('token: must be a PushSubscription {endpoint, keys: {p256dh, auth}}');
  }
  const o = sub as Record<string, unknown>;
  let endpoint: URL;
  try {
    endpoint = checkUrl(o.endpoint, guard);
  } catch (e) {
    if (e instanceof UrlRejected) throw new TokenRejected(`token.endpoint: ${e.message}`);
    throw e;
  }
  const keys = o.keys;
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) {
    throw new TokenRejected('token.keys: must be an object {p256dh, auth}');
  }
  const { p256dh, auth } = keys as Record<string, unknown>;
  const tokenData = validateKeys(p256dh, auth);
  return { token: endpoint.href, tokenData: { ...tokenData } };
}

/** p256dh: the user agent's 65-byte uncompressed P-256 public key; auth: 16 bytes. Both base64url. */
export function validateKeys(p256dh: unknown, auth: unknown): SubscriptionKeys {
  const pub = decodeB64(p256dh);
  const pubIssue = typeof p256dh === 'string' ? p256PointProblem(pub) : 'is required';
  if (pubIssue) throw new TokenRejected(`token.keys.p256dh: ${pubIssue}`);
  const secret = decodeB64(auth);
  if (typeof auth !== 'string') throw new TokenRejected('token.keys.auth: is required');
  if (!secret || secret.length !== AUTH_SECRET_BYTES) {
    throw new TokenRejected(`token.keys.auth: must be ${AUTH_SECRET_BYTES} bytes, base64url`);
  }
  return { p256dh: b64url(pub as Buffer), auth: b64url(secret) };
}
