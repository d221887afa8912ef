import type { CanonicalNotification } from '../canonical';
import { FCM_MAX_TTL_SECONDS } from './fcm.override';

/** FCM's limit for a message (notification + data + platform blocks), in bytes of JSON. */
export const FCM_MAX_PAYLOAD_BYTES = 4096;

type Json = Record<string, unknown>;

/** An HTTP v1 `Message` (https://firebase.google.com/docs/reference/fcm/rest/v1/projects.messages). */
export interface FcmMessage {
  token?: string;
  notification?: { title?: string; body?: string; image?: string };
  data?: Record<string, string>;
  android?: Json;
  apns?: { headers?: Record<string, string>; payload?: Json; fcm_options?: Json };
  webpush?: Json;
  fcm_options?: { analytics_label?: string };
}

export interface FcmRequest {
  /** The message without its target; the client adds `token` per device. */
  message: FcmMessage;
  validateOnly: boolean;
}

/**
 * FCM data values must be strings. Override data may hold other JSON values; they are
 * encoded predictably with JSON.stringify: 3 → "3", true → "true", {"a":1} → '{"a":1}'.
 */
export function encodeDataValue(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/**
 * Seconds FCM may keep the message: the canonical TTL, shortened by the time already
 * spent in the gateway when an expiry is known, and bounded to FCM's 0–28 days.
 */
export function effectiveTtlSeconds(n: CanonicalNotification, nowMs: number): number | undefined {
  let ttl = n.ttlSeconds;
  if (n.expiresAt !== undefined) {
    const remaining = Math.floor((n.expiresAt - nowMs) / 1000);
    ttl = ttl === undefined ? remaining : Math.min(ttl, remaining);
  }
  if (ttl === undefined) return undefined;
  return Math.min(FCM_MAX_TTL_SECONDS, Math.max(0, Math.floor(ttl)));
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Override wins; objects merge key by key, arrays and scalars are replaced. */
export function mergeDeep(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    out[k] = isObject(v) && isObject(out[k]) ? mergeDeep(out[k] as Json, v) : v;
  }
  return out;
}

const compact = <T extends Json>(o: T): T | undefined => {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return Object.keys(o).length > 0 ? o : undefined;
};

function androidBlock(n: CanonicalNotification, ttl: number | undefined): Json {
  const notification = n.silent
    ? undefined
    : compact({ sound: n.sound, tag: n.collapseId, click_action: n.category, icon: n.icon });
  return compact({
    priority: n.priority === 'high' ? 'HIGH' : 'NORMAL',
    ttl: ttl === undefined ? undefined : `${ttl}s`,
    collapse_key: n.collapseId,
    notification,
  }) as Json;
}

function apnsBlock(n: CanonicalNotification, ttl: number | undefined, nowMs: number): FcmMessage['apns'] {
  const headers: Record<string, string> = {
    // Apple requires priority 5 for background (content-available) pushes
    'apns-priority': !n.silent && n.priority === 'high' ? '10' : '5',
    'apns-push-type': n.silent ? 'background' : 'alert',
  };
  // 0 means "deliver now or never" to APNs, so it is not an offset from now
  if (ttl !== undefined) headers['apns-expiration'] = String(ttl === 0 ? 0 : Math.floor(nowMs / 1000) + ttl);
  // APNs refuses collapse ids over 64 bytes; Android still gets its collapse_key
  if (n.collapseId && Buffer.byteLength(n.collapseId) <= 64) headers['apns-collapse-id'] = n.collapseId;
  const aps: Json = n.silent
    ? compact({ 'content-available': 1, badge: n.badge }) as Json
    : compact({
        // FCM builds aps.alert from `notification`, but an explicit aps.alert replaces
        // it, so it is written in full only when a subtitle needs to be carried
        alert: n.subtitle ? compact({ title: n.title, subtitle: n.subtitle, body: n.body }) : undefined,
        badge: n.badge,
        sound: n.sound,
        'thread-id': n.threadId,
        category: n.category,
        // lets a notification service extension download the image
        'mutable-content': n.image ? 1 : undefined,
      }) ?? {};
  return compact({
    headers,
    payload: Object.keys(aps).length > 0 ? { aps } : undefined,
    fcm_options: n.image && !n.silent ? { image: n.image } : undefined,
  });
}

function webpushBlock(n: CanonicalNotification, ttl: number | undefined): Json | undefined {
  const headers = compact({
    TTL: ttl === undefined ? undefined : String(ttl),
    Urgency: n.priority === 'high' ? 'high' : 'normal',
    // the Web Push Topic header allows at most 32 URL-safe base64 characters
    Topic: n.collapseId && /^[A-Za-z0-9_-]{1,32}$/.test(n.collapseId) ? n.collapseId : undefined,
  });
  const notification = n.silent ? undefined : compact({ icon: n.icon, tag: n.collapseId });
  return compact({ headers, notification });
}

/** Canonical notification (+ the validated `fcm` override) → HTTP v1 message. Pure. */
export function translateFcm(n: CanonicalNotification, nowMs: number): FcmRequest {
  const ttl = effectiveTtlSeconds(n, nowMs);
  let message: Json = compact({
    notification: n.silent ? undefined : compact({ title: n.title, body: n.body, image: n.image }),
    data: n.data && Object.keys(n.data).length > 0 ? { ...n.data } : undefined,
    android: androidBlock(n, ttl),
    apns: apnsBlock(n, ttl, nowMs),
    webpush: webpushBlock(n, ttl),
  }) as Json;

  const over = n.fcm ?? {};
  const { validate_only: validateOnly, data, android, ...rest } = over as Json & { android?: Json };
  if (isObject(data)) {
    const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, encodeDataValue(v)]));
    message.data = { ...((message.data as Json) ?? {}), ...encoded };
  }
  if (isObject(android)) {
    const a = { ...android };
    if (typeof a.ttl === 'number') a.ttl = `${a.ttl}s`;
    message.android = mergeDeep((message.android as Json) ?? {}, a);
  }
  message = mergeDeep(message, rest);
  return { message: message as FcmMessage, validateOnly: validateOnly === true };
}

/** Size FCM counts against the 4096-byte limit: the message without its target. */
export function messageBytes(message: FcmMessage): number {
  const { token: _t, ...body } = message;
  return Buffer.byteLength(JSON.stringify(body));
}

/** The request body for one device. */
export function sendBody(req: FcmRequest, token: string): string {
  const body: Json = { message: { ...req.message, token } };
  if (req.validateOnly) body.validate_only = true;
  return JSON.stringify(body);
}
