/**
 * The HTTP v1 wire rules the stand-in enforces, and Google's error document shape
 * (`{error: {code, message, status, details}}`), so the production client meets the
 * same answers here as at fcm.googleapis.com.
 */
const FCM_ERROR_TYPE = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';
const BAD_REQUEST_TYPE = 'type.googleapis.com/google.rpc.BadRequest';
export const MAX_MESSAGE_BYTES = 4096;
const MAX_TTL_SECONDS = 2_419_200;

export interface GoogleErrorAnswer {
  status: number;
  body: { error: { code: number; message: string; status: string; details?: Array<Record<string, unknown>> } };
}

interface ErrorSpec {
  http: number;
  status: string;
  /** FcmError errorCode, when Google sends one for this error. */
  errorCode?: string;
  message: string;
}

/** Every answer FCM documents, by the name an injection uses as its `reason`. */
export const FCM_ERRORS: Record<string, ErrorSpec> = {
  UNREGISTERED: { http: 404, status: 'NOT_FOUND', errorCode: 'UNREGISTERED', message: 'Requested entity was not found.' },
  NOT_FOUND: { http: 404, status: 'NOT_FOUND', message: 'Requested entity was not found.' },
  SENDER_ID_MISMATCH: { http: 403, status: 'PERMISSION_DENIED', errorCode: 'SENDER_ID_MISMATCH', message: 'SenderId mismatch' },
  INVALID_ARGUMENT: { http: 400, status: 'INVALID_ARGUMENT', errorCode: 'INVALID_ARGUMENT', message: 'The registration token is not a valid FCM registration token' },
  QUOTA_EXCEEDED: { http: 429, status: 'RESOURCE_EXHAUSTED', errorCode: 'QUOTA_EXCEEDED', message: "Quota exceeded for quota metric 'Send messages' and limit 'Send messages per minute'." },
  UNAVAILABLE: { http: 503, status: 'UNAVAILABLE', errorCode: 'UNAVAILABLE', message: 'The service is currently unavailable.' },
  INTERNAL: { http: 500, status: 'INTERNAL', errorCode: 'INTERNAL', message: 'Internal error encountered.' },
  UNAUTHENTICATED: {
    http: 401,
    status: 'UNAUTHENTICATED',
    message: 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
  },
  THIRD_PARTY_AUTH_ERROR: { http: 401, status: 'UNAUTHENTICATED', errorCode: 'THIRD_PARTY_AUTH_ERROR', message: 'Auth error from APNS or Web Push Service' },
  PERMISSION_DENIED: { http: 403, status: 'PERMISSION_DENIED', message: "Permission 'cloudmessaging.messages.create' denied on resource." },
  UNSPECIFIED_ERROR: { http: 500, status: 'UNKNOWN', errorCode: 'UNSPECIFIED_ERROR', message: 'Unknown error.' },
};

const BY_HTTP: Record<number, string> = {
  400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'SENDER_ID_MISMATCH', 404: 'UNREGISTERED',
  429: 'QUOTA_EXCEEDED', 500: 'INTERNAL', 503: 'UNAVAILABLE',
};

/**
 * Google's error document. `reason` is an FCM_ERRORS name; "INVALID_ARGUMENT" points
 * at `message.token` (a malformed token), "INVALID_ARGUMENT:<field>" at another field
 * (a bad payload). `httpStatus` overrides the usual status code.
 */
export function googleError(reason: string | undefined, httpStatus?: number, description?: string): GoogleErrorAnswer {
  const [name, field] = (reason ?? BY_HTTP[httpStatus ?? 500] ?? 'INTERNAL').split(':');
  const spec = FCM_ERRORS[name] ?? { http: httpStatus ?? 500, status: name, message: name };
  const details: Array<Record<string, unknown>> = [];
  if (spec.errorCode) details.push({ '@type': FCM_ERROR_TYPE, errorCode: spec.errorCode });
  if (name === 'INVALID_ARGUMENT') {
    const f = field ?? 'message.token';
    details.push({ '@type': BAD_REQUEST_TYPE, fieldViolations: [{ field: f, description: description ?? 'Invalid value' }] });
  }
  const code = httpStatus ?? spec.http;
  const message = name === 'INVALID_ARGUMENT' && field ? (description ?? 'Request contains an invalid argument.') : spec.message;
  return { status: code, body: { error: { code, message, status: spec.status, ...(details.length ? { details } : {}) } } };
}

