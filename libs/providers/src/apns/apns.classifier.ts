import type { ApnsEnvironment } from '../canonical';
import type { DeliveryOutcome } from '../provider.interface';
import type { ApnsAnswer } from './apns.node-apn';

/** What one request ended in: Apple's answer, or no answer at all (transport failure). */
export interface ApnsAttempt {
  answer?: ApnsAnswer;
  transportError?: string;
}

/** A verdict is an outcome, or "re-sign the provider token and send once more". */
export type ApnsVerdict = DeliveryOutcome | { kind: 'refresh_auth'; reason: string };

/** 400 reasons that say the token itself is wrong for this app or environment. */
const INVALID_TOKEN_400 = new Set(['BadDeviceToken', 'DeviceTokenNotForTopic']);
/** 403 reasons that say the credential is wrong: every message of it fails, someone must act. */
export const CREDENTIAL_REASONS = new Set([
  'InvalidProviderToken',
  'MissingProviderToken',
  'BadCertificate',
  'BadCertificateEnvironment',
]);
/** Statuses worth trying again later (Apple: 429 TooManyRequests, 500 InternalServerError, 503 ServiceUnavailable). */
const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/** `retry-after` as seconds or an HTTP date → milliseconds from `now`. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^[0-9]+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Pure: one attempt → one verdict, from the status code and Apple's `reason` field
 * (PROVIDERS.md, APNs outcome table). `environment` is the connection's, recorded with
 * BadDeviceToken because a sandbox token sent to production answers exactly that.
 */
export function classifyApns(attempt: ApnsAttempt, environment: ApnsEnvironment, now = Date.now()): ApnsVerdict {
  const a = attempt.answer;
  if (!a) return { kind: 'retry', reason: `transport: ${attempt.transportError ?? 'no answer'}`, unavailable: true };
  const reason = a.reason ?? '';
  const label = `${a.status}${reason ? ` ${reason}` : ''}`;
  if (a.status === 200) return a.apnsId ? { kind: 'delivered', providerMessageId: a.apnsId } : { kind: 'delivered' };
  if (a.status === 410) return { kind: 'invalid_token', reason: label };
  if (a.status === 400 && INVALID_TOKEN_400.has(reason)) {
    return { kind: 'invalid_token', reason: reason === 'BadDeviceToken' ? `${label} (sent to ${environment})` : label };
  }
  if (a.status === 403 && reason === 'ExpiredProviderToken') return { kind: 'refresh_auth', reason: label };
  if (a.status === 403 && reason !== 'Forbidden') return { kind: 'failed', reason: label || '403', alarm: true };
  if (RETRY_STATUSES.has(a.status) || a.status >= 500) {
    const retryAfterMs = parseRetryAfter(a.retryAfter, now);
    const unavailable = a.status >= 500 ? { unavailable: true } : a.status === 429 ? { throttled: true } : {};
    return retryAfterMs === undefined ? { kind: 'retry', reason: label, ...unavailable } : { kind: 'retry', reason: label, retryAfterMs, ...unavailable };
  }
  // 400 BadTopic/BadPriority/BadCollapseId…, 403 Forbidden, 404 BadPath, 405, 413 PayloadTooLarge: fix the request.
  return { kind: 'failed', reason: label };
}

/** True when the verdict is about the credential, so every other device of the batch would get it too. */
export function isCredentialVerdict(v: ApnsVerdict, attempt: ApnsAttempt): boolean {
  const reason = attempt.answer?.reason ?? '';
  return (v.kind === 'failed' && v.alarm === true) || (attempt.answer?.status === 429 && reason === 'TooManyProviderTokenUpdates');
}
