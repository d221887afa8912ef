/**
 * The `fcm` override block of a notification: raw HTTP v1 message fields (FCM's own
 * snake_case names) merged over what the translator builds from the canonical fields.
 * Validated strictly: an unknown field is a problem, except inside the two raw
 * pass-through objects (`apns.payload`, `webpush.notification`), whose content belongs
 * to Apple and to the browser Notification API.
 */
type Rule =
  | { t: 'string'; max?: number; pattern?: RegExp; oneOf?: readonly string[]; hint?: string }
  | { t: 'bool' }
  | { t: 'int'; min: number; max: number }
  | { t: 'stringArray'; maxItems: number }
  | { t: 'stringMap'; keyPattern?: RegExp; keyHint?: string }
  /** Values of any JSON type; non-strings are JSON-encoded when sent (see translator). */
  | { t: 'dataMap' }
  | { t: 'raw' }
  | { t: 'ttl' }
  | { t: 'object'; fields: Record<string, Rule> };

/** FCM refuses longer TTLs: 28 days. */
export const FCM_MAX_TTL_SECONDS = 2_419_200;

const str = (max = 1024): Rule => ({ t: 'string', max });
const url: Rule = { t: 'string', max: 2048, pattern: /^https:\/\/\S+$/, hint: 'an https URL' };
const label: Rule = { t: 'string', pattern: /^[a-zA-Z0-9\-_.~%]{1,50}$/, hint: "1-50 characters of a-z A-Z 0-9 - _ . ~ %" };
const bool: Rule = { t: 'bool' };
const strings: Rule = { t: 'stringArray', maxItems: 64 };

