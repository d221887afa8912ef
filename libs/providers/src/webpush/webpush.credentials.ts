import { createECDH, createPrivateKey, type KeyObject } from 'node:crypto';
import { CredentialRejected, type NormalizedCredential } from '../provider.interface';
import { b64url, decodeB64, p256Jwk, p256PointProblem } from './webpush.keys';

/**
 * An app's Web Push credential is its VAPID key pair (RFC 8292) and the contact
 * subject push services may use to reach the sender. The public key is what the
 * browser's `pushManager.subscribe({applicationServerKey})` receives.
 */
export interface VapidSecret {
  subject: string;
  /** 65-byte uncompressed P-256 point, base64url. */
  publicKey: string;
  /** 32-byte P-256 scalar, base64url. */
  privateKey: string;
}

const FIELDS = ['subject', 'publicKey', 'privateKey'];

/** RFC 8292 §2.1: the `sub` claim is a mailto: or https: URI. Returns a problem or null. */
export function subjectProblem(subject: unknown): string | null {
  if (typeof subject !== 'string' || subject.length === 0) return 'is required (mailto: address or https: URL)';
  if (subject.length > 256) return 'must be at most 256 characters';
  let url: URL;
  try {
    url = new URL(subject);
  } catch {
    return 'must be a mailto: address or an https: URL';
  }
  if (url.protocol === 'mailto:') return /^[^@\s]+@[^@\s]+$/.test(url.pathname) ? null : 'must be mailto:<address>';
  if (url.protocol === 'https:') {
    // Apple's push service rejects a localhost subject (BadJwtToken), so refuse it up front.
    return url.hostname && url.hostname !== 'localhost' ? null : 'must be an https: URL with a public host';
  }
  return 'must be a mailto: address or an https: URL';
}

/**
 * Validates an uploaded VAPID credential: `{subject, publicKey, privateKey}` as
 * web-push's generateVAPIDKeys() produces them, and checks that the two keys are one
 * P-256 pair (the public key is derived from the private one and compared).
 */
export function normalizeVapidCredential(input: unknown): NormalizedCredential {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new CredentialRejected('config: must be an object {subject, publicKey, privateKey}');
  }
  const o = input as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !FIELDS.includes(k));
  if (unknown.length) throw new CredentialRejected(`config.${unknown[0]}: unknown field (expected subject, publicKey, privateKey)`);
  const subjectIssue = subjectProblem(o.subject);
  if (subjectIssue) throw new CredentialRejected(`config.subject: ${subjectIssue}`);

  const pub = decodeB64(o.publicKey);
  const pubIssue = typeof o.publicKey === 'string' ? p256PointProblem(pub) : 'is required';
  if (pubIssue) throw new CredentialRejected(`config.publicKey: ${pubIssue}`);
  const priv = decodeB64(o.privateKey);
  if (typeof o.privateKey !== 'string') throw new CredentialRejected('config.privateKey: is required');
  if (!priv || priv.length !== 32) throw new CredentialRejected('config.privateKey: must be a 32-byte P-256 private key, base64url');

  const ecdh = createECDH('prime256v1');
  try {
    ecdh.setPrivateKey(priv);
  } catch {
    throw new CredentialRejected('config.privateKey: is not a valid P-256 private key');
  }
  if (!ecdh.getPublicKey().equals(pub as Buffer)) {
    throw new CredentialRejected('config.publicKey: does not match config.privateKey (not one P-256 key pair)');
  }
  const secret: VapidSecret = { subject: o.subject as string, publicKey: b64url(pub as Buffer), privateKey: b64url(priv) };
  return { secret: { ...secret }, summary: { subject: secret.subject, publicKey: secret.publicKey }, environment: null };
}

/**
 * A fresh VAPID key pair for an app that has none yet, so the API can answer
 * `GET /v1/apps/:id/webpush/public-key` before anyone uploads keys.
 */
export function generateVapidCredential(subject: string): NormalizedCredential {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  // OpenSSL drops leading zero bytes of the scalar; VAPID keys are always 32 bytes.
  const priv = Buffer.alloc(32);
  const raw = ecdh.getPrivateKey();
  raw.copy(priv, 32 - raw.length);
  return normalizeVapidCredential({ subject, publicKey: b64url(ecdh.getPublicKey()), privateKey: b64url(priv) });
}

/** Reads a stored secret back (it was validated at upload; re-checked cheaply here). */
export function readVapidSecret(secret: Record<string, unknown>): VapidSecret {
  const { subject, publicKey, privateKey } = secret;
  if (typeof subject !== 'string' || typeof publicKey !== 'string' || typeof privateKey !== 'string') {
    throw new CredentialRejected('webpush credential: subject, publicKey and privateKey are required');
  }
  return { subject, publicKey, privateKey };
}

/** The signing key, parsed once per credential (ES256 over a KeyObject, no PEM per message). */
export function vapidKeyObject(secret: VapidSecret): KeyObject {
  const pub = decodeB64(secret.publicKey);
  const priv = decodeB64(secret.privateKey);
  if (!pub || pub.length !== 65 || !priv || priv.length !== 32) {
    throw new CredentialRejected('webpush credential: malformed VAPID keys');
  }
  return createPrivateKey({ key: p256Jwk(pub, priv), format: 'jwk' });
}
