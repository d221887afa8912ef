/**
 * The `apns` override block of a notification: everything APNs can do that the
 * canonical fields cannot say. Validated strictly (unknown fields are problems) at the
 * API, so the worker only ever sees blocks that passed.
 */

/** Push types Apple defines (apns-push-type), with the topic suffix each one needs. */
export const APNS_PUSH_TYPES = {
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
} as const;
export type ApnsPushType = keyof typeof APNS_PUSH_TYPES;

export const APNS_INTERRUPTION_LEVELS = ['passive', 'active', 'time-sensitive', 'critical'] as const;
export type ApnsInterruptionLevel = (typeof APNS_INTERRUPTION_LEVELS)[number];

export type ApnsSound = string | { name: string; critical?: boolean; volume?: number };

/** Request headers a caller may set through `apns.headers`; authorization and paths stay ours. */
export const APNS_OVERRIDE_HEADERS = [
  'apns-push-type',
  'apns-priority',
  'apns-expiration',
  'apns-collapse-id',
  'apns-topic',
  'apns-id',
] as const;
export type ApnsOverrideHeader = (typeof APNS_OVERRIDE_HEADERS)[number];

export interface ApnsOverride {
  pushType?: ApnsPushType;
  /** 10 immediate, 5 power-considerate (required for background), 1 lowest. */
  priority?: 1 | 5 | 10;
  /** Full topic, replacing bundle id + suffix (MDM topics, another app of the same team). */
  topic?: string;
  collapseId?: string;
  /** Unix seconds; 0 = deliver now or never. Replaces the one derived from the TTL. */
  expiration?: number;
  /** UUID sent as apns-id. */
  apnsId?: string;
  titleLocKey?: string;
  titleLocArgs?: string[];
  subtitleLocKey?: string;
  subtitleLocArgs?: string[];
  locKey?: string;
  locArgs?: string[];
  launchImage?: string;
  /** A name, or a critical-alert sound `{name, critical, volume 0..1}`. */
  sound?: ApnsSound;
  interruptionLevel?: ApnsInterruptionLevel;
  /** 0..1: which notification of a group the system highlights. */
  relevanceScore?: number;
  targetContentId?: string;
  filterCriteria?: string;
  mutableContent?: boolean;
  contentAvailable?: boolean;
  /** Raw fields merged into `aps` last (Live Activity `event`, `content-state`…); null removes a key. */
  aps?: Record<string, unknown>;
  /** Raw top-level payload fields merged last (not `aps`). */
  payload?: Record<string, unknown>;
  headers?: Partial<Record<ApnsOverrideHeader, string | number>>;
}

/** Apple limits apns-collapse-id to 64 bytes. */
export const APNS_COLLAPSE_ID_MAX_BYTES = 64;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Header values travel in HTTP/2 header fields: visible ASCII, no control characters. */
const HEADER_VALUE_RE = /^[\x20-\x7e]+$/;
const TOPIC_RE = /^[A-Za-z0-9][A-Za-z0-9.\-_]{0,254}$/;

