import type { CanonicalNotification } from '../canonical';
import { APNS_PUSH_TYPES, type ApnsOverride, type ApnsPushType } from './apns.override';

/** Apple's payload limits: 4 KB, 5 KB for VoIP (Apple, "Sending notification requests to APNs"). */
export const APNS_MAX_PAYLOAD_BYTES = 4096;
export const APNS_MAX_VOIP_PAYLOAD_BYTES = 5120;

/** What one notification becomes on the wire, identical for every device of a credential. */
export interface ApnsRequest {
  pushType: ApnsPushType;
  /** Request headers, lower-case, values as strings (apns-topic included). */
  headers: Record<string, string>;
  payload: Record<string, unknown>;
  /** The body exactly as sent. */
  json: string;
  bytes: number;
  maxBytes: number;
}

export function payloadLimit(pushType: ApnsPushType): number {
  return pushType === 'voip' ? APNS_MAX_VOIP_PAYLOAD_BYTES : APNS_MAX_PAYLOAD_BYTES;
}

/** Push type from the override (header first), else background for silent, else alert. */
export function pushTypeOf(n: CanonicalNotification, o: ApnsOverride | undefined): ApnsPushType {
  const header = o?.headers?.['apns-push-type'];
  if (header !== undefined) return String(header) as ApnsPushType;
  return o?.pushType ?? (n.silent ? 'background' : 'alert');
}

/** The topic each push type needs: the bundle id plus Apple's suffix (`.voip`, `.complication`…). */
export function topicFor(bundleId: string, pushType: ApnsPushType): string {
  const suffix = APNS_PUSH_TYPES[pushType];
  return suffix && !bundleId.endsWith(suffix) ? bundleId + suffix : bundleId;
}

/** apns-priority: background pushes must use 5; otherwise canonical high → 10, normal → 5. */
function priorityOf(n: CanonicalNotification, o: ApnsOverride | undefined, pushType: ApnsPushType): number {
  const header = o?.headers?.['apns-priority'];
  if (header !== undefined) return Number(header);
  if (o?.priority !== undefined) return o.priority;
  if (pushType === 'background') return 5;
  return n.priority === 'high' ? 10 : 5;
}

/** apns-expiration in unix seconds: TTL 0 means "now or never" (0); no TTL means Apple's default. */
function expirationOf(n: CanonicalNotification, o: ApnsOverride | undefined): number | undefined {
  const header = o?.headers?.['apns-expiration'];
  if (header !== undefined) return Number(header);
  if (o?.expiration !== undefined) return o.expiration;
  if (n.ttlSeconds === 0) return 0;
  if (n.expiresAt !== undefined) return Math.floor(n.expiresAt / 1000);
  if (n.ttlSeconds !== undefined) return Math.floor(n.acceptedAt / 1000) + n.ttlSeconds;
  return undefined;
}

function alertOf(n: CanonicalNotification, o: ApnsOverride | undefined): Record<string, unknown> | undefined {
  const alert: Record<string, unknown> = {
    title: n.title,
    subtitle: n.subtitle,
    body: n.body,
    'title-loc-key': o?.titleLocKey,
    'title-loc-args': o?.titleLocArgs,
    'subtitle-loc-key': o?.subtitleLocKey,
    'subtitle-loc-args': o?.subtitleLocArgs,
    'loc-key': o?.locKey,
    'loc-args': o?.locArgs,
    'launch-image': o?.launchImage,
  };
  for (const k of Object.keys(alert)) if (alert[k] === undefined) delete alert[k];
  return Object.keys(alert).length > 0 ? alert : undefined;
}

function soundOf(n: CanonicalNotification, o: ApnsOverride | undefined): unknown {
  const s = o?.sound ?? n.sound;
  if (s === undefined || typeof s === 'string') return s;
  // Critical alerts (entitlement required): {critical: 1, name, volume}
  const sound: Record<string, unknown> = { name: s.name };
  if (s.critical !== undefined) sound.critical = s.critical ? 1 : 0;
  if (s.volume !== undefined) sound.volume = s.volume;
  return sound;
}

