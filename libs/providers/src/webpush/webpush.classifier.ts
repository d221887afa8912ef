import type { DeliveryOutcome } from '../provider.interface';

/** What came back from one push request: an HTTP answer, or no answer at all. */
export type PushAnswer =
  | { kind: 'answer'; status: number; retryAfter?: string; location?: string; body?: string }
  | { kind: 'transport'; code: string };

/** Retry-After is either delta-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** Mozilla's autopush answers JSON with a numeric `errno`; others send text. Used only to enrich the reason. */
function errno(body: string | undefined): string {
  if (!body || body[0] !== '{') return '';
  try {
    const e = (JSON.parse(body) as { errno?: unknown }).errno;
    return typeof e === 'number' ? ` errno ${e}` : '';
  } catch {
    return '';
  }
}

/**
 * Push service answer → outcome, from the status code only (RFC 8030 §5 and §7.3;
 * RFC 8292 §4.2). Safari can answer 200 for an expired subscription; nothing in the
 * answer tells those apart, so 200 counts as delivered.
 */
export function classifyWebpush(a: PushAnswer, nowMs: number): DeliveryOutcome {
  if (a.kind === 'transport') return { kind: 'retry', reason: `transport: ${a.code}`, unavailable: true };
  const s = a.status;
  const reason = `webpush ${s}${errno(a.body)}`;
  if (s === 200 || s === 201 || s === 202) {
    return a.location ? { kind: 'delivered', providerMessageId: a.location } : { kind: 'delivered' };
  }
  // The subscription expired or was unsubscribed: it will never accept a message again.
  if (s === 404 || s === 410) return { kind: 'invalid_token', reason };
  // Rate limited (429), WNS-backed endpoints' 406 (throttled), or the service is unwell.
  if (s === 429 || s === 406 || s >= 500) {
    const retryAfterMs = parseRetryAfter(a.retryAfter, nowMs);
    const unavailable = s >= 500 ? { unavailable: true } : s === 429 ? { throttled: true } : {};
    return retryAfterMs === undefined ? { kind: 'retry', reason, ...unavailable } : { kind: 'retry', reason, retryAfterMs, ...unavailable };
  }
  // The VAPID JWT was refused or the key does not match the subscription's applicationServerKey.
  if (s === 401 || s === 403) return { kind: 'failed', reason: `${reason}: VAPID authorization refused`, alarm: true };
  // 400 malformed, 413 too large, 3xx (redirects are never followed) and anything else: permanent.
  return { kind: 'failed', reason };
}