const bad = (field: string, description: string): GoogleErrorAnswer => googleError(`INVALID_ARGUMENT:${field}`, 400, description);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const MESSAGE_FIELDS = new Set(['name', 'data', 'notification', 'android', 'webpush', 'apns', 'fcm_options', 'token', 'topic', 'condition']);
const ANDROID_FIELDS = new Set(['collapse_key', 'priority', 'ttl', 'restricted_package_name', 'data', 'notification', 'fcm_options', 'direct_boot_ok']);

function stringMap(v: unknown, field: string): GoogleErrorAnswer | null {
  if (v === undefined) return null;
  if (!isObject(v)) return bad(field, 'must be a map of strings');
  for (const [k, x] of Object.entries(v)) if (typeof x !== 'string') return bad(`${field}[${k}]`, 'Invalid value: data values must be strings');
  return null;
}

export interface ValidSend {
  message: Record<string, unknown>;
  token: string | null;
  validateOnly: boolean;
}

/** Checks a `messages:send` body as FCM does; returns the message or Google's 400. */
export function checkSendBody(raw: string): ValidSend | GoogleErrorAnswer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return bad('', 'Invalid JSON payload received.');
  }
  if (!isObject(parsed) || !isObject(parsed.message)) return bad('message', 'message is required');
  for (const k of Object.keys(parsed)) if (k !== 'message' && k !== 'validate_only') return bad(k, `Invalid JSON payload received. Unknown name "${k}": Cannot find field.`);
  const m = parsed.message;
  for (const k of Object.keys(m)) if (!MESSAGE_FIELDS.has(k)) return bad(`message.${k}`, `Invalid JSON payload received. Unknown name "${k}" at 'message': Cannot find field.`);
  const targets = ['token', 'topic', 'condition'].filter((k) => m[k] !== undefined);
  if (targets.length !== 1) return bad('message', 'Exactly one of token, topic or condition must be set.');
  if (m.token !== undefined && (typeof m.token !== 'string' || !/^[A-Za-z0-9_:.-]{20,4096}$/.test(m.token))) {
    return bad('message.token', 'The registration token is not a valid FCM registration token');
  }
  const dataProblem = stringMap(m.data, 'message.data');
  if (dataProblem) return dataProblem;
  if (m.notification !== undefined) {
    if (!isObject(m.notification)) return bad('message.notification', 'must be an object');
    for (const [k, v] of Object.entries(m.notification)) {
      if (!['title', 'body', 'image'].includes(k)) return bad(`message.notification.${k}`, `Unknown name "${k}"`);
      if (typeof v !== 'string') return bad(`message.notification.${k}`, 'must be a string');
    }
  }
  if (m.android !== undefined) {
    const a = m.android;
    if (!isObject(a)) return bad('message.android', 'must be an object');
    for (const k of Object.keys(a)) if (!ANDROID_FIELDS.has(k)) return bad(`message.android.${k}`, `Unknown name "${k}"`);
    if (a.priority !== undefined && a.priority !== 'HIGH' && a.priority !== 'NORMAL') return bad('message.android.priority', 'Invalid value');
    if (a.ttl !== undefined) {
      const ok = typeof a.ttl === 'string' && /^\d+(\.\d{1,9})?s$/.test(a.ttl) && Number(a.ttl.slice(0, -1)) <= MAX_TTL_SECONDS;
      if (!ok) return bad('message.android.ttl', 'Invalid value: ttl must be a duration of 0 to 2419200 seconds, e.g. "3600s"');
    }
    const ad = stringMap(a.data, 'message.android.data');
    if (ad) return ad;
  }
  if (m.apns !== undefined) {
    if (!isObject(m.apns)) return bad('message.apns', 'must be an object');
    const h = stringMap(m.apns.headers, 'message.apns.headers');
    if (h) return h;
    if (m.apns.payload !== undefined && !isObject(m.apns.payload)) return bad('message.apns.payload', 'must be an object');
  }
  if (m.webpush !== undefined) {
    if (!isObject(m.webpush)) return bad('message.webpush', 'must be an object');
    const h = stringMap(m.webpush.headers, 'message.webpush.headers');
    if (h) return h;
  }
  const { token: _t, topic: _p, condition: _c, ...content } = m;
  if (Buffer.byteLength(JSON.stringify(content)) > MAX_MESSAGE_BYTES) {
    return bad('message', `Message is too big: at most ${MAX_MESSAGE_BYTES} bytes.`);
  }
  return { message: m, token: typeof m.token === 'string' ? m.token : null, validateOnly: parsed.validate_only === true };
}
