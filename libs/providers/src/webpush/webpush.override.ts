/**
 * The `webpush` override block of a notification: Notification API options the
 * canonical fields do not cover, plus the Urgency header. Validated strictly at the
 * API (unknown fields rejected); the worker reads the same parse.
 */
export const URGENCIES = ['very-low', 'low', 'normal', 'high'] as const;
export type Urgency = (typeof URGENCIES)[number];

export interface WebpushAction {
  action: string;
  title: string;
  icon?: string;
}

export interface WebpushOverride {
  actions?: WebpushAction[];
  tag?: string;
  requireInteraction?: boolean;
  renotify?: boolean;
  silent?: boolean;
  dir?: 'auto' | 'ltr' | 'rtl';
  lang?: string;
  vibrate?: number[];
  timestamp?: number;
  /** Where a click should take the user: an https: URL or a path of the site ("/orders/42"). */
  link?: string;
  /** Small monochrome image for the status bar (Notification `badge`). */
  badge?: string;
  urgency?: Urgency;
}

/** Browsers show up to Notification.maxActions (Chrome: 2); more than 4 is never useful. */
export const MAX_ACTIONS = 4;
const MAX_URL = 2048;

type Check = (v: unknown, field: string, problems: string[]) => unknown;

const str = (max: number): Check => (v, f, p) => {
  if (typeof v !== 'string' || v.length === 0 || v.length > max) return void p.push(`${f}: must be a string of 1-${max} characters`);
  return v;
};
const bool: Check = (v, f, p) => (typeof v === 'boolean' ? v : void p.push(`${f}: must be true or false`));

/** An https: URL or a site-relative path ("/x"), as Notification icons and click targets are. */
export const urlOrPath: Check = (v, f, p) => {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_URL) return void p.push(`${f}: must be a URL of at most ${MAX_URL} characters`);
  if (v.startsWith('/') && !v.startsWith('//')) return v;
  try {
    if (new URL(v).protocol === 'https:') return v;
  } catch {
    // fall through
  }
  p.push(`${f}: must be an https: URL or a path starting with "/"`);
  return undefined;
};

const CHECKS: Record<keyof WebpushOverride, Check> = {
  actions: (v, f, p) => {
    if (!Array.isArray(v) || v.length > MAX_ACTIONS) return void p.push(`${f}: must be an array of at most ${MAX_ACTIONS} actions`);
    return v.map((a: unknown, i) => {
      const af = `${f}[${i}]`;
      if (typeof a !== 'object' || a === null || Array.isArray(a)) return void p.push(`${af}: must be an object {action, title, icon?}`);
      const o = a as Record<string, unknown>;
      const extra = Object.keys(o).find((k) => !['action', 'title', 'icon'].includes(k));
      if (extra) p.push(`${af}.${extra}: unknown field (allowed: action, title, icon)`);
      const out: WebpushAction = { action: str(64)(o.action, `${af}.action`, p) as string, title: str(128)(o.title, `${af}.title`, p) as string };
      if (o.icon !== undefined) out.icon = urlOrPath(o.icon, `${af}.icon`, p) as string;
      return out;
    });
  },
  tag: str(256),
  requireInteraction: bool,
  renotify: bool,
  silent: bool,
  dir: (v, f, p) => (v === 'auto' || v === 'ltr' || v === 'rtl' ? v : void p.push(`${f}: must be one of auto, ltr, rtl`)),
  lang: (v, f, p) =>
    typeof v === 'string' && v.length <= 35 && /^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/.test(v)
      ? v
      : void p.push(`${f}: must be a BCP 47 language tag such as "en" or "pt-BR"`),
  vibrate: (v, f, p) =>
    Array.isArray(v) && v.length <= 32 && v.every((x) => Number.isInteger(x) && x >= 0 && x <= 10_000)
      ? v
      : void p.push(`${f}: must be an array of at most 32 integers between 0 and 10000 (ms)`),
  timestamp: (v, f, p) =>
    Number.isInteger(v) && (v as number) >= 0 ? v : void p.push(`${f}: must be an epoch time in milliseconds`),
  link: urlOrPath,
  badge: urlOrPath,
  urgency: (v, f, p) =>
    URGENCIES.includes(v as Urgency) ? v : void p.push(`${f}: must be one of ${URGENCIES.join(', ')}`),
};

/** Parses the block; problems are "webpush.<field>: rule" strings, empty when it is fine. */
export function parseWebpushOverride(raw: unknown): { value: WebpushOverride; problems: string[] } {
  const problems: string[] = [];
  const value: Record<string, unknown> = {};
  if (raw === undefined || raw === null) return { value, problems };
  if (typeof raw !== 'object' || Array.isArray(raw)) return { value, problems: ['webpush: must be an object'] };
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    const check = CHECKS[k as keyof WebpushOverride];
    if (!check) {
      problems.push(`webpush.${k}: unknown field (allowed: ${Object.keys(CHECKS).join(', ')})`);
      continue;
    }
    if (v === undefined) continue;
    const out = check(v, `webpush.${k}`, problems);
    if (out !== undefined) value[k] = out;
  }
  return { value: value as WebpushOverride, problems };
}
