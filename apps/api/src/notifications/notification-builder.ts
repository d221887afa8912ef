import { newId } from '@app/common';
import { type CanonicalNotification, type ProviderName, TokenRejected, type ProviderMap } from '@app/providers';
import type { FieldProblem } from '../core/validation';
import type { SendNotificationDto } from './notifications.dto';

/** A TTL of 0 asks the services for "now or never"; the pipeline itself gets this long. */
export const ZERO_TTL_GRACE_MS = 30_000;
/** How far ahead a send may be scheduled. */
export const MAX_SCHEDULE_AHEAD_MS = 30 * 24 * 3600_000;

export interface BuiltNotification {
  notification: CanonicalNotification;
  targets: Record<string, unknown>;
  sendAt: Date | null;
}

/**
 * Turns a validated request into the canonical notification and its stored audience.
 * Pure apart from the provider modules' own pure checks: no I/O. Returns problems as
 * "field: rule" entries; empty when the notification can be accepted.
 */
export function buildNotification(
  appId: string,
  dto: SendNotificationDto,
  providers: ProviderMap,
  configuredProviders: Set<ProviderName>,
  maxTargets: number,
  now = Date.now(),
): { built?: BuiltNotification; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  const t = dto.targets;
  const count = (t.deviceIds?.length ?? 0) + (t.userIds?.length ?? 0) + (t.tags?.length ?? 0) + (t.tokens?.length ?? 0);
  if (!t.all && count === 0) problems.push({ field: 'targets', rule: 'required', message: 'name at least one of all, deviceIds, userIds, tags or tokens' });
  if (t.all && count > 0) problems.push({ field: 'targets.all', rule: 'exclusive', message: 'all cannot be combined with other targets' });
  if (count > maxTargets) problems.push({ field: 'targets', rule: 'maxTargets', message: `at most ${maxTargets} targets per request (got ${count})` });

  const hasContent = dto.title || dto.body || dto.data || dto.badge !== undefined || dto.apns || dto.fcm || dto.wns || dto.webpush;
  if (!dto.silent && !hasContent) problems.push({ field: 'body', rule: 'required', message: 'give a title, body, data or badge, or set silent' });

  let sendAt: Date | null = null;
  if (dto.sendAt) {
    sendAt = new Date(dto.sendAt);
    if (sendAt.getTime() > now + MAX_SCHEDULE_AHEAD_MS) problems.push({ field: 'sendAt', rule: 'maxSchedule', message: 'sendAt must be within 30 days' });
    if (sendAt.getTime() <= now) sendAt = null; // in the past: send now
  }

  const tokens: Array<{ provider: ProviderName; token: string; tokenData: Record<string, string> | null; environment: string | null }> = [];
  (t.tokens ?? []).forEach((raw, i) => {
    try {
      const n = providers[raw.provider].normalizeToken(raw.token);
      tokens.push({ provider: raw.provider, token: n.token, tokenData: n.tokenData ?? null, environment: raw.provider === 'apns' ? (raw.environment ?? 'production') : null });
    } catch (err) {
      if (!(err instanceof TokenRejected)) throw err;
      problems.push({ field: `targets.tokens.${i}.token`, rule: 'token', message: err.message });
    }
  });

  const start = sendAt?.getTime() ?? now;
  const notification: CanonicalNotification = {
    id: newId(),
    appId,
    title: dto.title,
    subtitle: dto.subtitle,
    body: dto.body,
    data: dto.data,
    image: dto.image,
    icon: dto.icon,
    sound: dto.sound,
    badge: dto.badge,
    category: dto.category,
    threadId: dto.threadId,
    collapseId: dto.collapseId,
    ttlSeconds: dto.ttlSeconds,
    priority: dto.priority ?? 'high',
    silent: dto.silent ?? false,
    apns: dto.apns,
    fcm: dto.fcm,
    wns: dto.wns,
    webpush: dto.webpush,
    acceptedAt: now,
    ...(sendAt ? { sendAt: sendAt.getTime() } : {}),
    expiresAt: dto.ttlSeconds === undefined ? undefined : start + (dto.ttlSeconds === 0 ? ZERO_TTL_GRACE_MS : dto.ttlSeconds * 1000),
  };
  for (const k of Object.keys(notification) as Array<keyof CanonicalNotification>) {
    if (notification[k] === undefined) delete notification[k];
  }

  // Size limits and override blocks are checked for every service this notification can reach.
  const reach = new Set<ProviderName>(configuredProviders);
  for (const tok of tokens) reach.add(tok.provider);
  for (const p of ['apns', 'fcm', 'wns', 'webpush'] as const) {
    if (notification[p] !== undefined) reach.add(p);
  }
  for (const p of reach) {
    for (const msg of providers[p].checkNotification(notification)) {
      const [field, ...rest] = msg.split(': ');
      problems.push(rest.length ? { field, rule: p, message: msg } : { field: p, rule: p, message: msg });
    }
  }
  if (problems.length) return { problems };
  const targets = {
    ...(t.all ? { all: true } : {}),
    ...(t.deviceIds?.length ? { deviceIds: [...new Set(t.deviceIds)] } : {}),
    ...(t.userIds?.length ? { userIds: [...new Set(t.userIds)] } : {}),
    ...(t.tags?.length ? { tags: [...new Set(t.tags)] } : {}),
    ...(tokens.length ? { tokens } : {}),
  };
  return { built: { notification, targets, sendAt }, problems };
}
