import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export type ApiScope = 'send' | 'register' | 'admin';
export type DeviceStatus = 'active' | 'invalid';
export type NotificationStatus =
  | 'queued'
  | 'sending'
  | 'completed'
  | 'partially_failed'
  | 'failed'
  | 'cancelled'
  | 'expired';
export type DeliveryStatus = 'delivered' | 'invalid_token' | 'failed' | 'expired' | 'pending_retry';

export interface AppsTable {
  id: string;
  name: string;
  created_at: Generated<Date>;
}

export interface ApiKeysTable {
  id: string;
  app_id: string;
  name: string;
  /** sha256 of the secret part; the key itself is shown once and never stored. */
  secret_hash: string;
  scopes: ApiScope[];
  created_at: Generated<Date>;
  revoked_at: Date | null;
}

export interface CredentialsTable {
  id: string;
  app_id: string;
  provider: string;
  name: string;
  environment: string | null;
  /** AES-256-GCM sealed JSON (SecretBox), bound to the app id. */
  secret_enc: string;
  summary: ColumnType<Record<string, string>, string, string>;
  version: Generated<number>;
  alarm: string | null;
  alarm_at: Date | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface DevicesTable {
  id: string;
  app_id: string;
  provider: string;
  token: string;
  token_hash: string;
  token_data: ColumnType<Record<string, string> | null, string | null, string | null>;
  environment: string | null;
  credential_id: string | null;
  user_id: string | null;
  tags: ColumnType<string[], string[] | undefined, string[]>;
  locale: string | null;
  timezone: string | null;
  app_version: string | null;
  status: Generated<DeviceStatus>;
  invalid_reason: string | null;
  invalidated_at: Date | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface NotificationsTable {
  id: string;
  app_id: string;
  status: NotificationStatus;
  payload: ColumnType<Record<string, unknown>, string, string>;
  targets: ColumnType<Record<string, unknown>, string, string>;
  send_at: Date | null;
  expires_at: Date | null;
  targeted: Generated<number>;
  delivered: Generated<number>;
  failed: Generated<number>;
  invalid_tokens: Generated<number>;
  expired: Generated<number>;
  pending_retry: Generated<number>;
  fanout_done: Generated<boolean>;
  /** Last device id the fan-out has enqueued; makes a resumed fan-out idempotent. */
  fanout_cursor: string | null;
  created_at: Generated<Date>;
  started_at: Date | null;
  completed_at: Date | null;
  /** Last time its work moved (a page fanned out, outcomes written); the recovery sweep reads it. */
  progress_at: Date | null;
}

/** Devices that still owe an outcome, one row per batch: the ledger behind a delivery job. */
export interface DeliveryBatchesTable {
  id: string;
  notification_id: string;
  app_id: string;
  provider: string;
  credential_id: string;
  device_ids: string[];
  attempt: Generated<number>;
  generation: Generated<number>;
  run_at: Generated<Date>;
  last_reason: string | null;
  checked_at: Generated<Date>;
  created_at: Generated<Date>;
}

/** Circuit breaker state per (provider, credential, endpoint), shared by every worker. */
export interface ProviderCircuitsTable {
  key: string;
  app_id: string;
  provider: string;
  credential_id: string;
  endpoint: string;
  state: 'open' | 'closed';
  reason: string | null;
  opened_at: Date | null;
  probe_at: Date | null;
  updated_at: Generated<Date>;
}

export interface DeliveriesTable {
  notification_id: string;
  device_id: string;
  app_id: string;
  provider: string;
  status: DeliveryStatus;
  reason: string | null;
  provider_message_id: string | null;
  attempts: number;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface IdempotencyKeysTable {
  app_id: string;
  key: string;
  request_hash: string;
  status_code: number;
  response: ColumnType<Record<string, unknown>, string, string>;
  created_at: Generated<Date>;
}

/** What happened to what an app sent; the id is the SSE `id:` (bigint, as a string). */
export interface EventsTable {
  id: Generated<string>;
  app_id: string;
  type: string;
  payload: ColumnType<Record<string, unknown>, string, string>;
  created_at: Generated<Date>;
}

export interface WebhooksTable {
  id: string;
  app_id: string;
  url: string;
  events: string[];
  description: string | null;
  /** AES-256-GCM sealed signing secret (SecretBox), bound to the app id. */
  secret_enc: string;
  enabled: Generated<boolean>;
  consecutive_failures: Generated<number>;
  last_error: string | null;
  last_success_at: Date | null;
  last_failure_at: Date | null;
  disabled_at: Date | null;
  disabled_reason: string | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface Database {
  apps: AppsTable;
  api_keys: ApiKeysTable;
  credentials: CredentialsTable;
  devices: DevicesTable;
  notifications: NotificationsTable;
  deliveries: DeliveriesTable;
  delivery_batches: DeliveryBatchesTable;
  provider_circuits: ProviderCircuitsTable;
  idempotency_keys: IdempotencyKeysTable;
  events: EventsTable;
  webhooks: WebhooksTable;
}

export type { Timestamp };
