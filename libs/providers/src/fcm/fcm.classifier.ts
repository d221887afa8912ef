import type { DeliveryOutcome } from '../provider.interface';

/** An HTTP answer from `messages:send`. */
export interface FcmAnswerLike {
  status: number;
  body: string;
  retryAfter?: string;
}

/** Everything a send can end in, plus "mint a new access token and try once more". */
export type FcmVerdict = DeliveryOutcome | { kind: 'refresh_auth'; reason: string };

const FCM_ERROR_TYPE = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';
const BAD_REQUEST_TYPE = 'type.googleapis.com/google.rpc.BadRequest';

interface GoogleError {
  code?: number;
  message?: string;
  status?: string;
  details?: Array<{ '@type'?: string; errorCode?: string; fieldViolations?: Array<{ field?: string }> }>;
}

/** Retry-After as delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

function parseError(body: string): GoogleError {
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    return typeof parsed.error === 'object' && parsed.error !== null ? (parsed.error as GoogleError) : {};
  } catch {
    return {};
  }
}

/** The status name Google would give a bare HTTP status, for answers without a JSON body. */
function statusForHttp(status: number): string {
  switch (status) {
    case 400: return 'INVALID_ARGUMENT';
    case 401: return 'UNAUTHENTICATED';
    case 403: return 'PERMISSION_DENIED';
    case 404: return 'NOT_FOUND';
    case 429: return 'RESOURCE_EXHAUSTED';
    case 503: return 'UNAVAILABLE';
    default: return status >= 500 ? 'INTERNAL' : 'UNKNOWN';
  }
}

/** Google's message, kept short, for permanent failures (reported, never classified on). */
const withMessage = (code: string, e: GoogleError): string =>
  e.message ? `${code}: ${e.message.slice(0, 300)}` : code;

/**
 * Turns one `messages:send` answer into an outcome: the FcmError `errorCode` in
 * `details` first, then the canonical `status`, then the HTTP status.
 */
export function classifyFcmAnswer(a: FcmAnswerLike, nowMs: number): FcmVerdict {
  if (a.status >= 200 && a.status < 300) {
    let name: string | undefined;
    try {
      const body = JSON.parse(a.body) as { name?: unknown };
      if (typeof body.name === 'string') name = body.name;
    } catch {
      // a 2xx without a JSON body still means FCM accepted the message
    }
    return name ? { kind: 'delivered', providerMessageId: name } : { kind: 'delivered' };
  }
  const e = parseError(a.body);
  const details = Array.isArray(e.details) ? e.details : [];
  const errorCode = details.find((d) => d?.['@type'] === FCM_ERROR_TYPE && typeof d.errorCode === 'string')?.errorCode;
  const code = errorCode ?? (typeof e.status === 'string' ? e.status : statusForHttp(a.status));
  const retryAfterMs = parseRetryAfter(a.retryAfter, nowMs);
  const unavailable = a.status >= 500 ? { unavailable: true } : a.status === 429 ? { throttled: true } : {};
  const retry = (reason: string): DeliveryOutcome =>
    retryAfterMs === undefined ? { kind: 'retry', reason, ...unavailable } : { kind: 'retry', reason, retryAfterMs, ...unavailable };

  switch (code) {
    case 'UNREGISTERED':
    case 'NOT_FOUND':
      return { kind: 'invalid_token', reason: code };
    case 'SENDER_ID_MISMATCH':
      // the token belongs to another Firebase project: never valid for this app
      return { kind: 'invalid_token', reason: code };
    case 'INVALID_ARGUMENT': {
      const aboutToken = details.some(
        (d) => d?.['@type'] === BAD_REQUEST_TYPE && (d.fieldViolations ?? []).some((v) => v?.field === 'message.token'),
      );
      return aboutToken ? { kind: 'invalid_token', reason: 'INVALID_ARGUMENT: message.token' } : { kind: 'failed', reason: withMessage(code, e) };
    }
    case 'QUOTA_EXCEEDED':
    case 'RESOURCE_EXHAUSTED':
    case 'UNAVAILABLE':
    case 'INTERNAL':
    case 'DEADLINE_EXCEEDED':
      return retry(code);
    case 'UNAUTHENTICATED':
      return { kind: 'refresh_auth', reason: code };
    case 'THIRD_PARTY_AUTH_ERROR':
    case 'APNS_AUTH_ERROR':
      // the APNs certificate or key inside the Firebase project is missing or invalid
      return { kind: 'failed', reason: withMessage(code, e), alarm: true };
    case 'PERMISSION_DENIED':
      // the service account may not send for this project
      return { kind: 'failed', reason: withMessage(code, e), alarm: true };
    default:
      if (a.status >= 500 || a.status === 429) return retry(code);
      return { kind: 'failed', reason: withMessage(`${code} (HTTP ${a.status})`, e) };
  }
}

/** No HTTP answer at all: the message may not have been sent, so it is retried. */
export function classifyTransportError(err: { code?: string; message: string }): DeliveryOutcome {
  return { kind: 'retry', reason: `transport: ${err.code ?? 'error'}`, unavailable: true };
}
