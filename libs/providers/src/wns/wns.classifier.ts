import type { DeliveryOutcome } from '../provider.interface';

/** What came back from one POST to a channel URI, reduced to the fields that decide. */
export type WnsAnswer =
  | {
      kind: 'http';
      status: number;
      /** X-WNS-Status: received | dropped | channelthrottled. */
      wnsStatus?: string;
      msgId?: string;
      errorDescription?: string;
      deviceConnectionStatus?: string;
      retryAfter?: string;
    }
  /** No HTTP answer: connection refused/reset, TLS failure, timeout, refused address. */
  | { kind: 'transport'; code: string };

/** What came back from the token endpoint when it did not issue a token. */
export type WnsTokenFailure =
  | { kind: 'http'; status: number; error?: string; retryAfter?: string }
  | { kind: 'transport'; code: string };

/** Retry-After as seconds or an HTTP date (RFC 9110 §10.2.3), in ms; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^[0-9]+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function withDescription(base: string, a: { errorDescription?: string }): string {
  return a.errorDescription ? `${base}: ${a.errorDescription}` : base;
}

/** Codes from our own guarded lookup: the channel host resolved to a private address. */
const REFUSED_CODES = new Set(['EPRIVATEADDR']);

/**
 * Turns a WNS answer into an outcome, from the status code alone (Microsoft Learn,
 * "Push notification service request and response headers", response codes). A 401
 * reaching here has already been retried once with a fresh token.
 */
export function classifyWnsAnswer(a: WnsAnswer, now: number = Date.now()): DeliveryOutcome {
  if (a.kind === 'transport') {
    if (REFUSED_CODES.has(a.code)) return { kind: 'failed', reason: `channel host refused: ${a.code}` };
    return { kind: 'retry', reason: `transport error: ${a.code}`, unavailable: true };
  }
  const s = a.status;
  if (s === 200) {
    const detail = [a.wnsStatus ? `status=${a.wnsStatus}` : null, a.deviceConnectionStatus ? `device=${a.deviceConnectionStatus}` : null]
      .filter(Boolean)
      .join(' ');
    return { kind: 'delivered', providerMessageId: a.msgId, detail: detail || undefined };
  }
  if (s === 404) return { kind: 'invalid_token', reason: withDescription('404 channel not found', a) };
  if (s === 410) return { kind: 'invalid_token', reason: withDescription('410 channel expired', a) };
  // 500 and 503 are the documented ones; any 5xx or 429 is the service asking for time.
  if (s === 406 || s === 429 || s >= 500) {
    const label = s === 406 ? '406 channel throttled' : `${s} service unavailable`;
    return { kind: 'retry', reason: withDescription(label, a), retryAfterMs: parseRetryAfter(a.retryAfter, now), ...(s >= 500 ? { unavailable: true } : s === 429 ? { throttled: true } : {}) };
  }
  if (s === 401) return { kind: 'failed', reason: withDescription('401 access token rejected after a refresh', a) };
  if (s === 403) {
    return { kind: 'failed', reason: withDescription('403 access token not authorised for this channel (wrong app credential?)', a), alarm: true };
  }
  if (s >= 300 && s < 400) return { kind: 'failed', reason: `${s} redirect not followed: channel URIs must answer directly` };
  if (s === 400) return { kind: 'failed', reason: withDescription('400 bad request', a) };
  if (s === 405) return { kind: 'failed', reason: withDescription('405 method not allowed (invalid channel URI)', a) };
  if (s === 413) return { kind: 'failed', reason: withDescription('413 payload too large', a) };
  return { kind: 'failed', reason: withDescription(`unexpected status ${s}`, a) };
}

/**
 * A token that could not be had. A refusal (4xx: invalid_client, invalid_scope…) is the
 * credential's fault and raises an alarm; 429, 5xx and transport trouble are retried.
 */
export function classifyWnsTokenFailure(f: WnsTokenFailure, now: number = Date.now()): DeliveryOutcome {
  if (f.kind === 'transport') return { kind: 'retry', reason: `token endpoint unreachable: ${f.code}`, unavailable: true };
  const error = f.error ? ` ${f.error}` : '';
  if (f.status === 429 || f.status >= 500) {
    return { kind: 'retry', reason: `token endpoint ${f.status}${error}`, retryAfterMs: parseRetryAfter(f.retryAfter, now), ...(f.status >= 500 ? { unavailable: true } : {}) };
  }
  return { kind: 'failed', reason: `token endpoint refused the credential: ${f.status}${error}`, alarm: true };
}
