import { XMLValidator } from 'fast-xml-parser';

/**
 * The `wns` override block of a notification: everything WNS can do that the
 * canonical fields cannot say. Validated strictly (unknown fields are problems) at
 * the API, so the worker only ever sees blocks that passed.
 */
export const WNS_TYPES = ['toast', 'tile', 'badge', 'raw'] as const;
export type WnsType = (typeof WNS_TYPES)[number];

/** Badge glyphs Windows knows (Microsoft Learn, "Badge notifications for Windows apps"). */
export const WNS_BADGE_GLYPHS = [
  'none', 'activity', 'alarm', 'alert', 'attention', 'available', 'away', 'busy',
  'error', 'newMessage', 'paused', 'playing', 'unavailable',
] as const;

export type WnsCachePolicy = 'cache' | 'no-cache';

export interface WnsOverride {
  /** Forces the notification type; otherwise chosen from the canonical fields or the xml root. */
  type?: WnsType;
  /** A complete, well-formed toast/tile/badge XML document sent as-is. */
  xml?: string;
  /** Toast activation arguments (the `launch` attribute). Defaults to the data map as a query string. */
  launch?: string;
  /** Badge value: a count (0 clears) or a glyph name. Overrides the canonical badge. */
  badge?: number | string;
  tag?: string;
  group?: string;
  cachePolicy?: WnsCachePolicy;
  suppressPopup?: boolean;
  /** Extra WNS request headers, limited to WNS_OVERRIDE_HEADERS. */
  headers?: Record<string, string>;
}

/** WNS limits X-WNS-Tag and X-WNS-Group to 16 characters. */
export const WNS_TAG_MAX = 16;
/** Tags and groups travel as header values: visible ASCII only. */
const TAG_RE = /^[\x21-\x7e]{1,16}$/;

/**
 * Headers a caller may set through `wns.headers` (canonical spelling → value check).
 * Authorization, Content-Type, X-WNS-Type and X-WNS-RequestForStatus stay ours.
 */
export const WNS_OVERRIDE_HEADERS: Record<string, (v: string) => boolean> = {
  'X-WNS-Cache-Policy': (v) => v === 'cache' || v === 'no-cache',
  'X-WNS-TTL': (v) => /^[0-9]{1,9}$/.test(v),
  'X-WNS-Tag': (v) => TAG_RE.test(v),
  'X-WNS-Group': (v) => TAG_RE.test(v),
  'X-WNS-SuppressPopup': (v) => v === 'true' || v === 'false',
  'X-WNS-PRIORITY': (v) => /^[1-4]$/.test(v),
};

const FIELDS = new Set(['type', 'xml', 'launch', 'badge', 'tag', 'group', 'cachePolicy', 'suppressPopup', 'headers']);

/** Root element name of a well-formed XML document, or null. */
export function xmlRoot(xml: string): string | null {
  const m = xml.replace(/^\uFEFF/, '').match(/^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--[\s\S]*?-->\s*)*<([A-Za-z_][\w.-]*)/);
  return m ? m[1] : null;
}

export function isTag(v: unknown): boolean {
  return typeof v === 'string' && TAG_RE.test(v);
}

/** Returns "wns.field: rule" problems; an empty list means the block is a valid WnsOverride. */
export function validateWnsOverride(raw: unknown): string[] {
  if (raw === undefined || raw === null) return [];
  if (typeof raw !== 'object' || Array.isArray(raw)) return ['wns: must be an object'];
  const o = raw as Record<string, unknown>;
  const problems: string[] = [];
  for (const k of Object.keys(o)) if (!FIELDS.has(k)) problems.push(`wns.${k}: unknown field`);

  if (o.type !== undefined && !WNS_TYPES.includes(o.type as WnsType)) {
    problems.push(`wns.type: must be one of ${WNS_TYPES.join(', ')}`);
  }
  if (o.xml !== undefined) {
    if (typeof o.xml !== 'string' || o.xml.trim() === '') {
      problems.push('wns.xml: must be a non-empty string');
    } else {
      const res = XMLValidator.validate(o.xml);
      if (/<!DOCTYPE/i.test(o.xml)) {
        problems.push('wns.xml: must not contain a DOCTYPE');
      } else if (res !== true) {
        problems.push(`wns.xml: must be well-formed XML (line ${res.err.line}, col ${res.err.col}: ${res.err.code})`);
      } else {
        const root = xmlRoot(o.xml);
        if (root !== 'toast' && root !== 'tile' && root !== 'badge') {
          problems.push('wns.xml: root element must be <toast>, <tile> or <badge>');
        } else if (o.type !== undefined && o.type !== root) {
          problems.push(`wns.xml: root element <${root}> does not match wns.type ${String(o.type)}`);
        }
      }
    }
  }
  if (o.launch !== undefined && (typeof o.launch !== 'string' || o.launch.length > 2048)) {
    problems.push('wns.launch: must be a string of at most 2048 characters');
  }
  if (o.badge !== undefined) {
    const okNumber = typeof o.badge === 'number' && Number.isInteger(o.badge) && o.badge >= 0 && o.badge <= 9999;
    const okGlyph = typeof o.badge === 'string' && (WNS_BADGE_GLYPHS as readonly string[]).includes(o.badge);
    if (!okNumber && !okGlyph) {
      problems.push(`wns.badge: must be an integer 0-9999 or one of the glyphs ${WNS_BADGE_GLYPHS.join(', ')}`);
    }
  }
  for (const f of ['tag', 'group'] as const) {
    if (o[f] !== undefined && !isTag(o[f])) {
      problems.push(`wns.${f}: must be 1-${WNS_TAG_MAX} visible ASCII characters (X-WNS-${f === 'tag' ? 'Tag' : 'Group'} limit)`);
    }
  }
  if (o.cachePolicy !== undefined && o.cachePolicy !== 'cache' && o.cachePolicy !== 'no-cache') {
    problems.push('wns.cachePolicy: must be "cache" or "no-cache"');
  }
  if (o.suppressPopup !== undefined && typeof o.suppressPopup !== 'boolean') {
    problems.push('wns.suppressPopup: must be a boolean');
  }
  if (o.headers !== undefined) problems.push(...validateHeaders(o.headers));
  return problems;
}

function validateHeaders(raw: unknown): string[] {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return ['wns.headers: must be an object of header: value'];
  const problems: string[] = [];
  const allowed = Object.keys(WNS_OVERRIDE_HEADERS);
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    const canonical = canonicalHeaderName(name);
    if (!canonical) {
      problems.push(`wns.headers.${name}: not allowed (allowed: ${allowed.join(', ')})`);
    } else if (typeof value !== 'string' || !WNS_OVERRIDE_HEADERS[canonical](value)) {
      problems.push(`wns.headers.${name}: invalid value for ${canonical}`);
    }
  }
  return problems;
}

/** The canonical spelling of an allowed override header, matched case-insensitively. */
export function canonicalHeaderName(name: string): string | null {
  const lower = name.toLowerCase();
  return Object.keys(WNS_OVERRIDE_HEADERS).find((h) => h.toLowerCase() === lower) ?? null;
}
