import { createECDH, createHash, createHmac, randomBytes, timingSafeEqual, type ECDH } from 'node:crypto';
import { keyHash } from './webpush.vapid-check';

/**
 * Simulated browser subscriptions, without per-subscription memory: the id carries a
 * random nonce, the hash of the applicationServerKey it was minted for (zeros when
 * none) and a MAC; the user agent's P-256 private key and auth secret are derived
 * from a seed and the nonce. So a million-device benchmark costs the sandbox nothing
 * to remember, and subscriptions survive a restart (the seed comes from the
 * sandbox's persisted TLS key).
 */
export interface SimSubscription {
  id: string;
  /** The user agent's key pair (the push service never has this in real life; the sandbox plays both). */
  ecdh: ECDH;
  auth: Buffer;
  /** 8-byte hash of the applicationServerKey, or null when minted without one. */
  serverKeyHash: Buffer | null;
}

const NONCE = 12;
const HASH = 8;
const MAC = 8;
const ID_BYTES = NONCE + HASH + MAC;
const ECDH_CACHE = 10_000;

export class SubscriptionBook {
  private readonly seed: Buffer;
  private readonly deleted = new Set<string>();
  private readonly keys = new Map<string, ECDH>();

  constructor(seedMaterial: string) {
    this.seed = createHash('sha256').update('webpush-stand-in\n').update(seedMaterial).digest();
  }

  private hmac(label: string, ...parts: Buffer[]): Buffer {
    const h = createHmac('sha256', this.seed).update(label);
    for (const p of parts) h.update(p);
    return h.digest();
  }

  private userAgentKey(nonce: Buffer): ECDH | null {
    const ecdh = createECDH('prime256v1');
    try {
      ecdh.setPrivateKey(this.hmac('ua-key', nonce));
      return ecdh;
    } catch {
      return null; // the derived scalar is ≥ n (probability ~2^-32): mint() picks another nonce
    }
  }

  /** A new subscription; `applicationServerKey` (base64url) binds it to one VAPID key, as browsers do. */
  mint(applicationServerKey?: Buffer): { id: string; p256dh: string; auth: string } {
    const hash = applicationServerKey ? keyHash(applicationServerKey) : Buffer.alloc(HASH);
    for (;;) {
      const nonce = randomBytes(NONCE);
      const ecdh = this.userAgentKey(nonce);
      if (!ecdh) continue;
      const id = Buffer.concat([nonce, hash, this.hmac('id', nonce, hash).subarray(0, MAC)]).toString('base64url');
      return {
        id,
        p256dh: ecdh.getPublicKey().toString('base64url'),
        auth: this.hmac('auth', nonce).subarray(0, 16).toString('base64url'),
      };
    }
  }

  /** The subscription behind an id: `null` when it was never minted here, 'gone' when unsubscribed. */
  find(id: string): SimSubscription | 'gone' | null {
    const raw = Buffer.from(id, 'base64url');
    if (raw.length !== ID_BYTES || raw.toString('base64url') !== id) return null;
    const nonce = raw.subarray(0, NONCE);
    const hash = raw.subarray(NONCE, NONCE + HASH);
    if (!timingSafeEqual(raw.subarray(NONCE + HASH), this.hmac('id', nonce, hash).subarray(0, MAC))) return null;
    if (this.deleted.has(id)) return 'gone';
    let ecdh = this.keys.get(id);
    if (!ecdh) {
      const derived = this.userAgentKey(nonce);
      if (!derived) return null;
      ecdh = derived;
      if (this.keys.size >= ECDH_CACHE) this.keys.delete(this.keys.keys().next().value as string);
      this.keys.set(id, ecdh);
    }
    return {
      id,
      ecdh,
      auth: this.hmac('auth', nonce).subarray(0, 16),
      serverKeyHash: hash.equals(Buffer.alloc(HASH)) ? null : Buffer.from(hash),
    };
  }

  /** The user unsubscribed: the push service answers 410 Gone from now on. */
  unsubscribe(id: string): boolean {
    if (!this.find(id)) return false;
    this.deleted.add(id);
    this.keys.delete(id);
    return true;
  }
}