/**
 * Pure: the canonical notification and the override block → the APNs request.
 * A silent notification is a background push: `content-available` only, no alert,
 * sound or badge (Apple: "Pushing background updates to your App"); anything else can
 * still be set raw through `apns.aps`.
 */
export function translateApns(n: CanonicalNotification, o: ApnsOverride | undefined, bundleId: string): ApnsRequest {
  const pushType = pushTypeOf(n, o);
  const aps: Record<string, unknown> = {};
  if (!n.silent) {
    const alert = alertOf(n, o);
    if (alert) aps.alert = alert;
    if (n.badge !== undefined) aps.badge = n.badge;
    const sound = soundOf(n, o);
    if (sound !== undefined) aps.sound = sound;
    if (n.category !== undefined) aps.category = n.category;
    if (n.threadId !== undefined) aps['thread-id'] = n.threadId;
    if (o?.interruptionLevel !== undefined) aps['interruption-level'] = o.interruptionLevel;
    if (o?.relevanceScore !== undefined) aps['relevance-score'] = o.relevanceScore;
    if (o?.targetContentId !== undefined) aps['target-content-id'] = o.targetContentId;
    if (o?.filterCriteria !== undefined) aps['filter-criteria'] = o.filterCriteria;
    // An image needs the app's Notification Service Extension to fetch it: it only runs with mutable-content.
    if (o?.mutableContent ?? n.image !== undefined) aps['mutable-content'] = 1;
  }
  if (n.silent || o?.contentAvailable) aps['content-available'] = 1;
  for (const [k, v] of Object.entries(o?.aps ?? {})) {
    if (v === null) delete aps[k];
    else aps[k] = v;
  }

  // Custom data travels outside `aps`, as Apple requires; the image URL is where the extension finds it.
  const payload: Record<string, unknown> = {};
  if (n.image !== undefined) payload.image = n.image;
  Object.assign(payload, n.data ?? {}, o?.payload ?? {});
  delete payload.aps;
  // MDM pushes carry only {"mdm": "<PushMagic>"}; everything else has an aps dictionary.
  if (pushType !== 'mdm' || Object.keys(aps).length > 0) payload.aps = aps;

  const headers: Record<string, string> = {
    'apns-push-type': pushType,
    'apns-priority': String(priorityOf(n, o, pushType)),
    'apns-topic': String(o?.headers?.['apns-topic'] ?? o?.topic ?? topicFor(bundleId, pushType)),
  };
  const expiration = expirationOf(n, o);
  if (expiration !== undefined) headers['apns-expiration'] = String(expiration);
  const collapseId = o?.headers?.['apns-collapse-id'] ?? o?.collapseId ?? n.collapseId;
  if (collapseId !== undefined) headers['apns-collapse-id'] = String(collapseId);
  const apnsId = o?.headers?.['apns-id'] ?? o?.apnsId;
  if (apnsId !== undefined) headers['apns-id'] = String(apnsId).toLowerCase();

  const json = JSON.stringify(payload);
  return { pushType, headers, payload, json, bytes: Buffer.byteLength(json, 'utf8'), maxBytes: payloadLimit(pushType) };
}

/** Problems the translation itself reveals (size, priority rules), as "field: rule". */
export function translationProblems(req: ApnsRequest): string[] {
  const p: string[] = [];
  if (req.bytes > req.maxBytes) {
    p.push(`payload: ${req.bytes} bytes of APNs JSON, more than the ${req.maxBytes} Apple accepts for ${req.pushType} pushes`);
  }
  if (req.pushType === 'background' && req.headers['apns-priority'] === '10') {
    p.push('apns.priority: background pushes must use priority 5 (or 1)');
  }
  return p;
}
