import type { CanonicalNotification } from '../canonical';
import type { Urgency, WebpushAction, WebpushOverride } from './webpush.override';

/**
 * Pure translation: canonical notification → the JSON the service worker receives
 * (`event.data.json()`) and the RFC 8030 request headers. No network, no keys.
 */

/** What the service worker reads. Absent fields are omitted, never null. */
export interface WebPushPayload {
  /** The gateway's notification id (dedupe, click reporting). */
  id: string;
  title?: string;
  body?: string;
  icon?: string;
  image?: string;
  /** Status-bar image (Notification `badge`), from the override block. */
  badge?: string;
  /** Canonical numeric badge, for `navigator.setAppBadge()`. */
  badgeCount?: number;
  data?: Record<string, string>;
  tag?: string;
  actions?: WebpushAction[];
  requireInteraction?: boolean;
  renotify?: boolean;
  silent?: boolean;
  dir?: 'auto' | 'ltr' | 'rtl';
  lang?: string;
  vibrate?: number[];
  timestamp?: number;
  link?: string;
  /** Canonical `silent`: a background (data-only) message; no title or body is sent. */
  background?: true;
}

/** TTL when the notification sets none: 4 weeks, the longest push services keep a message. */
export const DEFAULT_TTL_SECONDS = 2_419_200;
/** RFC 8030 §5.4 / RFC 8291 §4: push services accept at least 4096 bytes of encrypted body. */
export const MAX_ENCRYPTED_BYTES = 4096;
/**
 * aes128gcm (RFC 8188 §2.1 + RFC 8291 §4) for one record: a header of salt (16) +
 * record size (4) + key id length (1) + key id = the sender's 65-byte public key,
 * i.e. 86 bytes; then the plaintext, one padding delimiter byte (0x02) and the
 * 16-byte AES-GCM tag.
 */
export const AES128GCM_HEADER_BYTES = 16 + 4 + 1 + 65;
export const AES128GCM_RECORD_OVERHEAD = 1 + 16;
export const MAX_PLAINTEXT_BYTES = MAX_ENCRYPTED_BYTES - AES128GCM_HEADER_BYTES - AES128GCM_RECORD_OVERHEAD; // 3993

export const encryptedSize = (plaintextBytes: number): number =>
  plaintextBytes + AES128GCM_HEADER_BYTES + AES128GCM_RECORD_OVERHEAD;

/** RFC 8030 §5.4: a Topic is at most 32 characters of the URL- and filename-safe base64 alphabet. */
export const TOPIC_RE = /^[A-Za-z0-9_-]{1,32}$/;

export function buildPayload(n: CanonicalNotification, o: WebpushOverride): WebPushPayload {
  const p: WebPushPayload = { id: n.id };
  const set = <K extends keyof WebPushPayload>(k: K, v: WebPushPayload[K] | undefined): void => {
    if (v !== undefined) p[k] = v;
  };
  if (n.silent) {
    p.background = true;
  } else {
    set('title', n.title);
    set('body', n.body);
  }
  set('icon', n.icon);
  set('image', n.image);
  set('badge', o.badge);
  set('badgeCount', n.badge);
  if (n.data && Object.keys(n.data).length) p.data = n.data;
  // A collapse id doubles as the tag, so a newer notification replaces the shown one.
  set('tag', o.tag ?? n.collapseId);
  set('actions', o.actions);
  set('requireInteraction', o.requireInteraction);
  set('renotify', o.renotify);
  set('silent', o.silent);
  set('dir', o.dir);
  set('lang', o.lang);
  set('vibrate', o.vibrate);
  set('timestamp', o.timestamp);
  set('link', o.link);
  return p;
}

export function payloadBytes(n: CanonicalNotification, o: WebpushOverride): Buffer {
  return Buffer.from(JSON.stringify(buildPayload(n, o)), 'utf8');
}

export function urgencyOf(n: CanonicalNotification, o: WebpushOverride): Urgency {
  if (o.urgency) return o.urgency;
  if (n.silent) return 'low';
  return n.priority === 'high' ? 'high' : 'normal';
}

/** Seconds the push service may hold the message: ttlSeconds (default 4 weeks), capped by expiresAt. */
export function ttlOf(n: CanonicalNotification, nowMs: number): number {
  let ttl = n.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  if (n.expiresAt !== undefined) ttl = Math.min(ttl, Math.floor((n.expiresAt - nowMs) / 1000));
  return Math.max(0, Math.floor(ttl));
}

/** The RFC 8030 headers shared by every subscription of one notification. */
export function pushHeaders(n: CanonicalNotification, o: WebpushOverride, nowMs: number): Record<string, string> {
  const h: Record<string, string> = { TTL: String(ttlOf(n, nowMs)), Urgency: urgencyOf(n, o) };
  if (n.collapseId !== undefined && TOPIC_RE.test(n.collapseId)) h.Topic = n.collapseId;
  return h;
}

/** Problems the API rejects before queueing: topic shape, renotify without a tag, size. */
export function translationProblems(n: CanonicalNotification, o: WebpushOverride): string[] {
  const problems: string[] = [];
  if (n.collapseId !== undefined && !TOPIC_RE.test(n.collapseId)) {
    problems.push('collapseId: must be 1-32 URL-safe base64 characters (A-Z a-z 0-9 - _) to be a Web Push Topic');
  }
  if (o.renotify && !(o.tag ?? n.collapseId)) {
    problems.push('webpush.renotify: requires a tag (webpush.tag or collapseId)');
  }
  const plain = payloadBytes(n, o).length;
  const size = encryptedSize(plain);
  if (size > MAX_ENCRYPTED_BYTES) {
    problems.push(
      `payload: the encrypted Web Push message would be ${size} bytes, over the limit of ${MAX_ENCRYPTED_BYTES} bytes ` +
        `(the JSON payload is ${plain} bytes; at most ${MAX_PLAINTEXT_BYTES} fit)`,
    );
  }
  return problems;
}
