import type { IncomingHttpHeaders } from 'node:http2';

/** An APNs error answer: status and Apple's `reason`. */
export interface ApnsRefusal {
  status: number;
  reason: string;
}

/** Push types and the topic suffix Apple requires for each. */
const PUSH_TYPE_SUFFIX: Record<string, string> = {
  alert: '',
  background: '',
  voip: '.voip',
  complication: '.complication',
  fileprovider: '.pushkit.fileprovider',
  mdm: '',
  liveactivity: '.push-type.liveactivity',
  location: '.location-query',
  pushtotalk: '.voip-ptt',
  widgets: '.push-type.widgets',
};
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `/3/device/<hex>` → the token; otherwise the refusal Apple gives. */
export function parsePath(method: string | undefined, path: string | undefined): { token: string } | ApnsRefusal {
  const m = /^\/3\/device\/([^/?]*)$/.exec(path ?? '');
  if (!m) return { status: 404, reason: 'BadPath' };
  if (method !== 'POST') return { status: 405, reason: 'MethodNotAllowed' };
  if (m[1] === '') return { status: 400, reason: 'MissingDeviceToken' };
  if (!/^[0-9a-f]{64,200}$/i.test(m[1]) || m[1].length % 2 !== 0) return { status: 400, reason: 'BadDeviceToken' };
  return { token: m[1].toLowerCase() };
}

/** The bundle id a topic belongs to (the topic without its push-type suffix). */
export function topicBase(topic: string, pushType: string): string {
  const suffix = PUSH_TYPE_SUFFIX[pushType] ?? '';
  return suffix && topic.endsWith(suffix) ? topic.slice(0, -suffix.length) : topic;
}

/** Header rules from Apple's "Sending notification requests to APNs". Null when fine. */
export function checkHeaders(h: IncomingHttpHeaders, topic: string): ApnsRefusal | null {
  const pushType = header(h, 'apns-push-type') ?? 'alert';
  if (!Object.hasOwn(PUSH_TYPE_SUFFIX, pushType)) return { status: 400, reason: 'InvalidPushType' };
  const suffix = PUSH_TYPE_SUFFIX[pushType];
  if (suffix && !topic.endsWith(suffix)) return { status: 400, reason: 'BadTopic' };
  const priority = header(h, 'apns-priority');
  if (priority !== undefined && !['1', '5', '10'].includes(priority)) return { status: 400, reason: 'BadPriority' };
  if (pushType === 'background' && priority === '10') return { status: 400, reason: 'BadPriority' };
  const expiration = header(h, 'apns-expiration');
  if (expiration !== undefined && !/^[0-9]{1,10}$/.test(expiration)) return { status: 400, reason: 'BadExpirationDate' };
  const collapseId = header(h, 'apns-collapse-id');
  if (collapseId !== undefined && (collapseId === '' || Buffer.byteLength(collapseId) > 64)) return { status: 400, reason: 'BadCollapseId' };
  const id = header(h, 'apns-id');
  if (id !== undefined && !UUID_RE.test(id)) return { status: 400, reason: 'BadMessageId' };
  return null;
}

/** Payload rules: present, a JSON object, at most 4096 bytes (5120 for VoIP). */
export function checkPayload(body: Buffer, pushType: string): { payload: Record<string, unknown> } | ApnsRefusal {
  if (body.length === 0) return { status: 400, reason: 'PayloadEmpty' };
  const limit = pushType === 'voip' ? 5120 : 4096;
  if (body.length > limit) return { status: 413, reason: 'PayloadTooLarge' };
  try {
    const payload = JSON.parse(body.toString('utf8')) as unknown;
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return { status: 400, reason: 'BadPayload' };
    return { payload: payload as Record<string, unknown> };
  } catch {
    return { status: 400, reason: 'BadPayload' };
  }
}