const STRING_FIELDS = [
  'topic', 'titleLocKey', 'subtitleLocKey', 'locKey', 'launchImage', 'targetContentId', 'filterCriteria',
] as const;
const ARG_FIELDS = ['titleLocArgs', 'subtitleLocArgs', 'locArgs'] as const;
const FIELDS = new Set<string>([
  'pushType', 'priority', 'collapseId', 'expiration', 'apnsId', 'sound', 'interruptionLevel', 'relevanceScore',
  'mutableContent', 'contentAvailable', 'aps', 'payload', 'headers', ...STRING_FIELDS, ...ARG_FIELDS,
]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPushType = (v: unknown): v is ApnsPushType => typeof v === 'string' && Object.hasOwn(APNS_PUSH_TYPES, v);

export function collapseIdProblem(field: string, v: unknown): string | null {
  if (typeof v !== 'string' || v.length === 0) return `${field}: must be a non-empty string`;
  if (Buffer.byteLength(v, 'utf8') > APNS_COLLAPSE_ID_MAX_BYTES) return `${field}: must be at most ${APNS_COLLAPSE_ID_MAX_BYTES} bytes`;
  if (!HEADER_VALUE_RE.test(v)) return `${field}: must be printable ASCII (it travels as an HTTP header)`;
  return null;
}

function headerProblem(name: ApnsOverrideHeader, v: unknown): string | null {
  const field = `apns.headers.${name}`;
  const s = typeof v === 'number' ? String(v) : v;
  if (typeof s !== 'string') return `${field}: must be a string or number`;
  switch (name) {
    case 'apns-push-type':
      return isPushType(s) ? null : `${field}: must be one of ${Object.keys(APNS_PUSH_TYPES).join(', ')}`;
    case 'apns-priority':
      return ['1', '5', '10'].includes(s) ? null : `${field}: must be 1, 5 or 10`;
    case 'apns-expiration':
      return /^[0-9]{1,10}$/.test(s) ? null : `${field}: must be unix seconds (0 = now or never)`;
    case 'apns-collapse-id':
      return collapseIdProblem(field, s);
    case 'apns-topic':
      return TOPIC_RE.test(s) ? null : `${field}: must be a bundle id or topic`;
    case 'apns-id':
      return UUID_RE.test(s) ? null : `${field}: must be a UUID`;
  }
}

/** Checks the block; returns the typed value (undefined when absent) and "field: rule" problems. */
export function parseApnsOverride(raw: unknown): { value: ApnsOverride | undefined; problems: string[] } {
  if (raw === undefined || raw === null) return { value: undefined, problems: [] };
  if (!isObject(raw)) return { value: undefined, problems: ['apns: must be an object'] };
  const p: string[] = [];
  for (const k of Object.keys(raw)) if (!FIELDS.has(k)) p.push(`apns.${k}: unknown field`);
  const o = raw as ApnsOverride & Record<string, unknown>;
  if (o.pushType !== undefined && !isPushType(o.pushType)) {
    p.push(`apns.pushType: must be one of ${Object.keys(APNS_PUSH_TYPES).join(', ')}`);
  }
  if (o.priority !== undefined && !([1, 5, 10] as unknown[]).includes(o.priority)) p.push('apns.priority: must be 1, 5 or 10');
  if (o.collapseId !== undefined) {
    const c = collapseIdProblem('apns.collapseId', o.collapseId);
    if (c) p.push(c);
  }
  if (o.expiration !== undefined && !(Number.isInteger(o.expiration) && o.expiration >= 0 && o.expiration < 1e10)) {
    p.push('apns.expiration: must be unix seconds (0 = now or never)');
  }
  if (o.apnsId !== undefined && (typeof o.apnsId !== 'string' || !UUID_RE.test(o.apnsId))) p.push('apns.apnsId: must be a UUID');
  for (const f of STRING_FIELDS) {
    if (o[f] !== undefined && (typeof o[f] !== 'string' || o[f] === '')) p.push(`apns.${f}: must be a non-empty string`);
  }
  if (o.topic !== undefined && typeof o.topic === 'string' && !TOPIC_RE.test(o.topic)) p.push('apns.topic: must be a bundle id or topic');
  for (const f of ARG_FIELDS) {
    const v = o[f];
    if (v !== undefined && !(Array.isArray(v) && v.every((a) => typeof a === 'string'))) p.push(`apns.${f}: must be an array of strings`);
  }
  if (o.sound !== undefined) p.push(...soundProblems(o.sound));
  if (o.interruptionLevel !== undefined && !(APNS_INTERRUPTION_LEVELS as readonly unknown[]).includes(o.interruptionLevel)) {
    p.push(`apns.interruptionLevel: must be one of ${APNS_INTERRUPTION_LEVELS.join(', ')}`);
  }
  if (o.relevanceScore !== undefined && !(typeof o.relevanceScore === 'number' && o.relevanceScore >= 0 && o.relevanceScore <= 1)) {
    p.push('apns.relevanceScore: must be a number from 0 to 1');
  }
  for (const f of ['mutableContent', 'contentAvailable'] as const) {
    if (o[f] !== undefined && typeof o[f] !== 'boolean') p.push(`apns.${f}: must be true or false`);
  }
  if (o.aps !== undefined && !isObject(o.aps)) p.push('apns.aps: must be an object');
  if (o.payload !== undefined) {
    if (!isObject(o.payload)) p.push('apns.payload: must be an object');
    else if (Object.hasOwn(o.payload, 'aps')) p.push('apns.payload.aps: set aps fields through apns.aps');
  }
  if (o.headers !== undefined) {
    if (!isObject(o.headers)) p.push('apns.headers: must be an object');
    else {
      for (const [k, v] of Object.entries(o.headers)) {
        if (!(APNS_OVERRIDE_HEADERS as readonly string[]).includes(k)) {
          p.push(`apns.headers.${k}: not allowed (allowed: ${APNS_OVERRIDE_HEADERS.join(', ')})`);
          continue;
        }
        const hp = headerProblem(k as ApnsOverrideHeader, v);
        if (hp) p.push(hp);
      }
    }
  }
  return { value: p.length === 0 ? (o as ApnsOverride) : undefined, problems: p };
}

function soundProblems(s: unknown): string[] {
  if (typeof s === 'string') return s === '' ? ['apns.sound: must be a non-empty string'] : [];
  if (!isObject(s)) return ['apns.sound: must be a sound name or {name, critical, volume}'];
  const p: string[] = [];
  for (const k of Object.keys(s)) if (!['name', 'critical', 'volume'].includes(k)) p.push(`apns.sound.${k}: unknown field`);
  if (typeof s.name !== 'string' || s.name === '') p.push('apns.sound.name: must be a non-empty string');
  if (s.critical !== undefined && typeof s.critical !== 'boolean') p.push('apns.sound.critical: must be true or false');
  if (s.volume !== undefined && !(typeof s.volume === 'number' && s.volume >= 0 && s.volume <= 1)) {
    p.push('apns.sound.volume: must be a number from 0 to 1');
  }
  return p;
}