const ANDROID_NOTIFICATION: Rule = {
  t: 'object',
  fields: {
    title: str(), body: str(4096), icon: str(), color: { t: 'string', pattern: /^#[0-9a-fA-F]{6}$/, hint: '#rrggbb' },
    sound: str(), tag: str(), click_action: str(), channel_id: str(), image: url, ticker: str(),
    body_loc_key: str(), body_loc_args: strings, title_loc_key: str(), title_loc_args: strings,
    sticky: bool, event_time: { t: 'string', pattern: /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/, hint: 'an RFC 3339 UTC time' },
    local_only: bool, default_sound: bool, default_vibrate_timings: bool, default_light_settings: bool,
    vibrate_timings: strings, notification_count: { t: 'int', min: 0, max: 1_000_000 },
    notification_priority: {
      t: 'string',
      oneOf: ['PRIORITY_UNSPECIFIED', 'PRIORITY_MIN', 'PRIORITY_LOW', 'PRIORITY_DEFAULT', 'PRIORITY_HIGH', 'PRIORITY_MAX'],
    },
    visibility: { t: 'string', oneOf: ['VISIBILITY_UNSPECIFIED', 'PRIVATE', 'PUBLIC', 'SECRET'] },
  },
};

export const FCM_OVERRIDE: Rule = {
  t: 'object',
  fields: {
    validate_only: bool,
    data: { t: 'dataMap' },
    notification: { t: 'object', fields: { title: str(), body: str(4096), image: url } },
    android: {
      t: 'object',
      fields: {
        priority: { t: 'string', oneOf: ['HIGH', 'NORMAL'] },
        ttl: { t: 'ttl' },
        collapse_key: str(256),
        restricted_package_name: str(256),
        direct_boot_ok: bool,
        data: { t: 'stringMap' },
        notification: ANDROID_NOTIFICATION,
        fcm_options: { t: 'object', fields: { analytics_label: label } },
      },
    },
    apns: {
      t: 'object',
      fields: {
        headers: { t: 'stringMap', keyPattern: /^apns-[a-z-]+$/, keyHint: 'an apns-* header name in lower case' },
        payload: { t: 'raw' },
        fcm_options: { t: 'object', fields: { analytics_label: label, image: url } },
      },
    },
    webpush: {
      t: 'object',
      fields: {
        headers: { t: 'stringMap' },
        data: { t: 'stringMap' },
        notification: { t: 'raw' },
        fcm_options: { t: 'object', fields: { link: url, analytics_label: label } },
      },
    },
    fcm_options: { t: 'object', fields: { analytics_label: label } },
  },
};

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** "from", "message_type", "notification" and anything starting with "google" or "gcm" are FCM's own. */
export function reservedDataKeyProblems(data: Record<string, unknown> | undefined, path: string): string[] {
  if (!data) return [];
  return Object.keys(data)
    .filter((k) => k === '' || k === 'from' || k === 'message_type' || k === 'notification' || /^(google|gcm)/i.test(k))
    .map((k) => `${path}.${k}: ${k === '' ? 'keys must not be empty' : 'is reserved by FCM (from, message_type, notification, google*, gcm*)'}`);
}

function check(v: unknown, rule: Rule, path: string, out: string[]): void {
  switch (rule.t) {
    case 'string':
      if (typeof v !== 'string') return void out.push(`${path}: must be a string`);
      if (rule.max !== undefined && v.length > rule.max) out.push(`${path}: must be at most ${rule.max} characters`);
      if (rule.pattern && !rule.pattern.test(v)) out.push(`${path}: must be ${rule.hint ?? `like ${rule.pattern}`}`);
      if (rule.oneOf && !rule.oneOf.includes(v)) out.push(`${path}: must be one of ${rule.oneOf.join(', ')}`);
      return;
    case 'bool':
      if (typeof v !== 'boolean') out.push(`${path}: must be true or false`);
      return;
    case 'int':
      if (!Number.isInteger(v) || (v as number) < rule.min || (v as number) > rule.max) {
        out.push(`${path}: must be an integer between ${rule.min} and ${rule.max}`);
      }
      return;
    case 'stringArray':
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) return void out.push(`${path}: must be an array of strings`);
      if (v.length > rule.maxItems) out.push(`${path}: must have at most ${rule.maxItems} items`);
      return;
    case 'stringMap':
      if (!isPlainObject(v)) return void out.push(`${path}: must be an object of strings`);
      for (const [k, x] of Object.entries(v)) {
        if (typeof x !== 'string') out.push(`${path}.${k}: must be a string`);
        if (rule.keyPattern && !rule.keyPattern.test(k)) out.push(`${path}.${k}: must be ${rule.keyHint ?? 'a valid key'}`);
      }
      return;
    case 'dataMap':
      if (!isPlainObject(v)) return void out.push(`${path}: must be an object`);
      for (const [k, x] of Object.entries(v)) {
        if (x === null || x === undefined) out.push(`${path}.${k}: must not be null (omit the key instead)`);
      }
      return;
    case 'raw':
      if (!isPlainObject(v)) out.push(`${path}: must be an object`);
      return;
    case 'ttl': {
      const seconds = typeof v === 'number' ? v : typeof v === 'string' && /^\d+(\.\d{1,9})?s$/.test(v) ? Number(v.slice(0, -1)) : NaN;
      if ((typeof v === 'number' && !Number.isInteger(v)) || Number.isNaN(seconds)) {
        return void out.push(`${path}: must be whole seconds (3600) or a duration string ("3600s")`);
      }
      if (seconds < 0 || seconds > FCM_MAX_TTL_SECONDS) out.push(`${path}: must be between 0 and ${FCM_MAX_TTL_SECONDS} seconds`);
      return;
    }
    case 'object':
      if (!isPlainObject(v)) return void out.push(`${path}: must be an object`);
      for (const [k, x] of Object.entries(v)) {
        const sub = rule.fields[k];
        if (!sub) out.push(`${path}.${k}: is not a known field`);
        else if (x !== undefined) check(x, sub, `${path}.${k}`, out);
      }
  }
}

/** Problems with an `fcm` override block as "field: rule" strings. */
export function validateFcmOverride(block: unknown, silent: boolean): string[] {
  if (block === undefined || block === null) return [];
  const out: string[] = [];
  check(block, FCM_OVERRIDE, 'fcm', out);
  if (out.length > 0 || !isPlainObject(block)) return out;
  out.push(...reservedDataKeyProblems(block.data as Record<string, unknown> | undefined, 'fcm.data'));
  const android = block.android as Record<string, unknown> | undefined;
  out.push(...reservedDataKeyProblems(android?.data as Record<string, unknown> | undefined, 'fcm.android.data'));
  if (silent) {
    // silent means data-only: a notification block would show an alert after all
    if (block.notification !== undefined) out.push('fcm.notification: not allowed on a silent (data-only) notification');
    if (android?.notification !== undefined) out.push('fcm.android.notification: not allowed on a silent (data-only) notification');
  }
  return out;
}
