/**
 * The one canonical notification every layer agrees on. The API builds it from the
 * request, stores it on the notification row and puts it in the fan-out job; each
 * provider's translator turns it into that service's wire format. Provider-only
 * fields live in the typed override blocks (validated by each provider's DTO).
 */
export const PROVIDERS = ['apns', 'fcm', 'wns', 'webpush'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export type ApnsEnvironment = 'sandbox' | 'production';
export type Priority = 'high' | 'normal';

export interface CanonicalNotification {
  id: string;
  appId: string;
  title?: string;
  subtitle?: string;
  body?: string;
  /** Always strings: FCM and Web Push receive them as-is. */
  data?: Record<string, string>;
  image?: string;
  icon?: string;
  sound?: string;
  badge?: number;
  category?: string;
  threadId?: string;
  collapseId?: string;
  /** Seconds the services may keep it; absent means the service default. */
  ttlSeconds?: number;
  priority: Priority;
  /** Background/data-only: no alert is shown. */
  silent: boolean;
  /** Provider-specific override blocks, validated by each provider's DTO. */
  apns?: Record<string, unknown>;
  fcm?: Record<string, unknown>;
  wns?: Record<string, unknown>;
  webpush?: Record<string, unknown>;
  /** Epoch ms the API accepted it. */
  acceptedAt: number;
  /** Epoch ms it is scheduled for (absent: send at once). */
  sendAt?: number;
  /** Epoch ms after which nothing is delivered (acceptedAt or sendAt + TTL). */
  expiresAt?: number;
}
