import type { CanonicalNotification } from '../canonical';
import { isTag, xmlRoot, canonicalHeaderName, type WnsOverride, type WnsType } from './wns.override';

/** WNS rejects bodies above 5000 bytes with 413 (Microsoft Learn, "Push notification service request and response headers"). */
export const WNS_MAX_PAYLOAD_BYTES = 5000;

/** One WNS request, identical for every channel of a batch. */
export interface WnsRequest {
  type: WnsType;
  headers: Record<string, string>;
  body: Buffer;
}

export interface WnsTranslation {
  request: WnsRequest | null;
  /** "field: rule" problems; when non-empty, request is null. */
  problems: string[];
}

const XML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
/** Characters XML 1.0 forbids even when escaped, plus lone surrogates: dropped so the document stays well-formed. */
// eslint-disable-next-line no-control-regex
const XML_INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Escapes text for XML content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(XML_INVALID, '').replace(/[&<>"']/g, (c) => XML_ENTITIES[c]);
}

function override(n: CanonicalNotification): WnsOverride {
  return (n.wns ?? {}) as WnsOverride;
}

function hasVisibleContent(n: CanonicalNotification): boolean {
  return Boolean(n.title || n.subtitle || n.body || n.image);
}

/**
 * Which WNS type carries this notification: the override's `type` or xml root first;
 * then silent → raw, a badge alone → badge, something to show → toast. A notification
 * with nothing to show and no badge goes as raw: there is no empty toast.
 */
export function chooseWnsType(n: CanonicalNotification): WnsType {
  const o = override(n);
  if (o.type) return o.type;
  if (o.xml) {
    const root = xmlRoot(o.xml);
    if (root === 'toast' || root === 'tile' || root === 'badge') return root;
  }
  if (n.silent) return 'raw';
  if (!hasVisibleContent(n)) return n.badge !== undefined || o.badge !== undefined ? 'badge' : 'raw';
  return 'toast';
}

function attr(name: string, value: string | undefined): string {
  return value === undefined || value === '' ? '' : ` ${name}="${escapeXml(value)}"`;
}

function texts(n: CanonicalNotification, styles: [string, string, string] | null): string {
  const parts: string[] = [];
  const lines = [n.title, n.subtitle, n.body];
  lines.forEach((t, i) => {
    if (!t) return;
    const hint = styles ? ` hint-style="${styles[i]}"${i === 2 ? ' hint-wrap="true"' : ''}` : '';
    parts.push(`<text${hint}>${escapeXml(t)}</text>`);
  });
  return parts.join('');
}

/** Toast activation arguments: the override's `launch`, else the data map as a query string. */
function launchArgs(n: CanonicalNotification): string | undefined {
  const o = override(n);
  if (o.launch !== undefined) return o.launch;
  if (n.data && Object.keys(n.data).length > 0) return new URLSearchParams(n.data).toString();
  return undefined;
}

/** Only Windows sound URIs mean anything in <audio>; other sound names are ignored. */
function audio(n: CanonicalNotification): string {
  if (!n.sound || !/^ms-(winsoundevent|appx|appdata):/.test(n.sound)) return '';
  return `<audio src="${escapeXml(n.sound)}"/>`;
}

export function toastXml(n: CanonicalNotification): string {
  const logo = n.icon ? `<image placement="appLogoOverride" src="${escapeXml(n.icon)}"/>` : '';
  const image = n.image ? `<image src="${escapeXml(n.image)}"/>` : '';
  return (
    `<toast${attr('launch', launchArgs(n))}><visual><binding template="ToastGeneric">` +
    `${logo}${texts(n, null)}${image}</binding></visual>${audio(n)}</toast>`
  );
}

export function tileXml(n: CanonicalNotification): string {
  const image = n.image ? `<image placement="peek" src="${escapeXml(n.image)}"/>` : '';
  const content = `${image}${texts(n, ['base', 'captionSubtle', 'captionSubtle'])}`;
  const bindings = ['TileMedium', 'TileWide', 'TileLarge'].map((t) => `<binding template="${t}">${content}</binding>`);
  return `<tile><visual>${bindings.join('')}</visual></tile>`;
}

export function badgeXml(value: number | string): string {
  return `<badge value="${escapeXml(String(value))}"/>`;
}

/** Seconds left to live at `now`: from expiresAt when known (retries send what remains), else ttlSeconds. */
function ttlAt(n: CanonicalNotification, now: number): number | undefined {
  if (n.ttlSeconds === 0) return undefined;
  if (n.expiresAt !== undefined) return Math.max(1, Math.ceil((n.expiresAt - now) / 1000));
  return n.ttlSeconds;
}

/**
 * Pure translation of a canonical notification into the WNS request sent to every
 * channel of a batch. `now` only matters for the remaining TTL.
 */
export function translateWns(n: CanonicalNotification, now: number = n.acceptedAt): WnsTranslation {
  const o = override(n);
  const type = chooseWnsType(n);
  const problems: string[] = [];
  const visual = type === 'toast' || type === 'tile';

  let body: string;
  if (o.xml) {
    body = o.xml;
  } else if (type === 'toast') {
    if (!hasVisibleContent(n)) problems.push('wns: a toast needs a title, subtitle, body or image (or wns.xml)');
    body = toastXml(n);
  } else if (type === 'tile') {
    if (!hasVisibleContent(n)) problems.push('wns: a tile needs a title, subtitle, body or image (or wns.xml)');
    body = tileXml(n);
  } else if (type === 'badge') {
    const value = o.badge ?? n.badge;
    if (value === undefined) problems.push('wns: a badge notification needs badge or wns.badge');
    body = badgeXml(value ?? 0);
  } else {
    body = JSON.stringify(n.data ?? {});
  }

  const headers: Record<string, string> = {
    'X-WNS-Type': `wns/${type}`,
    'Content-Type': type === 'raw' ? 'application/octet-stream' : 'text/xml',
    'X-WNS-RequestForStatus': 'true',
  };
  const ttl = ttlAt(n, now);
  if (ttl !== undefined) headers['X-WNS-TTL'] = String(ttl);
  const cache = o.cachePolicy ?? (n.ttlSeconds === 0 ? 'no-cache' : undefined);
  if (cache) headers['X-WNS-Cache-Policy'] = cache;

  // Tags and groups replace earlier toasts/tiles; WNS has no use for them on badge or raw.
  if (visual) {
    if (o.tag !== undefined) headers['X-WNS-Tag'] = o.tag;
    else if (n.collapseId !== undefined) {
      if (isTag(n.collapseId)) headers['X-WNS-Tag'] = n.collapseId;
      else {
        problems.push(
          `collapseId: WNS uses it as X-WNS-Tag, which allows at most 16 visible ASCII characters ` +
            `(got ${n.collapseId.length}); shorten it or set wns.tag`,
        );
      }
    }
    if (o.group !== undefined) headers['X-WNS-Group'] = o.group;
  } else {
    if (o.tag !== undefined) problems.push(`wns.tag: applies to toast and tile only, not ${type}`);
    if (o.group !== undefined) problems.push(`wns.group: applies to toast and tile only, not ${type}`);
  }
  if (o.suppressPopup !== undefined) {
    if (type !== 'toast') problems.push(`wns.suppressPopup: applies to toast only, not ${type}`);
    else headers['X-WNS-SuppressPopup'] = String(o.suppressPopup);
  }
  for (const [name, value] of Object.entries(o.headers ?? {})) {
    const canonical = canonicalHeaderName(name);
    if (canonical) headers[canonical] = value;
  }

  const bytes = Buffer.from(body, 'utf8');
  if (bytes.length > WNS_MAX_PAYLOAD_BYTES) {
    problems.push(`wns: payload is ${bytes.length} bytes; the WNS limit is ${WNS_MAX_PAYLOAD_BYTES} bytes`);
  }
  if (problems.length > 0) return { request: null, problems };
  return { request: { type, headers, body: bytes }, problems };
}
